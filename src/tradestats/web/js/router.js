// @ts-check
/**
 * The hash router: `#view[/param][?query]`, e.g. `#trades?symbol=SPY&sort=net_pnl`,
 * `#ticker/AAPL`. Everything a view shows is determined by the hash (view, filters, page,
 * sort), so a reload, a bookmark or a refetch after reconnecting shows the same thing.
 *
 * Parsing and building are pure functions (unit-tested in Node); `HashRouter` is the thin
 * DOM part that listens to `hashchange`.
 */

/** Views the top bar links to, in order; `ticker` is reached from the screener. */
export const VIEWS = /** @type {const} */ (['summary', 'performance', 'trades', 'import', 'screener', 'ticker', 'settings']);
/** @typedef {typeof VIEWS[number]} ViewName */

export const DEFAULT_VIEW = 'summary';

/**
 * @typedef {object} Route
 * @property {ViewName | 'not-found'} view
 * @property {string | null} param   e.g. the ticker of `#ticker/AAPL`
 * @property {Record<string, string>} query
 * @property {string} raw            the hash it was parsed from
 */

/**
 * Parse a location hash ("#trades?symbol=SPY", "trades", "" …).
 * @param {string} hash
 * @returns {Route}
 */
export function parseHash(hash) {
  const raw = hash.startsWith('#') ? hash.slice(1) : hash;
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const search = q === -1 ? '' : raw.slice(q + 1);
  const segments = path.split('/').filter(Boolean).map(safeDecode);
  const name = (segments[0] ?? '').toLowerCase() || DEFAULT_VIEW;
  /** @type {Record<string, string>} */
  const query = {};
  new URLSearchParams(search).forEach((value, key) => {
    if (value !== '') query[key] = value;
  });
  const known = /** @type {readonly string[]} */ (VIEWS).includes(name);
  const view = known ? /** @type {ViewName} */ (name) : 'not-found';
  let param = segments.length > 1 ? segments.slice(1).join('/') : null;
  if (view === 'ticker') param = param ? param.toUpperCase() : null;
  return { view, param, query, raw: hash };
}

/** @param {string} text */
function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Build a hash from a view, an optional param and a query (empty values dropped; keys in
 * a stable order so equal states give equal hashes).
 * @param {string} view
 * @param {string | null} [param]
 * @param {Record<string, string | number | null | undefined>} [query]
 */
export function buildHash(view, param = null, query = {}) {
  const search = toSearch(query);
  return `#${view}${param ? `/${encodeURIComponent(param)}` : ''}${search ? `?${search}` : ''}`;
}

/**
 * "a=1&b=x" from an object, skipping empty values, keys sorted.
 * @param {Record<string, string | number | boolean | null | undefined>} query
 */
export function toSearch(query) {
  const params = new URLSearchParams();
  for (const key of Object.keys(query).sort()) {
    const value = query[key];
    if (value === null || value === undefined || value === '') continue;
    params.set(key, String(value));
  }
  return params.toString();
}

// ---- the shared journal filters ---------------------------------------------------------

/**
 * Filters every journal read obeys (api/trades.py `Filters`), plus the P&L basis and the
 * starting capital (`capital` overrides the saved setting for statistics only).
 */
export const FILTER_KEYS = /** @type {const} */ (['account', 'symbol', 'side', 'asset_class', 'tag', 'start', 'end', 'tz', 'basis', 'capital']);

/**
 * @typedef {object} Filters
 * @property {string} [account]
 * @property {string} [symbol]
 * @property {'long'|'short'} [side]
 * @property {string} [asset_class]
 * @property {string} [tag]
 * @property {string} [start]   YYYY-MM-DD, inclusive
 * @property {string} [end]     YYYY-MM-DD, inclusive
 * @property {string} [tz]      calendar days are in this zone
 * @property {'net'|'gross'} [basis]
 * @property {string} [capital] starting capital for drawdown % (a positive number)
 */

export const ASSET_CLASSES = ['stock', 'option', 'future', 'future_option', 'crypto_spot', 'crypto_perp', 'forex'];
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The filters in a route's query; values the server would refuse are dropped here, so a
 * hand-edited hash never turns every view into an error.
 * @param {Record<string, string>} query
 * @returns {Filters}
 */
