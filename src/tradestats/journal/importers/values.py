"""Strict parsing of cell values shared by the presets.

Every parser either returns a value or raises `RowError(column, reason)`; nothing is
coerced (no "now" for a bad date, no 0 for a bad number).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tradestats.journal.importers.base import ImportFormatError
from tradestats.journal.model import OptionRight, Side


class RowError(ValueError):
    """A value in one row is invalid; becomes a `Rejection` for that row."""

    def __init__(self, column: str | None, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d*)?$")
_EMPTY_MARKERS = frozenset({"", "--", "-", "n/a", "N/A"})


def is_blank(text: str) -> bool:
    return text.strip() in _EMPTY_MARKERS


def parse_decimal(text: str, column: str) -> Decimal:
    """Parse a number: ``1234.5``, ``"1,234.50"``, ``-0.01``, ``(12.00)``, ``$5``.

    A comma is accepted only as a thousands separator (``1,234``); ``1,5`` is rejected
    as ambiguous rather than read as 15 or 1.5.
    """
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = _parse_decimal_slow(text, column)
    if not value.is_finite():
        raise RowError(column, f"{column}: {text!r} is not a number")
    return value


def _parse_decimal_slow(text: str, column: str) -> Decimal:
    s = text.strip().replace("\u00a0", "").replace(" ", "")
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    s = s.replace("$", "").replace("€", "").replace("£", "")
    if "," in s:
        if not _THOUSANDS.match(s):
            raise RowError(column, f"{column}: {text!r} is not a number")
        s = s.replace(",", "")
    if not s:
        raise RowError(column, f"{column}: value is empty")
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise RowError(column, f"{column}: {text!r} is not a number") from None
    return -value if negative else value


def parse_optional_decimal(text: str, column: str) -> Decimal | None:
    """Like `parse_decimal`, but empty / ``--`` gives None."""
    if is_blank(text):
        return None
    return parse_decimal(text, column)


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """The tzinfo for a zoneinfo name, with a readable error for a bad name."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImportFormatError(f"unknown time zone {name!r}") from None


_US_DATETIME = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})"
    r"(?:[ T,;-]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*([AaPp][Mm])?)?$"
)
_COMPACT_DATETIME = re.compile(r"^(\d{8})[;, T-]?\s*(\d{2}):?(\d{2}):?(\d{2})$")
_IBKR_ACTIVITY = re.compile(r"^(\d{4}-\d{2}-\d{2}),\s*(\d{2}:\d{2}(?::\d{2})?)$")


def parse_timestamp(text: str, column: str, tz: tzinfo, *, day_first: bool = False) -> datetime:
    """Parse a timestamp into an aware UTC datetime.

    Accepts ISO 8601 (with or without offset, ``T`` or space), ``YYYYMMDD;HHMMSS``,
    ``YYYY-MM-DD, HH:MM:SS``, ``MM/DD/YYYY HH:MM[:SS] [AM|PM]`` (``DD/MM/YYYY`` when
    `day_first`) and date-only forms (midnight). Naive values are in `tz`.
    """
    s = text.strip()
    if not s:
        raise RowError(column, f"{column}: date/time is empty")
    try:
        parsed = datetime.fromisoformat(s)
    except ValueError:
        parsed = _parse_timestamp_slow(s, column, day_first)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def _parse_timestamp_slow(s: str, column: str, day_first: bool) -> datetime:
    bad = RowError(column, f"{column}: {s!r} is not a date/time")
    try:
        if m := _IBKR_ACTIVITY.match(s):
            return datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}")
        if m := _COMPACT_DATETIME.match(s):
            d = datetime.strptime(m.group(1), "%Y%m%d")
            return d.replace(
                hour=int(m.group(2)), minute=int(m.group(3)), second=int(m.group(4))
            )
        if m := _US_DATETIME.match(s):
            first, second, year_s = int(m.group(1)), int(m.group(2)), m.group(3)
            month, day = (second, first) if day_first else (first, second)
            year = int(year_s) + (2000 if len(year_s) == 2 else 0)
            hour = int(m.group(4) or 0)
            minute = int(m.group(5) or 0)
            sec = int(m.group(6) or 0)
            micro = int((m.group(7) or "0").ljust(6, "0"))
            if ampm := m.group(8):
                if not 1 <= hour <= 12:
                    raise bad
                hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
            return datetime(year, month, day, hour, minute, sec, micro)
    except ValueError:
        raise bad from None
    raise bad


