// @ts-check
/**
 * Performance: P&L broken down by symbol, asset class, side, weekday, hour, holding time
 * and tag (and account, when there are several). Each breakdown is a bar chart and a
 * sortable table of the same rows from the same `/api/stats` response, so the chart and
 * the table cannot disagree. Below them, multi-leg strategy positions (legs opened
 * together count as one trade) by strategy type and by underlying, from
 * `/api/stats/strategies`.
 */
import { card, el, emptyState, errorState, renderInto } from '../ui/dom.js';
import { SortableTable } from '../ui/table.js';
import { drawChart, loadPlotly, pnlBarFigure, purgeChart } from '../ui/plotly.js';
import { formatCount, formatKey, formatMoney, formatPercent, formatRatio, signClass } from '../format.js';
import { LoadScope, fetchBody, statsParams, viewHeader } from './common.js';

/**
 * @typedef {object} BreakdownRow
 * @property {string} key
 * @property {number} count
 * @property {number} wins
 * @property {number} losses
 * @property {number} breakevens
 * @property {number} win_rate
 * @property {number} net_pnl
 * @property {number} gross_pnl
 * @property {number} fees
 * @property {number | null} profit_factor
 * @property {number} expectancy
 */

/** The breakdowns shown, in order, with how their chart is drawn. */
export const BREAKDOWNS = [
  { key: 'symbol', title: 'By symbol', horizontal: true },
  { key: 'asset_class', title: 'By asset class', horizontal: true },
  { key: 'side', title: 'By side' },
  { key: 'weekday', title: 'By weekday' },
  { key: 'hour', title: 'By hour of entry' },
  { key: 'holding_time', title: 'By holding time' },
  { key: 'tag', title: 'By tag', horizontal: true },
  { key: 'account', title: 'By account', horizontal: true, onlyIfSeveral: true },
];

/**
 * Chart rows for a breakdown: the P&L column of the chosen basis — the same number the
 * table shows in that column.
 * @param {readonly BreakdownRow[]} rows
 * @param {'net' | 'gross'} basis
 */
export function chartRows(rows, basis) {
  return rows.map((row) => ({ key: formatKey(String(row.key)), value: basis === 'gross' ? row.gross_pnl : row.net_pnl }));
}

/**
 * @param {'net' | 'gross'} basis
 * @returns {import('../ui/table.js').Column<BreakdownRow>[]}
 */
export function breakdownColumns(basis) {
  const suffix = basis === 'gross' ? ' (gross)' : '';
  return [
    { key: 'key', label: 'Group', format: (r) => formatKey(String(r.key)) },
    { key: 'count', label: 'Trades', numeric: true, format: (r) => formatCount(r.count) },
    { key: 'win_rate', label: `Win rate${suffix}`, numeric: true, format: (r) => formatPercent(r.win_rate), title: 'wins / (wins + losses)' },
    { key: 'net_pnl', label: 'Net P&L', numeric: true, format: (r) => formatMoney(r.net_pnl), cellClass: (r) => signClass(r.net_pnl) },
    { key: 'gross_pnl', label: 'Gross P&L', numeric: true, format: (r) => formatMoney(r.gross_pnl), cellClass: (r) => signClass(r.gross_pnl) },
    { key: 'fees', label: 'Fees', numeric: true, format: (r) => formatMoney(r.fees) },
    { key: 'profit_factor', label: `Profit factor${suffix}`, numeric: true, format: (r) => formatRatio(r.profit_factor), title: 'gross profit / |gross loss|; – when there is no loss' },
    { key: 'expectancy', label: `Expectancy${suffix}`, numeric: true, format: (r) => formatMoney(r.expectancy), cellClass: (r) => signClass(r.expectancy), title: 'mean P&L per trade' },
  ];
}

/** The strategy breakdowns shown, in order. */
export const STRATEGY_BREAKDOWNS = [
  { key: 'byStrategy', title: 'Strategies', group: 'Strategy' },
  { key: 'byUnderlying', title: 'Strategies by underlying', group: 'Underlying' },
];

/**
 * A strategy kind as words: `call_debit_vertical` -> "Call debit vertical".
 * @param {string} kind
 */