export function filtersFromQuery(query) {
  /** @type {Filters} */
  const f = {};
  if (query.account) f.account = query.account.slice(0, 100);
  if (query.symbol) f.symbol = query.symbol.trim().toUpperCase().slice(0, 100);
  if (query.side === 'long' || query.side === 'short') f.side = query.side;
  if (query.asset_class && ASSET_CLASSES.includes(query.asset_class)) f.asset_class = query.asset_class;
  if (query.tag) f.tag = query.tag.slice(0, 50);
  if (query.start && DATE.test(query.start)) f.start = query.start;
  if (query.end && DATE.test(query.end)) f.end = query.end;
  if (query.tz && /^[A-Za-z0-9_+\-/]{1,64}$/.test(query.tz)) f.tz = query.tz;
  if (query.basis === 'gross') f.basis = 'gross';
  if (query.capital && /^\d{1,13}(\.\d{1,2})?$/.test(query.capital) && Number(query.capital) > 0) f.capital = query.capital;
  return f;
}

/**
 * Query parameters for the journal APIs. `/api/trades`, `/api/trades.csv` and
 * `/api/positions` reject unknown parameters, so `basis` and `capital` only go to
 * `/api/stats*`.
 * @param {Filters} filters
 * @param {'stats' | 'trades' | 'positions'} target
 * @param {string} defaultZone   used when the filters name no zone (the saved setting, else the browser's)
 * @param {number | null} [defaultCapital]   the saved starting capital, used when the filters name none
 * @returns {Record<string, string>}
 */
export function apiParams(filters, target, defaultZone, defaultCapital = null) {
  if (target === 'positions') return filters.account ? { account: filters.account } : {};
  /** @type {Record<string, string>} */
  const out = {};
  for (const key of FILTER_KEYS) {
    if (key === 'basis' || key === 'tz' || key === 'capital') continue;
    const value = filters[key];
    if (value) out[key] = value;
  }
  out.tz = filters.tz || defaultZone;
  if (target === 'stats') {
    out.basis = filters.basis ?? 'net';
    const capital = filters.capital ?? (defaultCapital !== null && defaultCapital > 0 ? String(defaultCapital) : null);
    if (capital) out.capital = capital;
  }
  return out;
}

/**
 * The route's query with `changes` applied (null removes a key); changing any filter
 * resets paging, because page 7 of the old result means nothing in the new one.
 * @param {Record<string, string>} query
 * @param {Record<string, string | null | undefined>} changes
 * @returns {Record<string, string>}
 */
export function withQuery(query, changes) {
  /** @type {Record<string, string>} */
  const next = { ...query };
  let filterChanged = false;
  for (const [key, value] of Object.entries(changes)) {
    if ((next[key] ?? '') !== (value ?? '') && /** @type {readonly string[]} */ (FILTER_KEYS).includes(key)) filterChanged = true;
    if (value === null || value === undefined || value === '') delete next[key];
    else next[key] = value;
  }
  if (filterChanged && !('offset' in changes)) delete next.offset;
  return next;
}

/** The viewer's IANA zone (the server validates it), UTC if the browser cannot say. */
export function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/**
 * `zone` if this browser can format dates in it, else `fallback`: the server accepts any
 * zone of its tz database, and a browser that does not know one must not break every view.
 * @param {string | null | undefined} zone
 * @param {string} fallback
 */
export function usableZone(zone, fallback) {
  if (!zone) return fallback;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone;
  } catch {
    return fallback;
  }
}

/**
 * Listens to `hashchange` and calls `onRoute` with each parsed route (and once at start).
 */
export class HashRouter {
  /**
   * @param {(route: Route) => void} onRoute
   * @param {{location?: {hash: string}, events?: EventTarget}} [options]
   */
  constructor(onRoute, options = {}) {
    this.onRoute = onRoute;
    this.location = options.location ?? globalThis.location;
    this.events = options.events ?? globalThis;
    this._listener = () => this.onRoute(this.current());
  }

  /** @returns {Route} */
  current() {
    return parseHash(this.location.hash);
  }

  start() {
    this.events.addEventListener('hashchange', this._listener);
    this._listener();
  }

  stop() {
    this.events.removeEventListener('hashchange', this._listener);
  }

  /** @param {string} hash */
  navigate(hash) {
    if (this.location.hash === hash) this._listener();
    else this.location.hash = hash;
  }
}
