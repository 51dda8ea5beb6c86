"""Interactive Brokers Flex Query, XML format: one execution per ``<Trade>`` element.

Attributes used: accountId, assetCategory (STK, OPT, FUT, FOP, CASH), symbol,
underlyingSymbol, multiplier, putCall, strike, expiry, dateTime (or tradeDate +
tradeTime), buySell, quantity (signed), tradePrice, ibCommission (negative = cost),
currency, fxRateToBase, ibExecID / tradeID / transactionID, ibOrderID. Everything else
(openCloseIndicator, fifoPnlRealized, notes...) stays in `raw`.

Currencies: each fill keeps its ``currency`` and its ``fxRateToBase`` (base units per unit
of the trade's currency) as `Execution.fx_rate`. The statement's base currency is the
``currency`` of its ``<AccountInformation>`` when the query includes that section, else
the one currency whose trades have ``fxRateToBase="1"`` (IBKR gives exactly 1 to trades
in the base currency); it is reported for every account with trades in the statement
(`ParseTally.base_currencies`), and none when neither tells.

With ``levelOfDetail`` ORDER and EXECUTION rows both present only the executions count;
CLOSED_LOT rows never do. With ``synthesize_openings=True`` (on in the default preset),
a close (``openCloseIndicator`` C, not C;O) whose opening is not in the file gets one
synthetic opening for the quantity the file's own position does not cover (see
`opening_lots`), priced from the broker's ``cost`` minus the basis of the file's lots it
also closes, fees 0 (``cost`` includes the opening commission), dated at
``openDateTime`` when given, else at the statement's ``fromDate`` (a lower bound,
``open_time_known`` false), ``raw["synthetic"] == "closed_lot"``. CLOSED_LOT rows are
not used for this yet (no sample to verify their sign conventions against).

``<CorporateAction>`` records of type FS/RS (splits) become `CorporateAction`s that adjust
the open lots (see `ibkr_corporate_actions`); other types are counted by type.

The XML is read with expat, streaming, with DTDs and entity declarations refused (no
entity-expansion bombs, no external entities).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import TypeVar
from xml.parsers import expat

from tradestats.journal.importers.base import (
    BrokerImporter,
    ImportFormatError,
    ImportSettings,
    ParseTally,
    TableSample,
    normalize_header,
)
from tradestats.journal.importers.ibkr_corporate_actions import FlexCorporateActions
from tradestats.journal.importers.instruments import make_instrument
from tradestats.journal.importers.opening_lots import ClosingBasis, with_synthetic_openings
from tradestats.journal.importers.reading import SourceFile
from tradestats.journal.importers.tabular import rejection
from tradestats.journal.importers.values import (
    RowError,
    is_blank,
    midnight,
    parse_date,
    parse_decimal,
    parse_optional_decimal,
    parse_right,
    parse_side,
    parse_timestamp,
    zone,
)
from tradestats.journal.model import AssetClass, Execution, Rejection

_CATEGORIES = {
    "STK": AssetClass.STOCK,
    "OPT": AssetClass.OPTION,
    "FUT": AssetClass.FUTURE,
    "FOP": AssetClass.FUTURE_OPTION,
    "CASH": AssetClass.FOREX,
}
_CONTAINERS = frozenset({"FlexQueryResponse", "FlexStatements", "FlexStatement", "Trades"})
_CHUNK = 256 * 1024
R = TypeVar("R")


def _snake(tag: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", tag).lower()


def flex_execution(
    record: Mapping[str, str],
    raw: dict[str, str],
    number: int,
    settings: ImportSettings,
    tz: tzinfo,
    broker: str,
    default_account: str,
) -> Execution:
    """One Flex trade record (keys normalized: ``buysell``, ``tradeprice``...) to an
    `Execution`; raises `RowError`. Shared by the XML and CSV Flex presets."""

    def get(*keys: str) -> str:
        for key in keys:
            value = record.get(key)
            if value:
                return value.strip()
        return ""

    category = get("assetcategory", "assetclass")
    if category:
        asset_class = _CATEGORIES.get(category.upper())
        if asset_class is None:
            raise RowError("assetCategory", f"assetCategory: unsupported {category!r}")
    else:
        asset_class = AssetClass.STOCK  # Flex CSVs without the column list securities

    stamp = get("datetime")
    if stamp:
        timestamp = parse_timestamp(stamp, "dateTime", tz)
    else:
        day = get("tradedate")
        if not day:
            raise RowError("dateTime", "dateTime: no dateTime or tradeDate")
        time_text = get("tradetime")
        if time_text:
            timestamp = parse_timestamp(f"{day};{time_text}", "tradeTime", tz)
        else:
            timestamp = midnight(parse_date(day, "tradeDate"), tz)

    side = parse_side(get("buysell"), "buySell")
    quantity = abs(parse_decimal(get("quantity"), "quantity"))
    if quantity == 0:
        raise RowError("quantity", "quantity: quantity is zero")
    price = parse_decimal(get("tradeprice", "price"), "tradePrice")
    if price < 0 and asset_class is not AssetClass.FUTURE_OPTION:
        raise RowError("tradePrice", f"tradePrice: negative price {price}")
    commission = parse_optional_decimal(get("ibcommission", "commission"), "ibCommission")
    fees = -commission if commission is not None else Decimal(0)

    symbol = get("symbol") or get("isin")
    if not symbol:
        raise RowError("symbol", "symbol: no symbol (or ISIN) on this trade")
    expiry = strike = right = None
    if asset_class in (AssetClass.OPTION, AssetClass.FUTURE_OPTION, AssetClass.FUTURE):
        if not is_blank(text := get("expiry")):
            expiry = parse_date(text, "expiry")
        if not is_blank(text := get("strike")):
            strike = parse_decimal(text, "strike")
        if not is_blank(text := get("putcall")):
            right = parse_right(text, "putCall")
    multiplier = parse_optional_decimal(get("multiplier"), "multiplier")
    instrument = make_instrument(
        asset_class,
        symbol,
        underlying=get("underlyingsymbol"),
        expiry=expiry,
        strike=strike,
        right=right,
        multiplier=multiplier,
        currency=get("currency", "currencyprimary").upper() or "USD",
        overrides=settings.multipliers,
    )
    fx_rate = parse_optional_decimal(get("fxratetobase"), "fxRateToBase")
    if fx_rate is not None and fx_rate <= 0:
        raise RowError("fxRateToBase", f"fxRateToBase: {fx_rate} is not positive")
    return Execution(
        account=get("accountid", "clientaccountid", "account") or default_account,
        instrument=instrument,
        timestamp=timestamp,
        side=side,
        quantity=quantity,
        price=price,
        fees=fees,
        broker=broker,
        broker_execution_id=get("ibexecid", "tradeid", "transactionid") or None,
        order_id=get("iborderid", "orderid") or None,
        row=number,
        raw=raw,
        fx_rate=fx_rate,
    )


class BaseCurrencies:
    """The base currency of one statement, from what its records say (see the module
    doc): `stated` from an account-information record, else the single currency of the
    trades with an FX rate of exactly 1. `finish` reports it for the statement's
    accounts into the tally."""

    def __init__(self) -> None:
        self.stated = ""
        self.ones: set[str] = set()
        self.accounts: set[str] = set()

    def trade(self, account: str, currency: str, rate_text: str) -> None:
        self.accounts.add(account)
        try:
            one = Decimal(rate_text.strip()) == 1
        except InvalidOperation:
            one = False
        if one:
            self.ones.add(currency.strip().upper())

    def finish(self, tally: ParseTally) -> None:
        base = self.stated.strip().upper() or (
            next(iter(self.ones)) if len(self.ones) == 1 else ""
        )
        if base:
            for account in self.accounts:
                tally.base_currencies[account] = base
        self.stated = ""
        self.ones = set()
        self.accounts = set()


def flex_closing_basis(
    record: Mapping[str, str],
    execution: Execution,
    tz: tzinfo,
    statement_start: datetime | None,
) -> ClosingBasis | None:
    """What a Flex trade record (normalized keys) says its close consumed: the
    unsigned ``cost`` for a pure close (openCloseIndicator C), else None."""
    indicator = record.get("opencloseindicator", "")
    codes = {c.strip().upper() for c in indicator.split(";")}
    cost_text = record.get("cost", "")
    if "C" not in codes or "O" in codes or is_blank(cost_text):
        return None
    try:
        basis = abs(parse_decimal(cost_text, "cost"))
        open_text = record.get("opendatetime", "")
        opened = None if is_blank(open_text) else parse_timestamp(open_text, "openDateTime", tz)
    except RowError:
        return None
    if opened is not None:
        return ClosingBasis(
            quantity=execution.quantity,
            basis=basis,
            opened=opened,
            open_time_known=True,
            source="cost",
        )
    return ClosingBasis(
        quantity=execution.quantity,
        basis=basis,
        source="cost",
        opened=statement_start if statement_start is not None else execution.timestamp,
    )


def flex_levels(
    records: Iterable[tuple[int, str, R]],
    emit: Callable[[int, R], Iterator[Execution | Rejection]],
    tally: ParseTally,
) -> Iterator[Execution | Rejection]:
    """Apply the Flex "level of detail" rule to ``(number, LEVEL, record)`` items.

    EXECUTION rows are the fills; CLOSED_LOT rows are lot detail (skipped); ORDER rows
    summarize executions and are used only when the report lists no executions at all.
    """
    orders: list[tuple[int, R]] = []
    saw_execution_level = False
    for number, level, record in records:
        if level == "CLOSED_LOT":
            tally.skip("closed_lot", number)
            continue
        if level == "ORDER":
            orders.append((number, record))  # used only if no executions are listed
            continue
        saw_execution_level = True
        yield from emit(number, record)
    for number, record in orders:
        if saw_execution_level:
            tally.skip("order_summary", number)
        else:
            yield from emit(number, record)


class IbkrFlexXmlImporter(BrokerImporter):
    name = "ibkr_flex_xml"
    label = "Interactive Brokers Flex Query (XML)"

    def __init__(self, synthesize_openings: bool = True) -> None:
        self.synthesize_openings = synthesize_openings

    def detect(self, sample: TableSample) -> float:
        if sample.kind != "xml":
            return 0.0
        if "<FlexQueryResponse" in sample.text or "<FlexStatement" in sample.text:
            return 0.95
        return 0.0

    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        tz = zone(settings.zone_name(self.default_timezone))
        statement_account = settings.account
        statement_start: datetime | None = None
        closes: list[tuple[Execution, ClosingBasis | None]] = []
        bases = BaseCurrencies()
        corporate = FlexCorporateActions(self.name, settings, tz)

        def emit(number: int, attrs: dict[str, str]) -> Iterator[Execution | Rejection]:
            record = {normalize_header(k): v for k, v in attrs.items()}
            item = self._one(number, record, attrs, settings, tz, statement_account)
            if isinstance(item, Execution) and self.synthesize_openings:
                closes.append((item, flex_closing_basis(record, item, tz, statement_start)))
            else:
                yield item

        def trades() -> Iterator[tuple[int, str, dict[str, str]]]:
            # Lazy: a FlexStatement's account and start date apply to the trades after it.
            nonlocal statement_account, statement_start
            for number, tag, attrs in _elements(source):
                if tag == "FlexStatement":
                    bases.finish(tally)
                    statement_account = attrs.get("accountId") or settings.account
                    start = attrs.get("fromDate", "")
                    try:
                        statement_start = midnight(parse_date(start, "fromDate"), tz)
                    except RowError:
                        statement_start = None
                    continue
                if tag in _CONTAINERS:
                    continue
                if tag == "AccountInformation" and attrs.get("currency"):
                    bases.stated = attrs["currency"]
                if tag == "CorporateAction" and attrs:
                    tally.rows_read += 1  # splits adjust lots; other types by kind
                    corporate.add(number, attrs, statement_account, tally)
                    continue
                if tag != "Trade":
                    if attrs:
                        tally.rows_read += 1  # a record looked at, counted by kind
                        tally.skip(_snake(tag), number)
                    continue
                tally.rows_read += 1
                bases.trade(
                    attrs.get("accountId") or statement_account,
                    attrs.get("currency", ""),
                    attrs.get("fxRateToBase", ""),
                )
                yield number, attrs.get("levelOfDetail", "EXECUTION").upper(), attrs

        yield from flex_levels(trades(), emit, tally)
        yield from corporate.finish(tally)
        bases.finish(tally)
        if closes:
            yield from with_synthetic_openings(closes, tally.corporate_actions)

    def _one(
        self,
        number: int,
        record: dict[str, str],
        attrs: dict[str, str],
        settings: ImportSettings,
        tz: tzinfo,
        account: str,
    ) -> Execution | Rejection:
        try:
            return flex_execution(record, attrs, number, settings, tz, self.name, account)
        except RowError as err:
            return rejection(number, err, attrs)


def _elements(source: SourceFile) -> Iterator[tuple[int, str, dict[str, str]]]:
    """Stream ``(line, tag, attributes)`` for every element start, refusing DTDs."""
    found: list[tuple[int, str, dict[str, str]]] = []
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def start(tag: str, attrs: dict[str, str]) -> None:
        found.append((parser.CurrentLineNumber, tag, attrs))

    def refuse(*_: object) -> None:
        raise ImportFormatError(
            f"{source.filename}: XML with a DTD or entity declarations is not accepted"
        )

    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    with source.open_binary() as fh:
        try:
            while chunk := fh.read(_CHUNK):
                parser.Parse(chunk, False)
                yield from found
                found.clear()
            parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise ImportFormatError(
                f"{source.filename}: malformed XML at line {exc.lineno}: "
                f"{expat.ErrorString(exc.code)}"
            ) from None
    yield from found
