from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tradestats.journal.importers.futures import (
    futures_multiplier,
    parse_future_option_symbol,
    parse_future_symbol,
)
from tradestats.journal.model import OptionRight


@pytest.mark.parametrize(
    ("symbol", "root", "code"),
    [
        ("/MESZ5", "MES", "MESZ5"),
        ("MESZ5", "MES", "MESZ5"),
        ("MESZ25", "MES", "MESZ25"),
        ("6EH6", "6E", "6EH6"),
        ("/CLJ4", "CL", "CLJ4"),
        ("MNQH5", "MNQ", "MNQH5"),
        ("M2KU4", "M2K", "M2KU4"),
        ("YM   DEC 18", "YM", "YMZ8"),
    ],
)
def test_future_symbols(symbol: str, root: str, code: str) -> None:
    parsed = parse_future_symbol(symbol)
    assert parsed is not None
    assert (parsed.root, parsed.code) == (root, code)


@pytest.mark.parametrize("symbol", ["AAPL", "", "/", "MES", "SPY 240119C00400000"])
def test_not_future_symbols(symbol: str) -> None:
    assert parse_future_symbol(symbol) is None


def test_future_option_symbol() -> None:
    parsed = parse_future_option_symbol("./MESZ5EXV5  251031P5400")
    assert parsed is not None
    assert parsed.future.code == "MESZ5" and parsed.product == "EXV5"
    assert (parsed.expiry, parsed.right, parsed.strike) == (
        date(2025, 10, 31), OptionRight.PUT, Decimal(5400)
    )
    assert parse_future_option_symbol("./MESU4MESU4 240920P5050") is not None
    assert parse_future_option_symbol("/MESZ5") is None


def test_multiplier_table_and_override() -> None:
    assert futures_multiplier("ES") == 50
    assert futures_multiplier("/mes") == 5
    assert futures_multiplier("MYM") == Decimal("0.5")
    assert futures_multiplier("6E") == 125000
    assert futures_multiplier("XYZ") is None
    assert futures_multiplier("XYZ", {"XYZ": Decimal(7)}) == 7
    assert futures_multiplier("ES", {"ES": Decimal(10)}) == 10
