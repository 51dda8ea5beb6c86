"""Interactive Brokers Flex Query, CSV format (trades section).

The header uses Flex field names (``"Buy/Sell","TradeDate","Quantity","TradePrice",
"IBCommission","CurrencyPrimary"...``); they map to the XML attributes by normalized
name, and the rows are converted exactly like XML ``<Trade>`` elements. ``Symbol`` falls
back to ``ISIN``; a row with neither (e.g. an FX conversion with an empty ISIN) is
rejected. Repeated header lines (one per account section) are skipped.

``synthesize_openings=True`` (on in the default preset) adds synthetic openings for
closes whose opening is not in the file, from the ``Cost`` column, exactly as the XML
preset does (there is no statement ``fromDate`` in a CSV: without ``OpenDateTime`` the
opening is dated just before the close, ``open_time_known`` false).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import tzinfo

from tradestats.journal.importers.base import (
    BrokerImporter,
    ImportSettings,
    MissingColumnError,
    ParseTally,
    TableSample,
    normalize_header,
)
from tradestats.journal.importers.ibkr_flex_xml import (
    BaseCurrencies,
    flex_closing_basis,
    flex_execution,
    flex_levels,
)
from tradestats.journal.importers.opening_lots import ClosingBasis, with_synthetic_openings
from tradestats.journal.importers.reading import SourceFile
from tradestats.journal.importers.tabular import HeaderIndex, rejection
from tradestats.journal.importers.values import RowError, zone
from tradestats.journal.model import Execution, Rejection

_SIGNATURE = ("buysell", "tradeprice")
_FLEX_ONLY = (
    "ibcommission",
    "iborderid",
    "ibexecid",
    "currencyprimary",
    "clientaccountid",
    "fifopnlrealized",
    "assetclass",
    "levelofdetail",
)


def is_currency_conversion(record: dict[str, str]) -> bool:
    """An FX conversion row: asset class ``CASH``, or — in exports without the asset class
    column — a row with neither symbol nor ISIN whose commission is charged in another
    currency than the trade's (``"SELL","","-8000","1.1173",...,"USD","-1.79924","CHF"``:
    8,000 USD sold for CHF). Counted as a currency conversion, not a trade."""
    asset_class = record.get("assetclass", "").strip().upper()
    if asset_class:
        return asset_class == "CASH"
    if record.get("symbol", "").strip() or record.get("isin", "").strip():
        return False
    currency = record.get("currencyprimary", "").strip().upper()
    commission_currency = record.get("ibcommissioncurrency", "").strip().upper()
    return bool(currency and commission_currency and currency != commission_currency)


class IbkrFlexCsvImporter(BrokerImporter):
    name = "ibkr_flex_csv"
    label = "Interactive Brokers Flex Query (CSV)"

    def __init__(self, synthesize_openings: bool = True) -> None:
        self.synthesize_openings = synthesize_openings

    def detect(self, sample: TableSample) -> float:
        if sample.kind == "xml" or not sample.header:
            return 0.0
        keys = {normalize_header(h) for h in sample.header}
        if not all(k in keys for k in _SIGNATURE):
            return 0.0
        return 0.9 if any(k in keys for k in _FLEX_ONLY) else 0.6

    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        header, rows = source.header_and_rows()
        index = HeaderIndex(header, self.name)
        for required in ("Buy/Sell", "Quantity", "TradePrice"):
            index.require(required)
        if index.find("Symbol", "ISIN") is None:
            raise MissingColumnError("Symbol", header, self.name)
        if index.find("DateTime", "Date/Time", "TradeDate") is None:
            raise MissingColumnError("DateTime", header, self.name)
        keys = [normalize_header(h) for h in header]
        tz = zone(settings.zone_name(self.default_timezone))
        level_pos = index.find("LevelOfDetail")
        closes: list[tuple[Execution, ClosingBasis | None]] = []
        bases = BaseCurrencies()  # the file is one statement

        def emit(number: int, cells: list[str]) -> Iterator[Execution | Rejection]:
            record = dict(zip(keys, cells, strict=False))
            if is_currency_conversion(record):
                tally.skip("currency_conversion", number)
                return
            bases.trade(
                next(
                    (v.strip() for k in ("accountid", "clientaccountid", "account")
                     if (v := record.get(k, "")).strip()),
                    settings.account,
                ),
                record.get("currencyprimary", "") or record.get("currency", ""),
                record.get("fxratetobase", ""),
            )
            item = self._one(number, record, cells, index, settings, tz)
            if isinstance(item, Execution) and self.synthesize_openings:
                closes.append((item, flex_closing_basis(record, item, tz, None)))
            else:
                yield item

        def trades() -> Iterator[tuple[int, str, list[str]]]:
            for number, cells in rows:
                if cells == header:
                    tally.rows_read += 1  # a repeated header: read, counted as skipped
                    tally.skip("header", number)
                    continue
                tally.rows_read += 1
                level = (
                    cells[level_pos].upper()
                    if level_pos is not None and level_pos < len(cells)
                    else "EXECUTION"
                )
                yield number, level, cells

        yield from flex_levels(trades(), emit, tally)
        bases.finish(tally)
        if closes:
            yield from with_synthetic_openings(closes)

    def _one(
        self,
        number: int,
        record: dict[str, str],
        cells: list[str],
        index: HeaderIndex,
        settings: ImportSettings,
        tz: tzinfo,
    ) -> Execution | Rejection:
        raw = index.raw(cells)
        try:
            return flex_execution(record, raw, number, settings, tz, self.name, settings.account)
        except RowError as err:
            return rejection(number, err, raw)
