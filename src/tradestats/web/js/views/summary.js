// @ts-check
/**
 * Summary: KPI cards, the equity curve with drawdown underneath, monthly P&L bars and the
 * daily P&L calendar (click a day → its trades). Numbers come from `/api/stats`,
 * `/api/stats/equity` and `/api/stats/calendar` with the shared filters; the UI computes
 * no statistic itself (one definition of each, server-side).
 */
import { card, el, emptyState, renderInto } from '../ui/dom.js';
import { calendarLayout, renderCalendar } from '../ui/calendar.js';
import { drawChart, equityFigure, loadPlotly, pnlBarFigure, purgeChart } from '../ui/plotly.js';
import { renderTable } from '../ui/table.js';
import { formatCount, formatDuration, formatMoney, formatPercent, formatRatio, signClass } from '../format.js';
import { LoadScope, fetchBody, statsParams, tradeColumns, tradesParams, viewHeader } from './common.js';
import { buildHash } from '../router.js';

/**
 * @typedef {object} Kpi
 * @property {string} label
 * @property {string} value
 * @property {string} [sub]
 * @property {string} [tone]    pos | neg | zero
 * @property {string} [title]   the definition
 */

/**
 * KPI cards from a `/api/stats` body (pure; unit-tested).
 * @param {any} stats
 * @returns {Kpi[]}
 */
export function kpiCards(stats) {
  const k = stats.kpis ?? {};
  const d = stats.daily ?? {};
  const basis = stats.basis === 'gross' ? 'gross' : 'net';
  const ccy = typeof stats.currency === 'string' ? stats.currency : '';
  const tag = basis === 'gross' ? ' (gross)' : '';
  const dd = typeof d.max_drawdown === 'number' ? -Math.abs(d.max_drawdown) : null;
  const ddDates = d.max_drawdown_peak && d.max_drawdown_trough ? `${d.max_drawdown_peak} → ${d.max_drawdown_trough}` : '';
  return [
    { label: 'Net P&L', value: formatMoney(k.net_pnl, { signed: true }), tone: signClass(k.net_pnl), sub: `Gross ${formatMoney(k.gross_pnl, { signed: true })}${ccy ? ` · ${ccy}` : ''}`, title: ccy ? `Net = gross − fees, in the account's base currency (${ccy})` : 'Net = gross − fees' },
    { label: `Win rate${tag}`, value: formatPercent(k.win_rate), sub: `${formatCount(k.wins)} W · ${formatCount(k.losses)} L · ${formatCount(k.breakevens)} BE`, title: 'wins / (wins + losses); breakevens (|P&L| ≤ 0.005) counted apart' },
    { label: `Profit factor${tag}`, value: formatRatio(k.profit_factor), sub: `${formatMoney(k.gross_profit, { digits: 0 })} / ${formatMoney(Math.abs(k.gross_loss ?? 0), { digits: 0 })}`, title: 'gross profit / |gross loss|' },
    { label: `Expectancy${tag}`, value: formatMoney(k.expectancy, { signed: true }), tone: signClass(k.expectancy), sub: `per trade · ${formatCount(k.count)} trades`, title: 'mean P&L per trade' },
    { label: `Max drawdown${tag}`, value: formatMoney(dd), tone: dd ? 'neg' : '', sub: [formatPercent(d.max_drawdown_pct), ddDates].filter((s) => s && s !== '–').join(' · '), title: `largest fall of equity below its running peak, over a starting capital of ${formatMoney(d.starting_capital, { digits: 0 })}` },
    { label: `Sharpe${tag}`, value: formatRatio(d.sharpe), sub: `Sortino ${formatRatio(d.sortino)} · ×√${d.annualization ?? 252}`, title: `daily P&L returns, annualized with ${d.annualization ?? 252} periods per year` },
    { label: 'Fees', value: formatMoney(k.fees), sub: `${formatPercent(k.fees_pct_of_gross)} of gross P&L turnover`, title: 'commissions and exchange fees, allocated pro rata to each round trip' },
    { label: 'Holding time', value: formatDuration(k.median_holding_seconds), sub: `median · mean ${formatDuration(k.average_holding_seconds)}` },
  ];
}

/** @param {Kpi[]} kpis */
function renderKpis(kpis) {
  return el(
    'div',
    { className: 'kpis', dataset: { testid: 'kpis' } },
    kpis.map((kpi) =>
      el('div', { className: 'kpi', attrs: { title: kpi.title } }, el('div', { className: 'kpi-label' }, kpi.label), el('div', { className: `kpi-value ${kpi.tone ?? ''}`.trim() }, kpi.value), kpi.sub ? el('div', { className: 'kpi-sub muted' }, kpi.sub) : null),
    ),
  );
}

/**
 * Monthly bars from the `month` breakdown, in the chosen basis.
 * @param {any} stats
 */
export function monthlyRows(stats) {
  const key = stats.basis === 'gross' ? 'gross_pnl' : 'net_pnl';
  return (stats.breakdowns?.month ?? []).map((/** @type {any} */ row) => ({ key: String(row.key), value: Number(row[key]) }));
}

/**
 * @param {import('./common.js').ViewContext} ctx
 * @returns {import('./common.js').ViewInstance}
 */
