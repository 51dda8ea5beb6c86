"""Futures contract symbols and the per-root point value (multiplier) table.

The table covers the commonly traded CME/CBOT/NYMEX/COMEX roots; callers pass
`ImportSettings.multipliers` to add or override roots. An unknown root is an error for
the row, never a silent multiplier of 1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from tradestats.journal.model import OptionRight

#: Dollar value of one point of price, per contract root.
FUTURES_MULTIPLIERS: Mapping[str, Decimal] = {
    # equity indices
    "ES": Decimal(50), "MES": Decimal(5), "NQ": Decimal(20), "MNQ": Decimal(2),
    "RTY": Decimal(50), "M2K": Decimal(5), "YM": Decimal(5), "MYM": Decimal("0.5"),
    "EMD": Decimal(100), "NKD": Decimal(5),
    # energy
    "CL": Decimal(1000), "MCL": Decimal(100), "QM": Decimal(500), "NG": Decimal(10000),
    "QG": Decimal(2500), "MNG": Decimal(1000), "RB": Decimal(42000), "HO": Decimal(42000),
    # metals
    "GC": Decimal(100), "MGC": Decimal(10), "SI": Decimal(5000), "SIL": Decimal(1000),
    "HG": Decimal(25000), "MHG": Decimal(2500), "PL": Decimal(50), "PA": Decimal(100),
    # rates
    "ZB": Decimal(1000), "UB": Decimal(1000), "ZN": Decimal(1000), "TN": Decimal(1000),
    "ZF": Decimal(1000), "ZT": Decimal(2000), "SR3": Decimal(2500),
    # currencies
    "6E": Decimal(125000), "M6E": Decimal(12500), "6J": Decimal(12500000),
    "6B": Decimal(62500), "M6B": Decimal(6250), "6A": Decimal(100000), "M6A": Decimal(10000),
    "6C": Decimal(100000), "6S": Decimal(125000), "6N": Decimal(100000), "6M": Decimal(500000),
    # grains and livestock
    "ZC": Decimal(50), "ZS": Decimal(50), "ZW": Decimal(50), "ZM": Decimal(100),
    "ZL": Decimal(600), "LE": Decimal(400), "HE": Decimal(400), "GF": Decimal(500),
    # volatility and crypto
    "VX": Decimal(1000), "VXM": Decimal(100), "BTC": Decimal(5), "MBT": Decimal("0.1"),
    "ETH": Decimal(50), "MET": Decimal("0.1"),
}

MONTH_CODES = "FGHJKMNQUVXZ"

_FUTURE = re.compile(r"^/?(?P<root>[A-Z0-9]{1,4}?)(?P<month>[FGHJKMNQUVXZ])(?P<year>\d{1,2})$")
_FUTURE_SPACED = re.compile(
    r"^(?P<root>[A-Z0-9]{1,4})\s+(?P<mon>JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)"
    r"\s+(?P<year>\d{2})$"
)
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
                "DEC")
_FUTURE_PREFIX = re.compile(
    r"^(?P<contract>[A-Z0-9]{1,4}?[FGHJKMNQUVXZ]\d{1,2})(?P<product>[A-Z].*)$"
)
_FUTURE_OPTION = re.compile(
    r"^\./(?P<head>\S+)\s+(?P<yymmdd>\d{6})(?P<right>[CP])(?P<strike>\d+(?:\.\d+)?)$"
)


@dataclass(frozen=True, slots=True)
class FutureContract:
    root: str  # "MES"
    month: str  # month code "Z"
    year: str  # "5" or "25" as written

    @property
    def code(self) -> str:
        return f"{self.root}{self.month}{self.year}"


@dataclass(frozen=True, slots=True)
class FutureOptionContract:
    future: FutureContract
    product: str  # option product code: "EXV5", "MESU4", "X4AQ5"
    expiry: date
    right: OptionRight
    strike: Decimal

    @property
    def code(self) -> str:
        flag = "C" if self.right is OptionRight.CALL else "P"
        return f"{self.future.code} {self.product} {self.expiry:%y%m%d}{flag}{self.strike}"


def parse_future_symbol(symbol: str) -> FutureContract | None:
    """``/MESZ5``, ``MESZ5``, ``MESZ25``, ``6EH6``, IBKR's ``YM   DEC 18`` -> contract
    parts; None if no match."""
    text = symbol.strip().upper()
    m = _FUTURE.match(text)
    if m is None:
        spaced = _FUTURE_SPACED.match(text)
        if spaced is None:
            return None
        month = MONTH_CODES[_MONTH_NAMES.index(spaced.group("mon"))]
        return FutureContract(spaced.group("root"), month, spaced.group("year")[-1])
    return FutureContract(m.group("root"), m.group("month"), m.group("year"))


def parse_future_option_symbol(symbol: str) -> FutureOptionContract | None:
    """tastytrade-style future option ``./MESZ5EXV5  251031P5400`` -> parts."""
    m = _FUTURE_OPTION.match(symbol.strip().upper())
    if m is None:
        return None
    head = _FUTURE_PREFIX.match(m.group("head"))
    if head is None:
        return None
    future = parse_future_symbol(head.group("contract"))
    if future is None:
        return None
    yymmdd = m.group("yymmdd")
    try:
        expiry = date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError:
        return None
    right = OptionRight.CALL if m.group("right") == "C" else OptionRight.PUT
    return FutureOptionContract(future, head.group("product"), expiry, right,
                                Decimal(m.group("strike")))


def futures_multiplier(root: str, overrides: Mapping[str, Decimal] | None = None) -> Decimal | None:
    """Point value for a root (``"MES"`` -> 5), `overrides` first; None when unknown."""
    key = root.strip().lstrip("/").upper()
    if overrides and key in overrides:
        return Decimal(overrides[key])
    return FUTURES_MULTIPLIERS.get(key)
