// @ts-check
/**
 * What every view receives and returns, and helpers they share. A view module exports
 * `mount(ctx)`, renders into `ctx.root`, and returns `{refresh, destroy}`: `refresh` is
 * called when the HealthMonitor reports `recovered` (refetch without losing local state
 * such as an open editor), `destroy` when the route changes (abort requests, purge charts).
 */
import { toSearch, apiParams } from '../router.js';
import { el } from '../ui/dom.js';
import { demoBadge } from '../ui/connection.js';
import { formatDateTime, formatDecimal, formatDuration, formatKey, formatMoney, formatRatio, signClass } from '../format.js';

/**
 * @typedef {object} AccountInfo
 * @property {string} name
 * @property {string} baseCurrency
 * @property {string} lotMethod
 * @property {boolean} demo
 */

/**
 * @typedef {object} Thresholds   the screener verdict's (see options/verdict.py)
 * @property {number} min_avg_volume
 * @property {number} min_iv30_rv30
 * @property {number} max_slope
 */

/**
 * @typedef {object} UserSettings   `GET /api/settings`
 * @property {string | null} timezone   null: the browser's zone
 * @property {number} capital
 * @property {Thresholds} thresholds
 * @property {string} [marketData]      read-only: demo | yahoo
 * @property {string} [marketFallback]  read-only: none | demo
 * @property {{timezone: string | null, capital: number, thresholds: Thresholds}} [defaults]
 * @property {string | null} [updatedAt]
 */

/**
 * @typedef {object} ViewContext
 * @property {HTMLElement} root
 * @property {import('../router.js').Route} route
 * @property {import('../router.js').Filters} filters
 * @property {import('../api/client.js').ApiClient} client
 * @property {string} zone                 the default `tz`: the saved setting, else the viewer's zone
 * @property {AccountInfo[]} accounts      as last loaded (may be empty while offline)
 * @property {UserSettings | null} [settings]   as last loaded (null until then / while offline)
 * @property {(settings: UserSettings) => void} [applySettings]   after the Settings view saved them
 * @property {(changes: Record<string, string | null>) => void} setQuery   update the hash query
 * @property {(hash: string) => void} navigate
 */

/** @typedef {{refresh: () => void, destroy: () => void}} ViewInstance */

/**
 * `path?query` from params (empty values dropped).
 * @param {string} path
 * @param {Record<string, string | number | boolean | null | undefined>} [params]
 */
export function withParams(path, params = {}) {
  const search = toSearch(params);
  return search ? `${path}?${search}` : path;
}

/**
 * GET JSON through the ApiClient and return the body.
 * @param {ViewContext} ctx
 * @param {string} path
 * @param {Record<string, string | number | null | undefined>} [params]
 * @param {AbortSignal} [signal]
 * @returns {Promise<any>}
 */
export async function fetchBody(ctx, path, params, signal) {
  const response = await ctx.client.getJson(withParams(path, params), { signal });
  return response.body;
}

/**
 * Stats query for the current filters.
 * @param {ViewContext} ctx
 */
export function statsParams(ctx) {
  return apiParams(ctx.filters, 'stats', ctx.zone, ctx.settings?.capital ?? null);
}

/**
 * Trades query for the current filters.
 * @param {ViewContext} ctx
 */
export function tradesParams(ctx) {
  return apiParams(ctx.filters, 'trades', ctx.zone);
}

/**
 * Is what this view shows demo data? True when the filtered account is a demo account,
 * or when no account is chosen and any account is one.
 * @param {import('../router.js').Filters} filters
 * @param {readonly AccountInfo[]} accounts
 */
export function showsDemo(filters, accounts) {
  if (filters.account) return accounts.some((a) => a.name === filters.account && a.demo);
  return accounts.some((a) => a.demo);
}

/**
 * The view heading, with the "Demo account" badge when it shows demo data and a line
 * saying which filters apply.
 * @param {ViewContext} ctx
 * @param {string} title
 * @param {...(Node | string)} extra
 */
export function viewHeader(ctx, title, ...extra) {
  const header = el('div', { className: 'view-header' }, el('h2', null, title));
  if (showsDemo(ctx.filters, ctx.accounts)) {
    header.append(demoBadge(ctx.filters.account ? 'Demo account' : 'Includes demo account'));
  }
  const summary = describeFilters(ctx.filters, ctx.zone);
  header.append(el('span', { className: 'muted filter-summary' }, summary), ...extra);
  return header;
}

