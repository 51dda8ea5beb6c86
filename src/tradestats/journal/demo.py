"""A demo account so a new user sees a full dashboard at once (clearly labelled "Demo").

Generates about six months of realistic fills ending today — stocks with partial fills
and scaling, a few shorts, equity options (x100), micro E-mini futures (x5) and crypto —
as a generic-format CSV, and imports it through the normal importer (so the demo
exercises exactly the code a real import does). Deterministic for a given day.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, update

from tradestats.journal.imports import ImportReport, import_file
from tradestats.store import kv
from tradestats.store.tables import accounts

DEMO_ACCOUNT = "Demo"
SEEDED_KEY = "demo_seeded"

_STOCKS = {
    "AAPL": 190.0,
    "MSFT": 420.0,
    "NVDA": 120.0,
    "TSLA": 240.0,
    "AMD": 150.0,
    "META": 520.0,
    "AMZN": 185.0,
    "SPY": 560.0,
    "QQQ": 480.0,
    "JPM": 210.0,
}
_COLUMNS = (
    "datetime",
    "symbol",
    "side",
    "quantity",
    "price",
    "fees",
    "asset class",
    "multiplier",
    "underlying",
    "expiry",
    "strike",
    "right",
    "order id",
)


def _business_days(end: date, count: int) -> list[date]:
    days: list[date] = []
    day = end
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return sorted(days)


def demo_csv(today: date, seed: int = 20240101) -> bytes:
    """The demo fills as generic CSV (times in UTC, during US market hours)."""
    rng = random.Random(seed ^ today.toordinal())
    days = _business_days(today, 125)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_COLUMNS)
    order = 0

    def when(day: date, minute: int) -> str:
        return (datetime.combine(day, time(14, 30), UTC) + timedelta(minutes=minute)).isoformat()

    def row(
        day: date,
        minute: int,
        symbol: str,
        side: str,
        qty: float,
        price: float,
        fees: float,
        **extra: str,
    ) -> None:
        writer.writerow(
            [
                when(day, minute),
                symbol,
                side,
                f"{qty:g}",
                f"{price:.2f}",
                f"{fees:.2f}",
                extra.get("asset", "stock"),
                extra.get("mult", ""),
                extra.get("underlying", ""),
                extra.get("expiry", ""),
                extra.get("strike", ""),
                extra.get("right", ""),
                str(order),
            ]
        )

    prices = dict(_STOCKS)
    for i, day in enumerate(days[:-1]):
        for symbol in prices:
            prices[symbol] *= 1 + rng.gauss(0.0004, 0.018)
        for _ in range(rng.randint(1, 4)):  # stock round trips, some scaled
            order += 1
            symbol = rng.choice(list(prices))
            px = prices[symbol]
            short = rng.random() < 0.25
            qty = rng.choice((50, 100, 100, 200, 300))
            open_side, close_side = ("sell", "buy") if short else ("buy", "sell")
            start = rng.randint(0, 300)
            edge = rng.gauss(0.0015, 0.012) * (-1 if short else 1)
            if rng.random() < 0.4:  # scale in with two partial fills
                row(day, start, symbol, open_side, qty / 2, px, 0.5)
                row(day, start + 3, symbol, open_side, qty / 2, px * (1 + rng.gauss(0, 0.001)), 0.5)
            else:
                row(day, start, symbol, open_side, qty, px, 1.0)
            exit_px = px * (1 + edge)
            hold = rng.randint(5, 360 - start) if start < 355 else 5
            if rng.random() < 0.35:  # scale out
                row(day, start + hold // 2, symbol, close_side, qty / 2, exit_px * 0.998, 0.5)
                row(day, start + hold, symbol, close_side, qty / 2, exit_px, 0.5)
            else:
                row(day, start + hold, symbol, close_side, qty, exit_px, 1.0)
        if i % 3 == 0:  # an option trade, held to the next session
            order += 1
            underlying = rng.choice(("SPY", "AAPL", "NVDA", "TSLA"))
            spot = prices[underlying]
            right = rng.choice(("call", "put"))
            strike = round(spot / 5) * 5
            expiry = (day + timedelta(days=14 + (4 - day.weekday()) % 7)).isoformat()
            premium = max(0.3, spot * rng.uniform(0.01, 0.03))
            contracts = rng.choice((1, 2, 3, 5))
            symbol = f"{underlying} {expiry} {strike} {right[0].upper()}"
            extra = {
                "asset": "option",
                "mult": "100",
                "underlying": underlying,
                "expiry": expiry,
                "strike": str(strike),
                "right": right,
            }
            row(day, 30, symbol, "buy", contracts, premium, 0.65 * contracts, **extra)
            exit_premium = max(0.05, premium * (1 + rng.gauss(0.02, 0.35)))
            row(days[i + 1], 60, symbol, "sell", contracts, exit_premium, 0.65 * contracts, **extra)
        if i % 5 == 2:  # a micro E-mini future day trade
            order += 1
            level = 5600 * (prices["SPY"] / _STOCKS["SPY"])
            side, other = rng.choice((("buy", "sell"), ("sell", "buy")))
            qty = rng.choice((1, 2, 4))
            extra = {"asset": "future", "mult": "5", "underlying": "MES"}
            row(day, 10, "/MESZ6", side, qty, round(level * 4) / 4, 0.62 * qty, **extra)
            move = round(rng.gauss(2, 12) * 4) / 4
            exit_level = level + (move if side == "buy" else -move)
            row(day, 45, "/MESZ6", other, qty, round(exit_level * 4) / 4, 0.62 * qty, **extra)
        if i % 4 == 1:  # crypto spot swing
            order += 1
            btc = 60000 * (1 + 0.002 * i) * (1 + rng.gauss(0, 0.02))
            coins = rng.choice((0.05, 0.1, 0.25))
            extra = {"asset": "crypto_spot", "underlying": "BTC"}
            row(day, 200, "BTC-USD", "buy", coins, btc, btc * coins * 0.001, **extra)
            exit_btc = btc * (1 + rng.gauss(0.003, 0.03))
            row(days[i + 1], 100, "BTC-USD", "sell", coins, exit_btc, exit_btc * coins * 0.001,
                **extra)
    # An open position, so the positions view is not empty.
    row(days[-1], 20, "MSFT", "buy", 100, prices["MSFT"], 1.0)
    return out.getvalue().encode()


def seed_demo(engine: Engine, today: date | None = None) -> ImportReport | None:
    """Import the demo account once per database; None if it was already seeded."""
    if kv.get_value(engine, SEEDED_KEY):
        return None
    day = today or datetime.now(UTC).date()
    report = import_file(
        engine,
        demo_csv(day),
        "demo-trades.csv",
        account=DEMO_ACCOUNT,
        broker="generic",
        timezone="UTC",
        idempotency_key=f"demo-seed-{day.isoformat()}",
    )
    with engine.begin() as conn:
        conn.execute(update(accounts).where(accounts.c.name == DEMO_ACCOUNT).values(is_demo=True))
    kv.set_value(engine, SEEDED_KEY, day.isoformat())
    return report
