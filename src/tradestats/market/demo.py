"""A deterministic synthetic market for offline use and demos (``source == "demo"``).

Everything is a pure function of ``(seed, today)`` and the symbol; nothing touches the
network or the clock (``today=None`` reads the date once, in ``__init__``). Per ticker:

- a profile (price level 5-800, true volatility, average volume 100k-80M, liquidity,
  implied/true vol premium, short/long implied ratio, earnings jump size, BMO/AMC);
- quarterly earnings every 91 days from a per-ticker phase (+/-2 days jitter, moved off
  weekends), so every weekday has reports;
- one year of daily bars ending ``today``: GBM with an overnight gap, an earnings jump in
  the overnight gap of each move session (BMO: the day, AMC: the next session), and
  high/low drawn exactly from the Brownian-bridge extremes;
- an IV surface ``iv(T)^2 = lt^2 + (st^2 - lt^2)(1 - e^-kT)/(kT) + sum(J^2)/T`` where the
  sum runs over announcements whose move session falls before the expiry: the front
  month is bid up before earnings and the term structure inverts; a skew/smile in
  standardized moneyness; Black-Scholes prices; spreads that widen for illiquid names
  and far strikes (zero bids in the wings); weeklies for liquid names, monthlies and
  two January LEAPS for all. A few names (always BRK.A) have no options.

Bars, expirations and chains are generated lazily and cached per instance. Histories
for different ``today`` values are independent draws (prices are re-anchored so a
ticker's current level is the same every day). Calendar days; no market holidays.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import math
import random
from dataclasses import dataclass

from tradestats.market.demo_universe import WELL_KNOWN, universe
from tradestats.market.errors import DataError, NoOptions, UnknownTicker
from tradestats.market.types import Bar, Chain, EarningsEvent, OptionContract, Quote, Right

SOURCE = "demo"
_EPOCH = dt.date(2000, 1, 3)  # a Monday
_CYCLE_DAYS = 91  # 13 weeks: earnings keep their weekday
_RATE = 0.04
_KAPPA = 6.0  # per year: how fast short-term implied vol reverts to long-term
_HISTORY_DAYS = 366
_CLOSE = dt.time(21, 0, tzinfo=dt.UTC)
_CONFIRMED_DAYS = 35  # announcements further out are estimates (inferred=True)


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, x))


@dataclass(frozen=True, slots=True)
class _Profile:
    ticker: str
    price: float  # price level today
    sigma: float  # true annualized volatility of the path (ex earnings)
    avg_volume: float
    overnight_share: float  # share of daily variance in the overnight gap
    jump: float  # std-dev of the earnings-session log move
    jump_premium: float  # implied / realized jump size
    vrp: float  # long-term implied vol / true vol
    short_ratio: float  # short-term / long-term implied vol away from events
    liquidity: float  # 0 (100k shares/day) .. 1 (80M shares/day)
    has_options: bool
    weeklies: bool
    phase: int  # day of the 91-day earnings cycle
    bmo: bool
    salt: int


def _profile(seed: int, ticker: str, tier: int) -> _Profile:
    r = _rng(seed, "profile", ticker)
    lo_p, hi_p, lo_v, hi_v = [(40, 800, 5e6, 8e7), (8, 600, 5e5, 4e7), (5, 120, 1e5, 5e6)][tier]
    price = _clamp(math.exp(r.gauss(math.log(math.sqrt(lo_p * hi_p)), 0.8)), lo_p, hi_p)
    avg_volume = math.exp(r.uniform(math.log(lo_v), math.log(hi_v)))
    base_vol = (0.26, 0.34, 0.48)[tier]
    stressed = r.random() < 0.08
    return _Profile(
        ticker=ticker,
        price=round(price, 2),
        sigma=_clamp(math.exp(r.gauss(math.log(base_vol), 0.3)), 0.12, 1.2),
        avg_volume=avg_volume,
        overnight_share=r.uniform(0.12, 0.3),
        jump=_clamp(math.exp(r.gauss(math.log(0.05), 0.45)), 0.015, 0.2),
        jump_premium=r.uniform(0.8, 1.25),
        vrp=_clamp(r.gauss(1.06, 0.12), 0.85, 1.5),
        short_ratio=r.uniform(1.15, 1.5) if stressed else r.gauss(0.93, 0.06),
        liquidity=_clamp((math.log10(avg_volume) - 5.0) / (math.log10(8e7) - 5.0), 0.0, 1.0),
        has_options=ticker != "BRK.A" and r.random() >= 0.025,
        weeklies=avg_volume >= 2e6,
        phase=r.randrange(_CYCLE_DAYS),
        bmo=r.random() < 0.5,
        salt=r.getrandbits(32),
    )


def _weekday_on_or_after(d: dt.date) -> dt.date:
    while d.weekday() >= 5:
        d += dt.timedelta(days=1)
    return d


def _last_session(d: dt.date) -> dt.date:
    while d.weekday() >= 5:
        d -= dt.timedelta(days=1)
    return d


def move_session(event: EarningsEvent) -> dt.date:
    """Session that trades on the news: the day for BMO, the next weekday otherwise."""
    if event.timing == "BMO":
        return event.date
    return _weekday_on_or_after(event.date + dt.timedelta(days=1))


def _third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)


def _expirations(today: dt.date, weeklies: bool) -> list[dt.date]:
    out: set[dt.date] = set()
    if weeklies:
        friday = today + dt.timedelta(days=(4 - today.weekday()) % 7)
        while (friday - today).days <= 56:
            out.add(friday)
            friday += dt.timedelta(days=7)
    for i in range(10):
        y, m = divmod(today.month - 1 + i, 12)
        out.add(_third_friday(today.year + y, m + 1))
    for years in (1, 2):
        out.add(_third_friday(today.year + years, 1))
    return sorted(e for e in out if e >= today)


def _norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def black_scholes(
    spot: float, strike: float, t: float, rate: float, vol: float, right: Right
) -> float:
    """Black-Scholes price (no dividends) of a European option, per share."""
    sq = vol * math.sqrt(t)
    d1 = (math.log(spot / strike) + (rate + 0.5 * vol * vol) * t) / sq
    d2 = d1 - sq
    disc = strike * math.exp(-rate * t)
    if right == "call":
        return spot * _norm_cdf(d1) - disc * _norm_cdf(d2)
    return disc * _norm_cdf(-d2) - spot * _norm_cdf(-d1)


_RIGHTS: dict[str, Right] = {"call": "call", "put": "put"}


def _strike_step(price: float) -> float:
    for limit, step in ((10, 0.5), (50, 1.0), (150, 2.5), (400, 5.0)):
        if price < limit:
            return step
    return 10.0


class DemoMarket:
    """Synthetic ``MarketData`` provider; see the module docstring for the model."""

    source: str = SOURCE

    def __init__(self, seed: int = 7, today: dt.date | None = None, size: int = 500) -> None:
        self.seed = seed
        self.today = today if today is not None else dt.date.today()
        self.tickers: tuple[str, ...] = universe(size)
        known = set(WELL_KNOWN)
        # Tier 0: the first 100 well-known (mega caps); 1: other well-known; 2: generated.
        self._tier = {
            t: 0 if i < 100 else (1 if t in known else 2) for i, t in enumerate(self.tickers)
        }
        self._profiles: dict[str, _Profile] = {}
        self._bars: dict[str, list[Bar]] = {}
        self._expiries: dict[str, list[dt.date]] = {}
        self._chains: dict[tuple[str, dt.date], Chain] = {}
        self._calendar: dict[dt.date, list[EarningsEvent]] = {}
        self._session_days: list[dt.date] | None = None

    # -- profiles and events -------------------------------------------------------------

    def _profile(self, ticker: str) -> _Profile:
        key = ticker.strip().upper()
        p = self._profiles.get(key)
        if p is None:
            if key not in self._tier:
                raise UnknownTicker(ticker)
            p = _profile(self.seed, key, self._tier[key])
            self._profiles[key] = p
        return p

    def _event(self, p: _Profile, k: int) -> EarningsEvent:
        jitter = ((p.salt ^ (k * 0x9E3779B1)) * 0x85EBCA6B >> 13) % 5 - 2
        day = _EPOCH + dt.timedelta(days=p.phase + _CYCLE_DAYS * k + jitter)
        if day.weekday() == 5:
            day -= dt.timedelta(days=1)
        elif day.weekday() == 6:
            day += dt.timedelta(days=1)
        inferred = (day - self.today).days > _CONFIRMED_DAYS
        return EarningsEvent(p.ticker, day, "BMO" if p.bmo else "AMC", inferred, SOURCE)

    def _events(self, p: _Profile, start: dt.date, end: dt.date) -> list[EarningsEvent]:
        k0 = ((start - _EPOCH).days - p.phase - 3) // _CYCLE_DAYS
        k1 = ((end - _EPOCH).days - p.phase + 3) // _CYCLE_DAYS + 1
        events = (self._event(p, k) for k in range(k0, k1 + 1))
        return [e for e in events if start <= e.date <= end]

    # -- MarketData ----------------------------------------------------------------------

    def quote(self, ticker: str) -> Quote:
        p = self._profile(ticker)
        last = self._history_bars(p)[-1]
        return Quote(p.ticker, last.close, dt.datetime.combine(last.date, _CLOSE), SOURCE)

    def history(self, ticker: str, start: dt.date, end: dt.date) -> list[Bar]:
        bars = self._history_bars(self._profile(ticker))
        dates = [b.date for b in bars]
        return bars[bisect.bisect_left(dates, start) : bisect.bisect_right(dates, end)]

    def expirations(self, ticker: str) -> list[dt.date]:
        p = self._profile(ticker)
        if not p.has_options:
            raise NoOptions(p.ticker)
        exp = self._expiries.get(p.ticker)
        if exp is None:
            exp = _expirations(self.today, p.weeklies)
            self._expiries[p.ticker] = exp
        return list(exp)

    def chain(self, ticker: str, expiry: dt.date) -> Chain:
        p = self._profile(ticker)
        if expiry not in self.expirations(p.ticker):
            raise DataError(f"{p.ticker}: {expiry.isoformat()} is not a listed expiration")
        key = (p.ticker, expiry)
        chain = self._chains.get(key)
        if chain is None:
            chain = self._build_chain(p, expiry)
            self._chains[key] = chain
        return chain

    def earnings_calendar(self, day: dt.date) -> list[EarningsEvent]:
        cal = self._calendar.get(day)
        if cal is None:
            cal = []
            for t in self.tickers:
                cal.extend(self._events(self._profile(t), day, day))
            self._calendar[day] = cal
        return list(cal)

    def earnings_dates(self, ticker: str) -> list[EarningsEvent]:
        """Announcements over the history window plus the next two quarters."""
        p = self._profile(ticker)
        start = self.today - dt.timedelta(days=_HISTORY_DAYS)
        return self._events(p, start, self.today + dt.timedelta(days=2 * _CYCLE_DAYS))

    # -- generation ----------------------------------------------------------------------

    def upcoming_jumps(self, p: _Profile, until: dt.date) -> list[float]:
        """Implied jump sizes of announcements whose move session is after today's close
        and on or before ``until``."""
        events = self._events(p, self.today - dt.timedelta(days=4), until)
        return [p.jump * p.jump_premium for e in events if self.today < move_session(e) <= until]

    def _history_bars(self, p: _Profile) -> list[Bar]:
        bars = self._bars.get(p.ticker)
        if bars is None:
            bars = self._build_bars(p)
            self._bars[p.ticker] = bars
        return bars

    def _build_bars(self, p: _Profile) -> list[Bar]:
        days = self._sessions()
        start, end = days[0], days[-1]
        moves = {move_session(e) for e in self._events(p, start - dt.timedelta(days=5), end)}
        r = _rng(self.seed, "path", p.ticker, self.today.isoformat())
        gauss, uniform01, log, sqrt = r.gauss, r.random, math.log, math.sqrt
        daily = p.sigma / math.sqrt(252.0)
        s_o = daily * math.sqrt(p.overnight_share)
        s_d = daily * math.sqrt(1.0 - p.overnight_share)
        drift_o, drift_d, two_var_d = -0.5 * s_o * s_o, -0.5 * s_d * s_d, 2.0 * s_d * s_d
        rows: list[tuple[dt.date, float, float, float, float, float]] = []
        log_c = 0.0
        for day in days:
            gap = gauss(drift_o, s_o)
            event = day in moves
            if event:
                gap += gauss(0.0, p.jump)
            c = gauss(drift_d, s_d)
            # Exact Brownian-bridge maximum/minimum of the intraday log path given c.
            hi = 0.5 * (c + sqrt(c * c - two_var_d * log(1.0 - uniform01())))
            lo = 0.5 * (c - sqrt(c * c - two_var_d * log(1.0 - uniform01())))
            log_o = log_c + gap
            log_c = log_o + c
            vol = p.avg_volume * (0.55 + 0.9 * uniform01()) * (3.5 if event else 1.0)
            rows.append((day, log_o, log_o + hi, log_o + lo, log_c, vol))
        scale = 100.0 * p.price / math.exp(log_c)  # in cents; re-anchors today's close
        exp = math.exp
        return [
            Bar(
                d,
                int(exp(o) * scale + 0.5) / 100.0,
                int(exp(h) * scale + 0.5) / 100.0,
                int(exp(lo_) * scale + 0.5) / 100.0,
                int(exp(c_) * scale + 0.5) / 100.0,
                int(v),
            )
            for d, o, h, lo_, c_, v in rows
        ]

    def _sessions(self) -> list[dt.date]:
        """Weekdays of the history window, ending with the last session on/before today."""
        if self._session_days is None:
            end = _last_session(self.today)
            start = end - dt.timedelta(days=_HISTORY_DAYS)
            span = (start + dt.timedelta(days=i) for i in range((end - start).days + 1))
            self._session_days = [d for d in span if d.weekday() < 5]
        return self._session_days

    def atm_vol(self, p: _Profile, expiry: dt.date) -> float:
        """Model ATM implied vol of ``expiry`` (term structure + earnings variance)."""
        days = max((expiry - self.today).days, 0.5)
        t = days / 365.0
        lt = p.sigma * p.vrp
        st = lt * p.short_ratio
        w = (1.0 - math.exp(-_KAPPA * t)) / (_KAPPA * t)
        var = lt * lt + (st * st - lt * lt) * w
        var += sum(j * j for j in self.upcoming_jumps(p, expiry)) / t
        return math.sqrt(var)

    def _build_chain(self, p: _Profile, expiry: dt.date) -> Chain:
        r = _rng(self.seed, "chain", p.ticker, expiry.isoformat(), self.today.isoformat())
        uniform01 = r.random
        spot = self._history_bars(p)[-1].close
        days = max((expiry - self.today).days, 0.5)
        t = days / 365.0
        atm = self.atm_vol(p, expiry)
        sq_t = atm * math.sqrt(t)
        disc = math.exp(-_RATE * t)
        fwd = spot / disc
        step = _strike_step(spot)
        width = max(0.12, 3.5 * sq_t) * spot
        n_side = min(15, max(4, math.ceil(width / step)))
        center = round(spot / step)
        strikes = [(center + i) * step for i in range(-n_side, n_side + 1) if center + i > 0]
        monthly = expiry == _third_friday(expiry.year, expiry.month)
        half_pct = 0.01 + 0.15 * (1.0 - p.liquidity) ** 2
        min_half = 0.01 + 0.04 * (1.0 - p.liquidity)
        oi_base = p.avg_volume / 600.0 * (1.0 if monthly else 0.5)
        vol_boost = 2.0 if days <= 10 else 1.0
        thin = p.liquidity < 0.25
        calls: list[OptionContract] = []
        puts: list[OptionContract] = []
        for k in strikes:
            x = math.log(k / fwd) / sq_t  # standardized moneyness
            iv = atm * _clamp(1.0 - 0.06 * x + 0.015 * x * x, 0.7, 2.5)
            sq = iv * math.sqrt(t)
            d1 = (math.log(fwd / k) + 0.5 * sq * sq) / sq
            call = disc * (fwd * _norm_cdf(d1) - k * _norm_cdf(d1 - sq))
            put = call - spot + k * disc  # put-call parity
            half_base = 1.0 + 0.6 * min(abs(x), 4.0)
            smile_oi = oi_base * math.exp(-0.5 * x * x)
            for right, theo, side in (("call", call, calls), ("put", put, puts)):
                if thin and uniform01() < 0.06:
                    continue  # thin names list some strikes on one side only
                theo = max(theo, 0.0)
                half = max(min_half, theo * half_pct * half_base)
                bid = math.floor((theo - half) * 100.0) / 100.0
                bid = bid if bid >= 0.01 else 0.0
                ask = max(0.01, math.ceil((theo + half) * 100.0) / 100.0)
                oi = int(smile_oi * (0.35 + 1.3 * uniform01()))
                volume = int(oi * (0.02 + 0.28 * uniform01()) * vol_boost)
                side.append(
                    OptionContract(
                        expiry,
                        k,
                        _RIGHTS[right],
                        bid,
                        ask,
                        round(theo, 2) if volume > 0 else None,
                        volume,
                        oi,
                        round(iv + 0.008 * (uniform01() - 0.5), 4) if bid > 0.0 else None,
                    )
                )
        asof = dt.datetime.combine(_last_session(self.today), _CLOSE)
        return Chain(p.ticker, expiry, tuple(calls), tuple(puts), SOURCE, asof)