/**
 * "All trades · net · days in Europe/Berlin" / "SPY · long · 2026-06-01 → 2026-06-30 · gross".
 * @param {import('../router.js').Filters} f
 * @param {string} zone
 */
export function describeFilters(f, zone) {
  const parts = [];
  if (f.account) parts.push(`account ${f.account}`);
  if (f.symbol) parts.push(f.symbol);
  if (f.side) parts.push(f.side);
  if (f.asset_class) parts.push(f.asset_class.replace('_', ' '));
  if (f.tag) parts.push(`tag ${f.tag}`);
  if (f.start || f.end) parts.push(`${f.start ?? '…'} → ${f.end ?? '…'}`);
  if (parts.length === 0) parts.push('All trades');
  parts.push(f.basis === 'gross' ? 'gross P&L' : 'net P&L');
  parts.push(`days in ${f.tz || zone}`);
  return parts.join(' · ');
}

/**
 * One AbortController per load; starting a new load cancels the previous one.
 */
export class LoadScope {
  constructor() {
    /** @type {AbortController | null} */
    this.controller = null;
    this.destroyed = false;
  }

  /** @returns {AbortSignal} a signal for a new load; aborts the previous load's */
  next() {
    this.controller?.abort();
    this.controller = new AbortController();
    if (this.destroyed) this.controller.abort();
    return this.controller.signal;
  }

  destroy() {
    this.destroyed = true;
    this.controller?.abort();
  }
}

/**
 * @typedef {object} Trade   one round trip as `/api/trades` sends it
 * @property {string} id
 * @property {string} account
 * @property {string} symbol
 * @property {string} underlying
 * @property {string} assetClass
 * @property {string} direction
 * @property {string} entryTime
 * @property {string} exitTime
 * @property {string} quantity
 * @property {string} entryPrice
 * @property {string} exitPrice
 * @property {string} multiplier
 * @property {number} grossPnl
 * @property {number} fees
 * @property {number} netPnl
 * @property {number} holdingSeconds
 * @property {number} executions
 * @property {number | null} risk
 * @property {number | null} rMultiple
 * @property {string[]} tags
 * @property {string} notes
 */

/**
 * Round-trip table columns. `sortKey` names the `/api/trades` sort parameter for the
 * columns the server can sort by.
 * @param {string} zone
 * @returns {(import('../ui/table.js').Column<Trade> & {sortKey?: string})[]}
 */
export function tradeColumns(zone) {
  const money = (/** @type {(t: Trade) => number} */ get) => (/** @type {Trade} */ t) => formatMoney(get(t));
  return [
    { key: 'exitTime', sortKey: 'exit_time', label: 'Closed', format: (t) => formatDateTime(t.exitTime, zone) },
    { key: 'entryTime', sortKey: 'entry_time', label: 'Opened', format: (t) => formatDateTime(t.entryTime, zone) },
    { key: 'symbol', sortKey: 'symbol', label: 'Symbol', format: (t) => el('span', { attrs: { title: `${t.account} · ${formatKey(t.assetClass)}` } }, t.symbol) },
    { key: 'direction', label: 'Side', sortable: false },
    { key: 'quantity', sortKey: 'quantity', label: 'Qty', numeric: true, format: (t) => formatDecimal(t.quantity) },
    { key: 'entryPrice', label: 'Entry', numeric: true, sortable: false, format: (t) => formatDecimal(t.entryPrice) },
    { key: 'exitPrice', label: 'Exit', numeric: true, sortable: false, format: (t) => formatDecimal(t.exitPrice) },
    { key: 'grossPnl', label: 'Gross', numeric: true, sortable: false, format: money((t) => t.grossPnl), cellClass: (t) => signClass(t.grossPnl) },
    { key: 'fees', label: 'Fees', numeric: true, sortable: false, format: money((t) => t.fees) },
    { key: 'netPnl', sortKey: 'net_pnl', label: 'Net', numeric: true, format: money((t) => t.netPnl), cellClass: (t) => signClass(t.netPnl) },
    { key: 'rMultiple', label: 'R', numeric: true, sortable: false, format: (t) => formatRatio(t.rMultiple), title: 'net P&L / risk, when risk is set' },
    { key: 'holdingSeconds', sortKey: 'holding_seconds', label: 'Held', numeric: true, format: (t) => formatDuration(t.holdingSeconds) },
    { key: 'tags', label: 'Tags', sortable: false, format: (t) => el('span', { className: 'tags' }, t.tags.map((tag) => el('span', { className: 'tag' }, tag))) },
  ];
}