export function strategyLabel(kind) {
  const words = kind.replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * Query of `/api/stats/strategies`: the stats filters without `capital`, which only
 * the daily statistics use (the endpoint refuses unknown parameters).
 * @param {import('./common.js').ViewContext} ctx
 */
export function strategyParams(ctx) {
  const { capital: _capital, ...params } = statsParams(ctx);
  return params;
}

/**
 * Cards of the strategy breakdowns: a sortable table per grouping, same columns as the
 * other breakdowns (one row = one group of positions).
 * @param {{byStrategy?: BreakdownRow[], byUnderlying?: BreakdownRow[]}} body
 * @param {'net' | 'gross'} basis
 */
export function strategyCards(body, basis) {
  const cards = [];
  for (const spec of STRATEGY_BREAKDOWNS) {
    /** @type {BreakdownRow[]} */
    const rows = body[/** @type {'byStrategy' | 'byUnderlying'} */ (spec.key)] ?? [];
    if (rows.length === 0) continue;
    const name = spec.key === 'byStrategy' ? strategyLabel : String;
    const columns = breakdownColumns(basis).map((c) => {
      if (c.key === 'key') return { ...c, label: spec.group, format: (/** @type {BreakdownRow} */ r) => name(String(r.key)) };
      return c.key === 'count' ? { ...c, label: 'Positions' } : c;
    });
    const table = new SortableTable({ columns, rows, sort: null, label: `P&L ${spec.title.toLowerCase()}` });
    cards.push(card(spec.title, table.element));
  }
  return cards;
}

/**
 * @param {import('./common.js').ViewContext} ctx
 * @returns {import('./common.js').ViewInstance}
 */
export function mount(ctx) {
  const scope = new LoadScope();
  const basis = ctx.filters.basis === 'gross' ? 'gross' : 'net';
  const body = el('div', { className: 'region' });
  const strategies = el('div', { className: 'region' });
  ctx.root.replaceChildren(viewHeader(ctx, 'Performance'), body, strategies);

  function purgeAll() {
    for (const plot of Array.from(body.querySelectorAll('.chart'))) purgeChart(/** @type {HTMLElement} */ (plot));
  }

  function refresh() {
    const signal = scope.next();
    void renderInto(body, async () => {
      const stats = await fetchBody(ctx, '/api/stats', statsParams(ctx), signal);
      // The tables do not need Plotly: if it cannot load, show them and say so per chart.
      /** @type {unknown} */
      let chartError = null;
      await loadPlotly().catch((/** @type {unknown} */ error) => {
        chartError = error;
      });
      purgeAll();
      if (!stats.kpis?.count) return emptyState('No closed trades match these filters.');
      const cards = [];
      /** @type {[HTMLElement, import('../ui/plotly.js').Figure][]} */
      const charts = [];
      for (const spec of BREAKDOWNS) {
        /** @type {BreakdownRow[]} */
        const rows = stats.breakdowns?.[spec.key] ?? [];
        if (rows.length === 0 || (spec.onlyIfSeveral && rows.length < 2)) continue;
        const plot = chartError ? errorState(chartError, { context: 'Chart' }) : el('div', { className: spec.horizontal ? 'chart chart-tall' : 'chart' });
        if (!chartError) charts.push([plot, pnlBarFigure(chartRows(rows, basis), { label: `P&L (${basis})`, horizontal: spec.horizontal })]);
        const table = new SortableTable({ columns: breakdownColumns(basis), rows, sort: null, label: `P&L ${spec.title.toLowerCase()}` });
        cards.push(card(spec.title, el('div', { className: 'breakdown' }, plot, table.element)));
      }
      // Charts are drawn once their containers are in the page (Plotly measures them).
      body.replaceChildren(...cards);
      await Promise.all(charts.map(([plot, figure]) => drawChart(plot, figure)));
      return cards;
    }, { context: 'Breakdowns' });
    void renderInto(strategies, async () => {
      const stats = await fetchBody(ctx, '/api/stats/strategies', strategyParams(ctx), signal);
      if (!stats.total?.count) return [];
      return strategyCards(stats, basis);
    }, { context: 'Strategies' });
  }

  refresh();
  return {
    refresh,
    destroy() {
      scope.destroy();
      purgeAll();
    },
  };
}