_MONTHS = {
    m: i
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
        start=1,
    )
}


def parse_date(text: str, column: str) -> date:
    """Parse a calendar date: ``2024-01-19``, ``20240119``, ``1/19/24``, ``01/19/2024``,
    ``19JAN24``."""
    s = text.strip()
    try:
        if len(s) == 7 and s[2:5].upper() in _MONTHS:
            return date(2000 + int(s[5:]), _MONTHS[s[2:5].upper()], int(s[:2]))
        if "/" in s:
            month_s, day_s, year_s = s.split("/")
            year = int(year_s) + (2000 if len(year_s) == 2 else 0)
            return date(year, int(month_s), int(day_s))
        return date.fromisoformat(s[:10] if len(s) > 10 and s[10] in " T" else s)
    except ValueError:
        raise RowError(column, f"{column}: {text!r} is not a date") from None


def midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


_SIDES = {
    "buy": Side.BUY,
    "b": Side.BUY,
    "bot": Side.BUY,
    "bought": Side.BUY,
    "long": Side.BUY,
    "buy to open": Side.BUY,
    "buy to close": Side.BUY,
    "buy_to_open": Side.BUY,
    "buy_to_close": Side.BUY,
    "bto": Side.BUY,
    "btc": Side.BUY,
    "bc": Side.BUY,  # buy to cover
    "cover": Side.BUY,
    "sell": Side.SELL,
    "s": Side.SELL,
    "sld": Side.SELL,
    "sold": Side.SELL,
    "short": Side.SELL,
    "ss": Side.SELL,  # sell short
    "sell short": Side.SELL,
    "sell to open": Side.SELL,
    "sell to close": Side.SELL,
    "sell_to_open": Side.SELL,
    "sell_to_close": Side.SELL,
    "sto": Side.SELL,
    "stc": Side.SELL,
}


def parse_side(text: str, column: str) -> Side:
    side = _SIDES.get(text.strip().lower())
    if side is None:
        raise RowError(column, f"{column}: unknown side {text!r} (expected buy or sell)")
    return side


_RIGHTS = {"c": OptionRight.CALL, "call": OptionRight.CALL, "p": OptionRight.PUT,
           "put": OptionRight.PUT}


def parse_right(text: str, column: str) -> OptionRight:
    right = _RIGHTS.get(text.strip().lower())
    if right is None:
        raise RowError(column, f"{column}: {text!r} is not an option right (call/put)")
    return right


def occ_symbol(underlying: str, expiry: date, right: OptionRight, strike: Decimal) -> str:
    """The OCC option id: root padded to 6, YYMMDD, C/P, strike x 1000 on 8 digits."""
    millis = int((strike * 1000).to_integral_value())
    flag = "C" if right is OptionRight.CALL else "P"
    return f"{underlying.upper():<6}{expiry:%y%m%d}{flag}{millis:08d}"


def strip_zeros(value: Decimal) -> Decimal:
    """``100.00`` -> ``100`` without turning ``100`` into ``1E+2``."""
    normalized = value.normalize()
    return normalized.quantize(Decimal(1)) if normalized == normalized.to_integral() else normalized


_OCC = re.compile(
    r"^(?P<root>[A-Z0-9./]{1,6})\s*(?P<yymmdd>\d{6})(?P<right>[CP])(?P<strike>\d{8})$"
)


def parse_occ_symbol(symbol: str) -> tuple[str, date, OptionRight, Decimal] | None:
    """``"AAPL  240119C00150000"`` -> (``AAPL``, 2024-01-19, CALL, 150); None if no match."""
    m = _OCC.match(symbol.strip().upper())
    if m is None:
        return None
    yymmdd = m.group("yymmdd")
    try:
        expiry = date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError:
        return None
    right = OptionRight.CALL if m.group("right") == "C" else OptionRight.PUT
    strike = strip_zeros(Decimal(m.group("strike")) / 1000)
    return m.group("root"), expiry, right, strike