export function mount(ctx) {
  const scope = new LoadScope();
  const kpiRegion = el('div', { className: 'region' });
  const equityRegion = el('div', { className: 'region chart-region', dataset: { testid: 'equity' } });
  const monthlyRegion = el('div', { className: 'region chart-region' });
  const calendarRegion = el('div', { className: 'region' });
  const dayRegion = el('div', { className: 'region', attrs: { 'aria-live': 'polite' } });
  /** @type {string | null} */
  let selectedDay = null;
  /** @type {any} */
  let lastCalendar = null;
  const basis = ctx.filters.basis === 'gross' ? 'gross' : 'net';

  ctx.root.replaceChildren(
    viewHeader(ctx, 'Summary'),
    kpiRegion,
    el('div', { className: 'grid-2' }, card(`Equity and drawdown (${basis})`, equityRegion), card(`Monthly P&L (${basis})`, monthlyRegion)),
    card(`Daily P&L (${basis})`, el('p', { className: 'muted small' }, 'Click a day to list its trades.'), calendarRegion, dayRegion),
  );

  /**
   * @param {HTMLElement} region
   * @param {import('../ui/plotly.js').Figure | null} figure
   * @param {string} emptyText
   */
  async function chart(region, figure, emptyText) {
    const existing = /** @type {HTMLElement | null} */ (region.querySelector('.chart'));
    if (!figure) {
      if (existing) purgeChart(existing);
      return emptyState(emptyText);
    }
    await loadPlotly();
    // Redraw in place on refresh (Plotly.react), so the old chart's listeners are reused.
    const plot = existing ?? el('div', { className: 'chart' });
    if (!existing) region.replaceChildren(plot);
    await drawChart(plot, figure);
    return plot;
  }

  function drawCalendar() {
    const months = calendarLayout(lastCalendar?.days ?? []);
    if (months.length === 0) return emptyState('No closed trades in this range.');
    return renderCalendar(months, { selected: selectedDay, onSelect: selectDay });
  }

  /** @param {string} date */
  function selectDay(date) {
    selectedDay = date;
    calendarRegion.replaceChildren(drawCalendar());
    void loadDay(date);
  }

  /** @param {string} date */
  function loadDay(date) {
    const signal = dayScope.next();
    const params = { ...tradesParams(ctx), start: date, end: date, sort: 'exit_time', order: 'asc', limit: 500 };
    return renderInto(dayRegion, async () => {
      const page = await fetchBody(ctx, '/api/trades', params, signal);
      const more = page.total > page.items.length ? el('p', { className: 'muted small' }, `Showing ${page.items.length} of ${page.total}.`) : null;
      const open = el('a', { attrs: { href: buildHash('trades', null, { ...ctx.route.query, start: date, end: date, offset: null, trade: null }) } }, 'Open in Trades');
      const heading = el('h3', null, `Trades closed on ${date} `, el('span', { className: 'muted small' }, `(${formatCount(page.total)})`), ' ', open);
      if (page.items.length === 0) return [heading, emptyState('No trades closed that day.')];
      const table = renderTable({
        columns: tradeColumns(ctx.filters.tz || ctx.zone),
        rows: page.items,
        label: `Trades closed on ${date}`,
        onRowClick: (trade) => ctx.navigate(buildHash('trades', null, { ...ctx.route.query, start: date, end: date, offset: null, trade: trade.id })),
      });
      return [heading, el('div', { className: 'table-wrap' }, table), more].filter((n) => n !== null);
    }, { context: `Trades on ${date}` });
  }
  const dayScope = new LoadScope();

  function refresh() {
    const signal = scope.next();
    const params = statsParams(ctx);
    const stats = fetchBody(ctx, '/api/stats', params, signal);
    const equity = fetchBody(ctx, '/api/stats/equity', params, signal);
    const calendar = fetchBody(ctx, '/api/stats/calendar', params, signal);
    // The panels share these requests: "Try again" must refetch (refresh), not re-await them.
    void renderInto(kpiRegion, async () => {
      const body = await stats;
      if (!body.kpis?.count) return emptyState('No closed trades match these filters.', el('a', { attrs: { href: '#import' } }, 'Import a broker export'));
      return renderKpis(kpiCards(body));
    }, { context: 'Statistics', keepContent: true, retry: refresh });
    void renderInto(equityRegion, async () => {
      const body = await equity;
      await stats.catch(() => null); // the KPI cards first: loading the chart library blocks the page a moment
      return chart(equityRegion, body.points?.length ? equityFigure(body.points, body.basis) : null, 'No equity curve: no closed trades.');
    }, { context: 'Equity curve', keepContent: true, retry: refresh });
    void renderInto(monthlyRegion, async () => {
      const rows = monthlyRows(await stats);
      return chart(monthlyRegion, rows.length ? pnlBarFigure(rows, { label: `P&L (${basis})` }) : null, 'No monthly P&L yet.');
    }, { context: 'Monthly P&L', keepContent: true, retry: refresh });
    void renderInto(calendarRegion, async () => {
      lastCalendar = await calendar;
      return drawCalendar();
    }, { context: 'Calendar', keepContent: true, retry: refresh });
    if (selectedDay) void loadDay(selectedDay);
  }

  refresh();
  return {
    refresh,
    destroy() {
      scope.destroy();
      dayScope.destroy();
      for (const plot of Array.from(ctx.root.querySelectorAll('.chart'))) purgeChart(/** @type {HTMLElement} */ (plot));
    },
  };
}
