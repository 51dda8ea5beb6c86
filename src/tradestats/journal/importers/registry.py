"""The list of presets and format auto-detection."""

from __future__ import annotations

from collections.abc import Sequence

from tradestats.journal.importers.base import (
    AmbiguousFormat,
    BrokerImporter,
    ImportFormatError,
    TableSample,
    UnknownFormat,
)
from tradestats.journal.importers.binance import BinanceFuturesImporter
from tradestats.journal.importers.bybit import BybitImporter
from tradestats.journal.importers.fidelity import FidelityImporter
from tradestats.journal.importers.generic import GenericImporter
from tradestats.journal.importers.hyperliquid import HyperliquidImporter
from tradestats.journal.importers.ibkr_activity import IbkrActivityImporter
from tradestats.journal.importers.ibkr_flex_csv import IbkrFlexCsvImporter
from tradestats.journal.importers.ibkr_flex_xml import IbkrFlexXmlImporter
from tradestats.journal.importers.ibkr_transactions import IbkrTransactionsImporter
from tradestats.journal.importers.metatrader5 import MetaTrader5Importer
from tradestats.journal.importers.robinhood import RobinhoodImporter
from tradestats.journal.importers.schwab import SchwabImporter
from tradestats.journal.importers.tastytrade import TastytradeImporter
from tradestats.journal.importers.thinkorswim import ThinkorswimImporter
from tradestats.journal.importers.tradezero import TradeZeroImporter
from tradestats.journal.importers.tradovate import TradovateImporter
from tradestats.journal.importers.webull import WebullImporter

#: Confidence below which a preset is not considered a match.
MIN_CONFIDENCE = 0.5

PRESETS: tuple[BrokerImporter, ...] = (
    IbkrFlexXmlImporter(),
    IbkrFlexCsvImporter(),
    IbkrActivityImporter(),
    IbkrTransactionsImporter(),
    TastytradeImporter(),
    HyperliquidImporter(),
    SchwabImporter(),
    FidelityImporter(),
    WebullImporter(),
    RobinhoodImporter(),
    BinanceFuturesImporter(),
    BybitImporter(),
    TradovateImporter(),
    ThinkorswimImporter(),
    TradeZeroImporter(),
    MetaTrader5Importer(),
    GenericImporter(),
)


def preset_names() -> list[str]:
    return [p.name for p in PRESETS]


def get_preset(name: str) -> BrokerImporter:
    for preset in PRESETS:
        if preset.name == name:
            return preset
    raise ImportFormatError(
        f"unknown broker preset {name!r}; presets: {', '.join(preset_names())}"
    )


def detect_preset(
    sample: TableSample, presets: Sequence[BrokerImporter] = PRESETS
) -> BrokerImporter:
    """The preset most confident about `sample`.

    Raises `AmbiguousFormat` when the best score is shared, `UnknownFormat` when no
    preset reaches `MIN_CONFIDENCE`.
    """
    scored = sorted(
        ((preset.detect(sample), i, preset) for i, preset in enumerate(presets)),
        key=lambda t: (-t[0], t[1]),
    )
    best_score = scored[0][0] if scored else 0.0
    if best_score < MIN_CONFIDENCE:
        raise UnknownFormat(sample.header, [p.name for p in presets])
    best = [preset for score, _, preset in scored if abs(score - best_score) < 1e-9]
    if len(best) > 1:
        raise AmbiguousFormat([p.name for p in best])
    return best[0]
