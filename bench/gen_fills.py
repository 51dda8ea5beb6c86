"""Deterministic synthetic broker fills in the generic CSV format, for the journal benchmark.

A realistic mix: ~500 underlyings (popularity ~ Zipf), stocks, equity options (x100) and a
few index futures (MES x5, ES x50, MNQ x2, NQ x20); long and short positions, scale-in and
scale-out orders, partial fills of every order (same order id, milliseconds apart),
position flips inside one fill, commissions and regulatory fees (a few stock fills carry a
liquidity rebate, i.e. a negative commission), scalps, intraday and swing holds.

Every generated *unit* (one position, or two when it flips) starts and ends flat, except a
small `open_fraction` of option units that are left open (entries only). Stocks and
futures of one instrument are traded sequentially (one position at a time); option units
each pick a contract near the money, expiring after their last fill.

The output has exactly `n` rows, in time order, one header line, columns the generic
importer recognizes (see ``tradestats.journal.importers.generic``). Money is generated in
integer cents, so `GenSummary` carries the exact expected totals: the gross P&L of every
instrument that ends flat (its cash flow) and the total fees.

Usage: python bench/gen_fills.py OUT.csv [-n 1000000] [--seed 7] [--stocks-only]
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from operator import itemgetter
from pathlib import Path

HEADER = (
    "Date/Time",
    "Symbol",
    "Side",
    "Quantity",
    "Price",
    "Commission",
    "Fees",
    "Asset Class",
    "Multiplier",
    "Underlying",
    "Expiry",
    "Strike",
    "Right",
    "Order ID",
    "Execution ID",
)

SESSION_MS = 23_400_000  # one 6.5 h regular session
_OPEN_UTC_MS = (14 * 3600 + 30 * 60) * 1000  # 14:30 UTC (09:30 New York, EST)
MINUTE = 60_000
HOUR = 3_600_000

#: futures roots: (multiplier, start price in cents, commission and exchange fees per
#: contract in cents, share of futures units)
FUTURES: dict[str, tuple[int, int, tuple[int, int], float]] = {
    "MES": (5, 470_000, (25, 37), 0.45),
    "ES": (50, 470_000, (85, 140), 0.25),
    "MNQ": (2, 1_650_000, (25, 37), 0.20),
    "NQ": (20, 1_650_000, (85, 140), 0.10),
}
_QUARTER_CODES = {3: "H", 6: "M", 9: "U", 12: "Z"}
_POPULAR = (
    "SPY", "QQQ", "TSLA", "AAPL", "NVDA", "AMD", "AMZN", "META", "MSFT", "IWM", "GOOGL",
    "NFLX", "COIN", "PLTR", "BA", "DIS", "JPM", "XOM", "SMCI", "MSTR",
)
_STOCK_SIZES = (1, 5, 10, 20, 25, 50, 75, 100, 100, 100, 150, 200, 200, 250, 300, 400, 500,
                500, 1000, 2000)
_OPTION_SIZES = (1, 1, 1, 2, 2, 3, 4, 5, 5, 10, 10, 15, 20, 25, 50)
_FUTURE_SIZES = (1, 1, 1, 2, 2, 3, 4, 5, 10)


@dataclass(frozen=True)
class Mix:
    """Share of generated units (positions) per asset class; normalized when used."""

    stock: float = 0.55
    option: float = 0.40
    future: float = 0.05


STOCKS_ONLY = Mix(stock=1.0, option=0.0, future=0.0)


@dataclass
class GenSummary:
    """What was generated, with the exact totals a correct journal must reproduce."""

    rows: int = 0
    units: int = 0
    flips: int = 0
    open_units: int = 0
    rows_by_class: dict[str, int] = field(default_factory=dict)
    instruments: int = 0
    underlyings: int = 0
    first_time: str = ""
    last_time: str = ""
    #: sum over instruments that end flat of their cash flow (sells - buys) x multiplier
    expected_gross_cents: int = 0
    #: commissions + fees of every row (rebates negative)
    total_fees_cents: int = 0
    #: signed quantity left open per instrument symbol (empty when everything is flat)
    open_positions: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def expected_gross(self) -> float:
        return self.expected_gross_cents / 100


class _Timeline:
    """Trading time (ms since the first session's open, sessions back to back) -> UTC."""

    def __init__(self, start: date) -> None:
        self.days: list[date] = []
        self.texts: list[str] = []
        self._next = start

    def day(self, index: int) -> date:
        while index >= len(self.days):
            d = self._next
            while d.weekday() >= 5:
                d += timedelta(days=1)
            self.days.append(d)
            self.texts.append(d.isoformat())
            self._next = d + timedelta(days=1)
        return self.days[index]

    def iso(self, t: int) -> str:
        index, ms = divmod(t, SESSION_MS)
        if index >= len(self.texts):
            self.day(index)
        ms += _OPEN_UTC_MS
        h, ms = divmod(ms, HOUR)
        m, ms = divmod(ms, MINUTE)
        s, ms = divmod(ms, 1000)
        return f"{self.texts[index]}T{h:02d}:{m:02d}:{s:02d}.{ms:03d}Z"


def _cents(value: int) -> str:
    # exact: an integer below 2**53 divided by 100 formats back to the same 2 decimals
    return f"{value / 100:.2f}"


def _split(rng: random.Random, total: int, mins: Sequence[int]) -> list[int]:
    """Random parts of `total`, part i >= mins[i] (requires total >= sum(mins))."""
    parts = list(mins)
    extra = total - sum(parts)
    if extra <= 0 or not parts:
        return parts
    if len(parts) == 1:
        parts[0] += extra
        return parts
    weights = [rng.random() + 0.2 for _ in parts]
    scale = extra / sum(weights)
    given = 0
    for i, w in enumerate(weights):
        share = int(w * scale)
        parts[i] += share
        given += share
    parts[int(rng.random() * len(parts))] += extra - given
    return parts


def _tickers(rng: random.Random, count: int) -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = list(_POPULAR[:count])
    seen = set(out) | set(FUTURES)
    while len(out) < count:
        name = "".join(rng.choice(letters) for _ in range(rng.choice((2, 3, 3, 4, 4, 4))))
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def _quarterly_contract(day: date) -> tuple[str, date]:
    """The front quarterly contract month for `day` (rolled 8 days before expiry)."""
    year, month = day.year, day.month
    while True:
        q = month + (-month) % 3
        if q > 12:
            year, q = year + 1, 3
        first = date(year, q, 1)
        third_friday = first + timedelta(days=(4 - first.weekday()) % 7 + 14)
        if day <= third_friday - timedelta(days=8):
            return f"{_QUARTER_CODES[q]}{year % 10}", third_friday
        month = q + 1
        if month > 12:
            year, month = year + 1, 1


class _Chain:
    """One instrument traded one position at a time (a stock, a futures root)."""

    __slots__ = ("cursor", "done", "rate")

    def __init__(self, rate: float) -> None:
        self.cursor = 0
        self.done = 0
        self.rate = rate  # trading ms available per unit on average


class _Generator:
    def __init__(
        self, n: int, seed: int, symbols: int, mix: Mix, open_fraction: float, days: int,
        start: date,
    ) -> None:
        if n < 2:
            raise ValueError("n must be at least 2 (a position needs an open and a close)")
        self.n = n
        self.rng = random.Random(seed)
        self.open_fraction = open_fraction
        self.span = days * SESSION_MS
        self.timeline = _Timeline(start)
        rng = self.rng
        total = mix.stock + mix.option + mix.future
        if total <= 0:
            raise ValueError("the asset mix is empty")
        self.mix = (mix.stock / total, (mix.stock + mix.option) / total)
        self.tickers = _tickers(rng, symbols)
        weights = [1.0 / (i + 1) ** 0.6 for i in range(symbols)]
        self.cum_weights = list(_accumulate(weights))
        self.price = [  # current underlying price, in cents
            int(min(90_000.0, max(300.0, math.exp(rng.gauss(math.log(6000), 0.9)))))
            for _ in range(symbols)
        ]
        self.price[0] = 45_000  # SPY
        self.price[1] = 38_000  # QQQ
        expected_units = n / 4.8  # mean fills per unit, measured
        share_w = [w / self.cum_weights[-1] for w in weights]
        self.stock_chains = [
            _Chain(self.span / max(expected_units * self.mix[0] * s, 1e-9)) for s in share_w
        ]
        fut_units = expected_units * (1 - self.mix[1])
        self.fut_roots = list(FUTURES)
        self.fut_cum = list(_accumulate(FUTURES[r][3] for r in self.fut_roots))
        self.fut_chains = {
            r: _Chain(self.span / max(fut_units * FUTURES[r][3], 1e-9)) for r in self.fut_roots
        }
        self.fut_price = {r: FUTURES[r][1] for r in self.fut_roots}
        self.fills: list[tuple[int, Sequence[str], str, int, int, int, int, int]] = []
        self.order_seq = 0
        self.summary = GenSummary()
        # per instrument symbol: [net quantity, cash in cents x multiplier]
        self.books: dict[str, list[int]] = {}

    # -- units ----------------------------------------------------------------------

    def run(self) -> GenSummary:
        rng = self.rng
        remaining = self.n
        stock_cut, option_cut = self.mix
        while remaining:
            k = min(16, 2 + int(rng.expovariate(1 / 3.3)))
            if remaining - k < 2:
                k = remaining
            u = rng.random()
            if u < stock_cut:
                made = self._stock_unit(k)
            elif u < option_cut:
                made = self._option_unit(k)
            else:
                made = self._future_unit(k)
            remaining -= made
            self.summary.units += 1
        return self.summary

    def _pick_underlying(self) -> int:
        rng = self.rng
        return _bisect(self.cum_weights, rng.random() * self.cum_weights[-1])

    def _style_hold(self, slack: float) -> int:
        """Milliseconds between the last entry and the first exit."""
        rng = self.rng
        r = rng.random()
        # exits and scale-ins are spread over up to ~1.5 holds more: keep the total in slack
        if slack > 8 * SESSION_MS and r < 0.25:
            hold = rng.uniform(1.0, min(15.0, slack / SESSION_MS * 0.35)) * SESSION_MS
        elif slack > 2 * HOUR and r < 0.65:
            hold = rng.uniform(10 * MINUTE, min(4 * HOUR, slack * 0.35))
        else:
            hold = rng.uniform(20_000, 10 * MINUTE)
        return int(hold)

    def _chain_start(self, chain: _Chain) -> tuple[int, float]:
        rng = self.rng
        # Paced to spread the chain's units over the span; a chain picked more often than
        # expected runs out of slack and trades short holds back to back at the end.
        end = self.span - HOUR
        target = int(min((chain.done + rng.random()) * chain.rate, end))
        start = max(chain.cursor, target)
        slack = min((chain.done + 1) * chain.rate, end) - start
        return start, slack

    def _stock_unit(self, k: int) -> int:
        rng = self.rng
        i = self._pick_underlying()
        chain = self.stock_chains[i]
        start, slack = self._chain_start(chain)
        ticker = self.tickers[i]
        inst = (ticker, "stock", "1", ticker, "", "", "")
        s = self.price[i] = max(100, int(self.price[i] * math.exp(rng.gauss(0, 0.015))))
        size = rng.choice(_STOCK_SIZES)
        tick = 1

        def fee(side: str, qty: int, price: int) -> tuple[int, int]:
            commission = max(35, round(0.35 * qty))
            commission = min(commission, max(1, qty * price // 100))
            if rng.random() < 0.02:
                commission = -round(0.2 * qty)  # liquidity rebate
            regulatory = 0
            if side == "sell":
                regulatory = round(qty * price * 0.0000278) + min(830, round(0.0166 * qty))
            return commission, regulatory

        end = self._unit(k, start, slack, inst, 1, s, size, tick, 0.01, fee, opening_only=False)
        chain.cursor = end + 1
        chain.done += 1
        return k

    def _option_unit(self, k: int) -> int:
        rng = self.rng
        i = self._pick_underlying()
        ticker = self.tickers[i]
        s = self.price[i] = max(100, int(self.price[i] * math.exp(rng.gauss(0, 0.015))))
        inc = 50 if s < 2_500 else 100 if s < 10_000 else 250 if s < 25_000 else 500
        strike = max(inc, (s + int(rng.gauss(0, 0.03) * s)) // inc * inc)
        right = "call" if rng.random() < 0.5 else "put"
        premium = max(5, int(s * rng.uniform(0.005, 0.05)))
        size = rng.choice(_OPTION_SIZES)
        start = int(rng.random() * self.span)
        opening_only = rng.random() < self.open_fraction
        # The contract is named once the fills are timed (it expires after the last one):
        # the fills share this list, filled in below.
        placeholder = ["", "option", "100", ticker, "", "", ""]

        def fee(_side: str, qty: int, _price: int) -> tuple[int, int]:
            return 65 * qty, 4 * qty

        end = self._unit(
            k, start, 30 * SESSION_MS, placeholder, 100, premium, size, 1, 0.25, fee,
            opening_only=opening_only,
        )
        last_day = self.timeline.day(end // SESSION_MS)
        expiry = last_day + timedelta(days=(4 - last_day.weekday()) % 7 + 7 * int(rng.random() * 4))
        strike_text = _cents(strike)
        occ = f"{ticker:<6}{expiry:%y%m%d}{right[0].upper()}{strike * 10:08d}"
        self._book_rename("", occ)
        placeholder[:] = [occ, "option", "100", ticker, expiry.isoformat(), strike_text, right]
        if opening_only:
            self.summary.open_units += 1
        return k

    def _future_unit(self, k: int) -> int:
        rng = self.rng
        root = self.fut_roots[_bisect(self.fut_cum, rng.random() * self.fut_cum[-1])]
        mult, _, (commission, exchange), _ = FUTURES[root]
        chain = self.fut_chains[root]
        start, slack = self._chain_start(chain)
        s = self.fut_price[root] = max(
            25, int(self.fut_price[root] * math.exp(rng.gauss(0, 0.006))) // 25 * 25
        )
        day = self.timeline.day(start // SESSION_MS)
        code, _expiry = _quarterly_contract(day)
        inst = (f"{root}{code}", "future", str(mult), root, "", "", "")
        size = rng.choice(_FUTURE_SIZES)

        def fee(_side: str, qty: int, _price: int) -> tuple[int, int]:
            return commission * qty, exchange * qty

        # intraday only: a position never outlives its contract month
        end = self._unit(
            k, start, min(slack, 3 * HOUR), inst, mult, s, size, 25, 0.003, fee,
            opening_only=False,
        )
        chain.cursor = end + 1
        chain.done += 1
        return k

    def _book_rename(self, old: str, new: str) -> None:
        book = self.books.pop(old)
        cur = self.books.setdefault(new, [0, 0])
        cur[0] += book[0]
        cur[1] += book[1]

    def _unit(
        self,
        k: int,
        start: int,
        slack: float,
        inst: Sequence[str],
        mult: int,
        price: int,
        size: int,
        tick: int,
        vol: float,
        fee: object,
        *,
        opening_only: bool,
    ) -> int:
        """Emit exactly `k` fills of one position (two if it flips); returns the end time."""
        rng = self.rng
        direction = 1 if rng.random() < 0.6 else -1
        n_entry = 1 + (rng.random() < 0.35) + (rng.random() < 0.12)
        n_exit = 1 + (rng.random() < 0.35) + (rng.random() < 0.12)
        flip = not opening_only and k >= 3 and rng.random() < 0.06
        n_after = 1 + (rng.random() < 0.3) if flip else 0
        if opening_only:
            n_exit = 0
        while n_entry + n_exit + n_after > k:
            if n_after > 1:
                n_after -= 1
            elif n_entry > 1:
                n_entry -= 1
            elif n_exit > 1:
                n_exit -= 1
            else:
                flip, n_after = False, 0
        orders = n_entry + n_exit + n_after
        fills_per = [1] * orders
        rand = rng.random
        for _ in range(k - orders):
            fills_per[int(rand() * orders)] += 1
        f_entry = fills_per[:n_entry]
        f_exit = fills_per[n_entry : n_entry + n_exit]
        f_after = fills_per[n_entry + n_exit :]

        q1 = max(size, sum(f_entry), sum(f_exit[:-1]) + 1 if flip else sum(f_exit))
        entries = _split(rng, q1, f_entry)
        plan: list[tuple[int, int, int]] = []  # (signed qty, fills, segment)
        plan += [(direction * q, f, 0) for q, f in zip(entries, f_entry, strict=True)]
        if not flip:
            plan += [(-direction * q, f, 0) for q, f in zip(_split(rng, q1, f_exit), f_exit,
                                                           strict=True)]
        else:
            pre = f_exit[:-1]
            pre_total = rng.randint(sum(pre), q1 - 1) if pre else 0
            rest = q1 - pre_total
            plan += [(-direction * q, f, 0) for q, f in zip(_split(rng, pre_total, pre), pre,
                                                           strict=True)]
            q2 = max(rng.choice((size, max(1, size // 2), size * 2)), sum(f_after),
                     f_exit[-1] - rest)
            plan.append((-direction * (rest + q2), f_exit[-1], 1))
            plan += [(direction * q, f, 1) for q, f in zip(_split(rng, q2, f_after), f_after,
                                                          strict=True)]
            self.summary.flips += 1

        # Timing: entries close together, a hold, exits spread out.
        hold = self._style_hold(slack)
        t = start
        entry_price = price
        pos = 0
        fills = self.fills
        books = self.books.setdefault(inst[0], [0, 0])
        rows_by_class = self.summary.rows_by_class
        klass = inst[1]
        ref = price
        for n, (qty, nfills, _segment) in enumerate(plan):
            opening = pos == 0 or (pos > 0) == (qty > 0)
            if n:
                if opening and n < n_entry:
                    t += int(rng.uniform(5_000, max(10_000, hold * 0.3)))
                else:
                    t += int(rng.uniform(0.3, 1.0) * hold) if n == n_entry else int(
                        rng.uniform(2_000, max(5_000, hold * 0.4))
                    )
            # price: entries near the reference, exits after a random move
            if n >= n_entry:
                ref = max(tick, int(entry_price * math.exp(rng.gauss(direction * vol * 0.05, vol))))
            self.order_seq += 1
            order_id = self.order_seq
            side = "buy" if qty > 0 else "sell"
            parts = _split(rng, abs(qty), [1] * nfills)
            ft = t
            for part in parts:
                px = max(tick, (ref + tick * (int(rand() * 5) - 2)) // tick * tick)
                commission, regulatory = fee(side, part, px)  # type: ignore[operator]
                fills.append((ft, inst, side, part, px, commission, regulatory, order_id))
                signed = part if qty > 0 else -part
                books[0] += signed
                books[1] -= signed * px * mult
                self.summary.total_fees_cents += commission + regulatory
                ft += int(rand() * 1500)
            t = ft
            pos += qty
        rows_by_class[klass] = rows_by_class.get(klass, 0) + k
        return t


def _accumulate(values: Iterable[float]) -> Iterable[float]:
    total = 0.0
    for v in values:
        total += v
        yield total


def _bisect(cum: list[float], x: float) -> int:
    lo, hi = 0, len(cum) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _prepare(
    n: int, seed: int, symbols: int, mix: Mix | None, open_fraction: float, days: int,
    start: date,
) -> _Generator:
    gen = _Generator(n, seed, symbols, mix or Mix(), open_fraction, days, start)
    summary = gen.run()
    gen.fills.sort(key=itemgetter(0))  # stable: partial fills of one order keep their order
    summary.rows = len(gen.fills)
    summary.instruments = len(gen.books)
    summary.underlyings = len({f[1][3] for f in gen.fills})
    summary.expected_gross_cents = sum(cash for qty, cash in gen.books.values() if qty == 0)
    summary.open_positions = {sym: qty for sym, (qty, _) in gen.books.items() if qty}
    iso = gen.timeline.iso
    summary.first_time = iso(gen.fills[0][0])
    summary.last_time = iso(gen.fills[-1][0])
    return gen


def _rows(gen: _Generator) -> Iterator[list[str]]:
    iso = gen.timeline.iso
    for number, (t, inst, side, qty, px, commission, regulatory, order_id) in enumerate(
        gen.fills, 1
    ):
        symbol, klass, mult, underlying, expiry, strike, right = inst
        yield [
            iso(t), symbol, side, str(qty), _cents(px), _cents(commission),
            _cents(regulatory), klass, mult, underlying, expiry, strike, right,
            f"O{order_id:09d}", f"E{number:010d}",
        ]


def generate(
    n: int,
    seed: int = 7,
    *,
    symbols: int = 500,
    mix: Mix | None = None,
    open_fraction: float = 0.005,
    days: int = 750,
    start: date = date(2022, 1, 3),
) -> tuple[list[list[str]], GenSummary]:
    """`n` rows (header excluded, columns as `HEADER`) in time order, and a summary.

    Deterministic: the same arguments give the same rows. `open_fraction` is the share of
    option units left open; 0 makes every instrument end flat.
    """
    began = time.perf_counter()
    gen = _prepare(n, seed, symbols, mix, open_fraction, days, start)
    rows = list(_rows(gen))
    gen.summary.seconds = time.perf_counter() - began
    return rows, gen.summary


def generate_csv(
    path: Path,
    n: int,
    seed: int = 7,
    *,
    symbols: int = 500,
    mix: Mix | None = None,
    open_fraction: float = 0.005,
    days: int = 750,
    start: date = date(2022, 1, 3),
) -> GenSummary:
    """Like `generate`, streaming the rows (with the header) to a CSV file at `path`."""
    began = time.perf_counter()
    gen = _prepare(n, seed, symbols, mix, open_fraction, days, start)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(_rows(gen))
    gen.summary.seconds = time.perf_counter() - began
    return gen.summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("-n", "--executions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--stocks-only", action="store_true", help="stocks only, all flat")
    parser.add_argument("--open-fraction", type=float, default=None)
    args = parser.parse_args(argv)
    mix = STOCKS_ONLY if args.stocks_only else Mix()
    open_fraction = args.open_fraction
    if open_fraction is None:
        open_fraction = 0.0 if args.stocks_only else 0.005
    s = generate_csv(
        args.out, args.executions, args.seed, symbols=args.symbols, mix=mix,
        open_fraction=open_fraction,
    )
    print(
        f"{s.rows} rows ({', '.join(f'{k} {v}' for k, v in sorted(s.rows_by_class.items()))}),"
        f" {s.units} units, {s.flips} flips, {len(s.open_positions)} open,"
        f" {s.instruments} instruments, {s.first_time} .. {s.last_time},"
        f" expected gross {s.expected_gross:,.2f}, fees {s.total_fees_cents / 100:,.2f};"
        f" {s.seconds:.1f} s -> {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
