"""Hyperliquid trade history CSV (the web app's "Trade History" export).

Columns: ``time`` (``MM/DD/YYYY - HH:MM:SS``, UTC), ``coin``, ``dir``, ``px``, ``sz``,
``ntl``, ``fee``, ``closedPnl``. ``dir`` is ``Open Long``/``Close Short``/
``Short > Long`` (buys) or ``Open Short``/``Close Long``/``Long > Short`` (sells) for
perpetuals, ``Buy``/``Sell`` for spot. ``fee`` is a positive cost in USDC (negative is a
rebate). ``closedPnl`` (gross of fees) stays in `raw` for reconciliation.
"""

from __future__ import annotations

from collections.abc import Iterator

from tradestats.journal.importers.base import (
    BrokerImporter,
    ImportSettings,
    ParseTally,
    TableSample,
)
from tradestats.journal.importers.reading import SourceFile
from tradestats.journal.importers.tabular import HeaderIndex, cell, rejection
from tradestats.journal.importers.values import (
    RowError,
    is_blank,
    parse_decimal,
    parse_timestamp,
    zone,
)
from tradestats.journal.model import AssetClass, Execution, Instrument, Rejection, Side

_COLUMNS = ("time", "coin", "dir", "px", "sz", "fee")
_DIRECTIONS = {
    "open long": (Side.BUY, AssetClass.CRYPTO_PERP),
    "close short": (Side.BUY, AssetClass.CRYPTO_PERP),
    "short > long": (Side.BUY, AssetClass.CRYPTO_PERP),
    "open short": (Side.SELL, AssetClass.CRYPTO_PERP),
    "close long": (Side.SELL, AssetClass.CRYPTO_PERP),
    "long > short": (Side.SELL, AssetClass.CRYPTO_PERP),
    "buy": (Side.BUY, AssetClass.CRYPTO_SPOT),
    "sell": (Side.SELL, AssetClass.CRYPTO_SPOT),
}


class HyperliquidImporter(BrokerImporter):
    name = "hyperliquid"
    label = "Hyperliquid trade history CSV"
    default_timezone = "UTC"

    def detect(self, sample: TableSample) -> float:
        if sample.kind == "xml" or not sample.header:
            return 0.0
        index = HeaderIndex(sample.header, self.name)
        if index.has_all(_COLUMNS) and index.find("ntl", "closedPnl") is not None:
            return 0.95
        return 0.0

    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        header, rows = source.header_and_rows()
        index = HeaderIndex(header, self.name)
        cols = {name: index.require(name) for name in _COLUMNS}
        tz = zone(settings.zone_name(self.default_timezone))
        instruments: dict[tuple[str, AssetClass], Instrument] = {}
        for number, cells in rows:
            tally.rows_read += 1
            raw = index.raw(cells)
            try:
                text = cell(cells, cols["time"]).replace(" - ", " ")
                timestamp = parse_timestamp(text, "time", tz)
                direction = cell(cells, cols["dir"])
                found = _DIRECTIONS.get(direction.strip().lower())
                if found is None:
                    raise RowError("dir", f"dir: unknown direction {direction!r}")
                side, asset_class = found
                coin = cell(cells, cols["coin"])
                if not coin:
                    raise RowError("coin", "coin: empty")
                price = parse_decimal(cell(cells, cols["px"]), "px")
                if price <= 0:
                    raise RowError("px", f"px: {price} is not positive")
                quantity = parse_decimal(cell(cells, cols["sz"]), "sz")
                if quantity <= 0:
                    raise RowError("sz", f"sz: {quantity} is not positive")
                fee_text = cell(cells, cols["fee"])
                fees = parse_decimal(fee_text, "fee") if not is_blank(fee_text) else None
                if fees is None:
                    raise RowError("fee", "fee: empty")
            except RowError as err:
                yield rejection(number, err, raw)
                continue
            instrument = instruments.get((coin, asset_class))
            if instrument is None:
                instrument = Instrument(coin, asset_class, coin, currency="USDC")
                instruments[(coin, asset_class)] = instrument
            yield Execution(
                account=settings.account,
                instrument=instrument,
                timestamp=timestamp,
                side=side,
                quantity=quantity,
                price=price,
                fees=fees,
                broker=self.name,
                row=number,
                raw=raw,
            )

