"""Building `Instrument`s from the pieces a broker row gives, the same way for every
preset: OCC ids for equity options, contract codes for futures, table multipliers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from tradestats.journal.importers.futures import (
    futures_multiplier,
    parse_future_option_symbol,
    parse_future_symbol,
)
from tradestats.journal.importers.values import RowError, occ_symbol, parse_occ_symbol
from tradestats.journal.model import AssetClass, Instrument, OptionRight

_ASSET_CLASSES = {
    "stock": AssetClass.STOCK, "stocks": AssetClass.STOCK, "stk": AssetClass.STOCK,
    "equity": AssetClass.STOCK, "etf": AssetClass.STOCK, "share": AssetClass.STOCK,
    "shares": AssetClass.STOCK, "cs": AssetClass.STOCK,
    "option": AssetClass.OPTION, "options": AssetClass.OPTION, "opt": AssetClass.OPTION,
    "equityoption": AssetClass.OPTION, "equityandindexoptions": AssetClass.OPTION,
    "indexoption": AssetClass.OPTION,
    "future": AssetClass.FUTURE, "futures": AssetClass.FUTURE, "fut": AssetClass.FUTURE,
    "futureoption": AssetClass.FUTURE_OPTION, "futuresoption": AssetClass.FUTURE_OPTION,
    "fop": AssetClass.FUTURE_OPTION, "optionsonfutures": AssetClass.FUTURE_OPTION,
    "futuresoptions": AssetClass.FUTURE_OPTION,
    "crypto": AssetClass.CRYPTO_SPOT, "cryptospot": AssetClass.CRYPTO_SPOT,
    "spot": AssetClass.CRYPTO_SPOT, "cryptocurrency": AssetClass.CRYPTO_SPOT,
    "perp": AssetClass.CRYPTO_PERP, "perpetual": AssetClass.CRYPTO_PERP,
    "cryptoperp": AssetClass.CRYPTO_PERP, "perps": AssetClass.CRYPTO_PERP,
    "forex": AssetClass.FOREX, "fx": AssetClass.FOREX, "cash": AssetClass.FOREX,
    "currency": AssetClass.FOREX,
}


def parse_asset_class(text: str, column: str) -> AssetClass:
    key = "".join(ch for ch in text.lower() if ch.isalnum())
    asset_class = _ASSET_CLASSES.get(key)
    if asset_class is None:
        raise RowError(column, f"{column}: unknown asset class {text!r}")
    return asset_class


def make_instrument(
    asset_class: AssetClass,
    symbol: str,
    *,
    underlying: str = "",
    expiry: date | None = None,
    strike: Decimal | None = None,
    right: OptionRight | None = None,
    multiplier: Decimal | None = None,
    currency: str = "USD",
    overrides: Mapping[str, Decimal] | None = None,
    symbol_column: str = "symbol",
) -> Instrument:
    """Validate and complete an instrument. Missing option/futures details are taken
    from the symbol when it encodes them; otherwise the row is rejected."""
    symbol = " ".join(symbol.split())
    currency = currency or "USD"
    if not symbol:
        raise RowError(symbol_column, f"{symbol_column}: symbol is empty")
    if multiplier is not None and multiplier <= 0:
        raise RowError("multiplier", f"multiplier: {multiplier} must be positive")

    if asset_class is AssetClass.OPTION:
        occ = parse_occ_symbol(symbol)
        # The OCC root can differ from the underlying after corporate actions (GREE1,
        # USO1 are adjusted contracts): keep it in the id so they stay distinct.
        root = occ[0] if occ else ""
        if expiry is None or strike is None or right is None:
            if occ is None:
                raise RowError(
                    symbol_column,
                    f"{symbol_column}: option {symbol!r} needs expiry, strike and right "
                    "(or an OCC symbol)",
                )
            _, expiry, right, strike = occ
        underlying = (underlying or root or symbol.split()[0]).upper()
        return Instrument(
            symbol=occ_symbol(root or underlying, expiry, right, strike),
            asset_class=asset_class,
            underlying=underlying,
            multiplier=multiplier if multiplier is not None else Decimal(100),
            expiry=expiry,
            strike=strike,
            right=right,
            currency=currency,
        )

    if asset_class is AssetClass.FUTURE:
        contract = parse_future_symbol(symbol)
        fut_root = contract.root if contract else underlying.lstrip("/").upper()
        if not fut_root:
            raise RowError(symbol_column, f"{symbol_column}: {symbol!r} is not a futures contract")
        code = contract.code if contract else symbol.lstrip("/").upper()
        if multiplier is None:
            multiplier = _table_multiplier(fut_root, overrides, symbol_column)
        return Instrument(code, asset_class, fut_root, multiplier, expiry=expiry, currency=currency)

    if asset_class is AssetClass.FUTURE_OPTION:
        parsed = parse_future_option_symbol(symbol)
        if parsed is not None:
            expiry = expiry or parsed.expiry
            strike = strike if strike is not None else parsed.strike
            right = right or parsed.right
            underlying = underlying or parsed.future.code
            code = parsed.code
        else:
            code = symbol.upper()
        if expiry is None or strike is None or right is None:
            raise RowError(
                symbol_column,
                f"{symbol_column}: future option {symbol!r} needs expiry, strike and right",
            )
        future = parse_future_symbol(underlying) if underlying else None
        if multiplier is None:
            if future is None:
                raise RowError(
                    "underlying", f"underlying: {underlying!r} is not a futures contract"
                )
            multiplier = _table_multiplier(future.root, overrides, "underlying")
        return Instrument(
            code, asset_class, (future.code if future else underlying.upper()), multiplier,
            expiry=expiry, strike=strike, right=right, currency=currency,
        )

    return Instrument(
        symbol=symbol,
        asset_class=asset_class,
        underlying=underlying or symbol,
        multiplier=multiplier if multiplier is not None else Decimal(1),
        currency=currency,
    )


def _table_multiplier(
    root: str, overrides: Mapping[str, Decimal] | None, column: str
) -> Decimal:
    value = futures_multiplier(root, overrides)
    if value is None:
        raise RowError(
            column,
            f"{column}: no multiplier known for futures root {root!r}; "
            "add it to the multiplier table (settings)",
        )
    return value
