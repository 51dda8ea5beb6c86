// @ts-check
/**
 * Earnings screener (`#screener?date=…&scan=…&sort=…&order=…&verdict=…`): start a scan of
 * the day's earnings calendar, follow its progress live over Server-Sent Events (resuming
 * from the last event id after a dropped connection, so no result is lost), cancel it, and
 * rank the results by any metric. The scan id is kept in the hash, so a reload or coming
 * back from a ticker shows the same scan.
 *
 * The state of a scan is a pure reduction of the server's snapshot and events
 * (`scanFromSnapshot`, `applyScanEvent`), unit-tested in Node.
 */
import { SseFollower } from '../api/sse.js';
import { newRequestId } from '../api/retry.js';
import { ApiError } from '../api/errors.js';
import { demoBadge } from '../ui/connection.js';
import { card, el, errorState, isAbort } from '../ui/dom.js';
import { isTransientError } from '../ui/recovery.js';
import { renderTable, sortRows } from '../ui/table.js';
import { formatCount, formatMoney, formatNumber, formatPercent, formatRatio } from '../format.js';
import { LoadScope, withParams } from './common.js';

export const VERDICTS = /** @type {const} */ (['Recommended', 'Consider', 'Avoid']);
/** @typedef {typeof VERDICTS[number]} Verdict */
const TERMINAL_STATUSES = new Set(['done', 'failed', 'cancelled']);
export const TERMINAL_EVENTS = new Set(['done', 'error', 'cancelled']);
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * @typedef {object} ScanProgress
 * @property {number} total
 * @property {number} done
 * @property {number} analyzed
 * @property {number} filtered_out
 * @property {number} no_data
 * @property {number} errors
 */

/**
 * @typedef {object} ScanOutcome
 * @property {string} ticker
 * @property {string} outcome    result | filtered | no_data | error
 * @property {string | null} reason
 * @property {string | null} timing
 * @property {Record<string, any> | null} analysis
 */

/**
 * @typedef {object} ScanState
 * @property {string} id
 * @property {string} status     queued | running | cancelling | done | failed | cancelled
 * @property {string | null} date
 * @property {ScanProgress} progress
 * @property {ScanOutcome[]} results
 * @property {ScanOutcome[]} skipped
 * @property {string | null} error
 * @property {number} lastEventId
 */

/** @returns {ScanProgress} */
function emptyProgress() {
  return { total: 0, done: 0, analyzed: 0, filtered_out: 0, no_data: 0, errors: 0 };
}

/**
 * @param {unknown} p
 * @param {ScanProgress} fallback
 * @returns {ScanProgress}
 */
function progressOf(p, fallback) {
  if (!p || typeof p !== 'object' || Object.keys(p).length === 0) return fallback;
  return { ...emptyProgress(), ...fallback, .../** @type {Partial<ScanProgress>} */ (p) };
}

/**
 * The state of a scan from `GET /api/scans/<id>` (or the 202 of `POST /api/scans`).
 * @param {any} snapshot
 * @returns {ScanState}
 */
export function scanFromSnapshot(snapshot) {
  return {
    id: String(snapshot.id),
    status: String(snapshot.status ?? 'queued'),
    date: snapshot.date ?? null,
    progress: progressOf(snapshot.progress, emptyProgress()),
    results: [...(snapshot.results ?? [])],
    skipped: [...(snapshot.skipped ?? [])],
    error: snapshot.error ?? null,
    lastEventId: Number(snapshot.last_event_id ?? 0),
  };
}

/**
 * The state after one event (`progress` | `result` | `done` | `error` | `cancelled`).
 * Events at or before `lastEventId` are ignored, as is a second outcome for a ticker, so
 * replays after a reconnect change nothing.
 * @param {ScanState} state
 * @param {{id: number, type: string, data: any}} event
 * @returns {ScanState}
 */
export function applyScanEvent(state, event) {
  if (event.id > 0 && event.id <= state.lastEventId) return state;
  const data = event.data ?? {};
  const next = { ...state, lastEventId: Math.max(state.lastEventId, event.id), progress: progressOf(data.progress, state.progress) };
  /** @type {ScanOutcome | undefined} */
  const outcome = data.outcome;
  if (outcome && typeof outcome.ticker === 'string') {
    const seen = state.results.some((o) => o.ticker === outcome.ticker) || state.skipped.some((o) => o.ticker === outcome.ticker);
    if (!seen) {
      if (outcome.outcome === 'result') next.results = [...state.results, outcome];
      else next.skipped = [...state.skipped, outcome];
    }
  }
  if (event.type === 'done') next.status = data.status ?? 'done';
  else if (event.type === 'error') {
    next.status = data.status ?? 'failed';
    next.error = data.error ?? 'The scan failed';
  } else if (event.type === 'cancelled') next.status = 'cancelled';
  else if (next.status === 'queued') next.status = 'running';
  return next;
}

/** @param {ScanState} state */
export function isTerminal(state) {
  return TERMINAL_STATUSES.has(state.status);
}

/**
 * Fraction done (0…1), or null while the total is not known yet.
 * @param {ScanProgress} p
 */
export function progressFraction(p) {
  if (!p.total) return null;
  return Math.min(1, p.done / p.total);
}

/**
 * "3 / 7 tickers · 2 analyzed · 1 filtered out · 0 no data · 0 errors".
 * @param {ScanProgress} p
 */
export function progressText(p) {
  if (!p.total) return 'Reading the earnings calendar…';
  return `${formatCount(p.done)} / ${formatCount(p.total)} tickers · ${formatCount(p.analyzed)} analyzed · ${formatCount(p.filtered_out)} filtered out · ${formatCount(p.no_data)} no data · ${formatCount(p.errors)} errors`;
}

/**
 * @typedef {object} ScanRow   one analyzed ticker, flattened for the table
 * @property {string} ticker
 * @property {string} timing
 * @property {number | null} price
 * @property {number | null} iv30_rv30
 * @property {number | null} slope
 * @property {number | null} avg_volume
 * @property {number | null} expected_move
 * @property {Verdict} verdict
 * @property {string} source
 * @property {string[]} warnings
 */

/** @param {unknown} v */
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * @param {readonly ScanOutcome[]} results
 * @returns {ScanRow[]}
 */
export function scanRows(results) {
  return results
    .filter((o) => o.analysis)
    .map((o) => {
      const a = /** @type {Record<string, any>} */ (o.analysis);
      return {
        ticker: o.ticker,
        timing: o.timing ?? 'unknown',
        price: num(a.price),
        iv30_rv30: num(a.iv30_rv30),
        slope: num(a.slope),
        avg_volume: num(a.avg_volume),
        expected_move: num(a.expected_move),
        verdict: /** @type {Verdict} */ (VERDICTS.includes(a.verdict) ? a.verdict : 'Avoid'),
        source: String(a.source ?? ''),
        warnings: Array.isArray(a.warnings) ? a.warnings.map(String) : [],
      };
    });
}

/**
 * How many rows have each verdict.
 * @param {readonly ScanRow[]} rows
 * @returns {Record<Verdict, number>}
 */
export function verdictCounts(rows) {
  /** @type {Record<Verdict, number>} */
  const counts = { Recommended: 0, Consider: 0, Avoid: 0 };
  for (const row of rows) counts[row.verdict] += 1;
  return counts;
}

/**
 * Rows with the chosen verdict (all rows for '' or an unknown value).
 * @param {readonly ScanRow[]} rows
 * @param {string | undefined} verdict
 */
export function filterByVerdict(rows, verdict) {
  if (!verdict || !(/** @type {readonly string[]} */ (VERDICTS)).includes(verdict)) return [...rows];
  return rows.filter((r) => r.verdict === verdict);
}

/** @param {Verdict} verdict */
export function verdictRank(verdict) {
  return VERDICTS.indexOf(verdict);
}

/** @param {string} verdict */
export function verdictBadge(verdict) {
  return el('span', { className: `badge verdict verdict-${verdict.toLowerCase()}` }, verdict);
}

/** @returns {(import('../ui/table.js').Column<ScanRow>)[]} */
export function scanColumns() {
  return [
    { key: 'ticker', label: 'Ticker', format: (r) => el('a', { attrs: { href: `#ticker/${encodeURIComponent(r.ticker)}` } }, r.ticker) },
    { key: 'timing', label: 'Timing', title: 'BMO: before market open · AMC: after market close' },
    { key: 'price', label: 'Price', numeric: true, format: (r) => formatMoney(r.price) },
    { key: 'iv30_rv30', label: 'IV30/RV30', numeric: true, format: (r) => formatRatio(r.iv30_rv30), title: '30-day implied over 30-day realized volatility' },
    { key: 'slope', label: 'Slope', numeric: true, format: (r) => formatNumber(r.slope, 5), title: 'term-structure slope, IV per day of expiry (0 → 45 days)' },
    { key: 'avg_volume', label: 'Avg volume', numeric: true, format: (r) => formatCount(r.avg_volume), title: 'mean share volume of 30 sessions' },
    { key: 'expected_move', label: 'Expected move', numeric: true, format: (r) => (r.expected_move === null ? '–' : `±${formatPercent(r.expected_move, 2)}`), title: 'straddle price / spot, nearest expiry after earnings' },
    { key: 'verdict', label: 'Verdict', value: (r) => verdictRank(r.verdict), format: (r) => verdictBadge(r.verdict) },
  ];
}

const SORT_KEYS = new Set(scanColumns().map((c) => c.key));

/**
 * The table's sort from the hash query; default: best verdict first.
 * @param {Record<string, string>} query
 * @returns {{key: string, order: 'asc' | 'desc'}}
 */
export function sortFromQuery(query) {
  const key = query.sort && SORT_KEYS.has(query.sort) ? query.sort : 'verdict';
  const order = query.order === 'desc' || query.order === 'asc' ? query.order : key === 'verdict' || key === 'ticker' || key === 'timing' ? 'asc' : 'desc';
  return { key, order };
}

/**
 * Today in the viewer's zone, YYYY-MM-DD.
 * @param {Date} [now]
 */
export function localToday(now = new Date()) {
  const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** Words for a scan status. @param {string} status */
export function statusLabel(status) {
  return (
    /** @type {Record<string, string>} */ ({
      queued: 'Queued',
      running: 'Running',
      cancelling: 'Cancelling…',
      done: 'Done',
      failed: 'Failed',
      cancelled: 'Cancelled',
    })[status] ?? status
  );
}

/**
 * @param {import('./common.js').ViewContext} ctx
 */
export function mount(ctx) {
  const scope = new LoadScope();
  const calendarScope = new LoadScope();
  let route = ctx.route;
  /** @type {ScanState | null} */
  let scan = null;
  /** @type {SseFollower | null} */
  let follower = null;
  /** @type {string} */
  let followNote = '';
  let demo = false;
  let destroyed = false;

  const badgeSlot = el('span', { className: 'badges-inline' });
  const dateInput = el('input', { attrs: { id: 'scan-date', type: 'date', name: 'date', required: true } });
  const minPrice = el('input', { attrs: { id: 'scan-min-price', type: 'number', name: 'min_price', min: 0, step: 'any', placeholder: '2.5', inputmode: 'decimal' } });
  // Empty: the server uses the saved minimum-volume threshold (Settings).
  const minVolume = el('input', { attrs: { id: 'scan-min-volume', type: 'number', name: 'min_avg_volume', min: 0, step: 'any', placeholder: 'saved threshold', inputmode: 'numeric' } });
  const startButton = el('button', { className: 'btn btn-primary', attrs: { type: 'submit' } }, 'Start scan');
  const cancelButton = el('button', { className: 'btn btn-danger', attrs: { type: 'button', hidden: true }, on: { click: () => void cancel() } }, 'Cancel');
  const formError = el('div', { className: 'form-status', attrs: { role: 'alert' } });
  const calendarNote = el('p', { className: 'muted small calendar-note' });
  const form = el(
    'form',
    { className: 'scan-form', attrs: { 'aria-label': 'Start a scan' }, on: { submit: (e) => { e.preventDefault(); void start(); } } },
    el('div', { className: 'filter' }, el('label', { attrs: { for: 'scan-date' } }, 'Earnings date'), dateInput),
    el('div', { className: 'filter' }, el('label', { attrs: { for: 'scan-min-price' } }, 'Min price ($)'), minPrice),
    el('div', { className: 'filter' }, el('label', { attrs: { for: 'scan-min-volume' } }, 'Min avg volume'), minVolume),
    el('div', { className: 'scan-actions' }, startButton, cancelButton),
  );
  const bar = el('progress', { className: 'scan-progress', attrs: { max: 1, 'aria-label': 'Scan progress' } });
  const statusText = el('span', { className: 'scan-status', attrs: { role: 'status', 'aria-live': 'polite' } });
  const connText = el('span', { className: 'scan-connection' });
  const progressLine = el('div', { className: 'muted small scan-progress-text' });
  const progressBox = el('div', { className: 'scan-progress-box', attrs: { hidden: true } }, el('div', { className: 'scan-progress-row' }, statusText, bar, connText), progressLine);
  const results = el('div', { className: 'region scan-results' });

  ctx.root.replaceChildren(
    el('div', { className: 'view-header' }, el('h2', null, 'Earnings screener'), badgeSlot),
    card('Scan', form, calendarNote, formError, progressBox),
    results,
  );

  /** @param {string} date */
  async function loadCalendar(date) {
    const signal = calendarScope.next();
    calendarNote.textContent = '';
    delete calendarNote.dataset.transient;
    try {
      const { body } = await ctx.client.getJson(withParams('/api/earnings/calendar', { date }), { signal });
      if (body?.source === 'demo') setDemo();
      const count = Number(body?.count ?? 0);
      calendarNote.textContent = `${formatCount(count)} ${count === 1 ? 'company reports' : 'companies report'} on ${body?.date ?? date}${body?.stale ? ' (calendar from cache)' : ''}.`;
    } catch (error) {
      if (isAbort(error)) return;
      calendarNote.textContent = 'Could not read the earnings calendar for this day.';
      if (isTransientError(error)) calendarNote.dataset.transient = 'true'; // PanelRecovery refreshes
    }
  }

  function setDemo() {
    if (demo) return;
    demo = true;
    badgeSlot.replaceChildren(demoBadge('Demo data'));
  }

  function render() {
    renderProgress();
    renderResults();
  }

  function renderProgress() {
    const running = scan !== null && !isTerminal(scan);
    startButton.disabled = running;
    dateInput.disabled = running;
    cancelButton.hidden = !running;
    cancelButton.disabled = scan?.status === 'cancelling';
    if (!scan) {
      progressBox.hidden = true;
      return;
    }
    progressBox.hidden = false;
    progressBox.dataset.status = scan.status;
    const fraction = progressFraction(scan.progress);
    if (fraction === null && running) bar.removeAttribute('value');
    else bar.value = fraction ?? (isTerminal(scan) ? 1 : 0);
    statusText.textContent = `${statusLabel(scan.status)}${scan.date ? ` · ${scan.date}` : ''}`;
    progressLine.textContent = progressText(scan.progress) + (scan.error ? ` · ${scan.error}` : '');
    connText.textContent = running ? followNote : '';
    connText.dataset.state = running ? (follower?.state ?? '') : '';
  }

  function renderResults() {
    if (!scan) {
      results.replaceChildren(card('Results', el('p', { className: 'muted' }, 'Pick a day and start a scan: every company reporting that day is screened by IV30/RV30, term-structure slope and volume.')));
      return;
    }
    const rows = scanRows(scan.results);
    if (rows.some((r) => r.source === 'demo')) setDemo();
    const counts = verdictCounts(rows);
    const verdict = route.query.verdict ?? '';
    const select = el(
      'select',
      { attrs: { name: 'verdict', 'aria-label': 'Show verdict' }, on: { change: (e) => ctx.setQuery({ verdict: /** @type {HTMLSelectElement} */ (e.target).value || null }) } },
      el('option', { attrs: { value: '' } }, `All verdicts (${rows.length})`),
      VERDICTS.map((v) => el('option', { attrs: { value: v, selected: v === verdict } }, `${v} (${counts[v]})`)),
    );
    const sort = sortFromQuery(route.query);
    const columns = scanColumns();
    const column = columns.find((c) => c.key === sort.key) ?? columns[columns.length - 1];
    const shown = sortRows(filterByVerdict(rows, verdict), column, sort.order);
    const table = renderTable({
      columns,
      rows: shown,
      sort,
      className: 'scan-table',
      caption: `${shown.length} of ${rows.length} analyzed tickers${demo ? ' (demo data)' : ''}; click a row for the full analysis`,
      rowClass: (r) => `verdict-row-${r.verdict.toLowerCase()}`,
      onSort: (col) => {
        const next = sort.key === col.key ? (sort.order === 'asc' ? 'desc' : 'asc') : col.numeric ? 'desc' : 'asc';
        ctx.setQuery({ sort: col.key, order: next });
      },
      onRowClick: (row) => ctx.navigate(`#ticker/${encodeURIComponent(row.ticker)}`),
    });
    const summary = el(
      'div',
      { className: 'verdict-summary' },
      VERDICTS.map((v) => el('span', { className: 'verdict-count' }, verdictBadge(v), ` ${counts[v]}`)),
      el('label', { className: 'verdict-filter' }, 'Show ', select),
    );
    /** @type {HTMLElement[]} */
    const parts = [summary];
    if (rows.length === 0) {
      parts.push(el('p', { className: 'muted' }, isTerminal(scan) ? 'No ticker passed the pre-filter with usable option data.' : 'Results appear here as tickers are analyzed.'));
    } else {
      parts.push(el('div', { className: 'table-wrap table-scroll' }, table));
    }
    if (scan.skipped.length > 0) {
      parts.push(
        el(
          'details',
          { className: 'skipped' },
          el('summary', null, `${scan.skipped.length} skipped`),
          el('ul', null, scan.skipped.map((o) => el('li', null, el('strong', null, o.ticker), ` — ${o.outcome.replace('_', ' ')}${o.reason ? `: ${o.reason}` : ''}`))),
        ),
      );
    }
    const scroll = results.querySelector('.table-scroll')?.scrollLeft ?? 0;
    results.replaceChildren(card('Results', ...parts));
    const wrap = results.querySelector('.table-scroll');
    if (wrap) wrap.scrollLeft = scroll;
  }

  /** Follow the scan's events from where our state ends. */
  function follow() {
    follower?.stop();
    follower = null;
    if (!scan || isTerminal(scan) || destroyed) return;
    const id = scan.id;
    const mine = new SseFollower({
      url: `${ctx.client.baseUrl}/api/scans/${id}/events`,
      lastEventId: scan.lastEventId,
      isTerminal: (type) => TERMINAL_EVENTS.has(type),
      onEvent: (event) => {
        if (!scan || scan.id !== id) return;
        let data = {};
        try {
          data = JSON.parse(event.data);
        } catch {
          return;
        }
        scan = applyScanEvent(scan, { id: event.numericId, type: event.event, data });
        render();
      },
      onState: (state, info) => {
        if (follower !== mine) return;
        if (state === 'open') followNote = 'Live';
        else if (state === 'reconnecting') followNote = `Connection lost; reconnecting${info.delayMs !== null ? ` in ${Math.ceil(info.delayMs / 1000)} s` : ''} (attempt ${info.attempt}), resuming after event ${mine.lastEventId}…`;
        else if (state === 'connecting') followNote = 'Connecting…';
        else followNote = '';
        renderProgress();
      },
      onFatal: (error) => {
        if (follower !== mine || !scan) return;
        scan = { ...scan, status: 'failed', error: error.status === 404 ? 'This scan no longer exists on the server.' : error.message };
        render();
      },
    });
    follower = mine;
    followNote = 'Connecting…';
    void mine.start();
  }

  /** @param {string} id */
  async function loadScan(id) {
    const signal = scope.next();
    try {
      const { body } = await ctx.client.getJson(`/api/scans/${encodeURIComponent(id)}`, { signal });
      scan = scanFromSnapshot(body);
      if (scan.date && dateInput.value !== scan.date) dateInput.value = scan.date;
      formError.replaceChildren();
      render();
      follow();
    } catch (error) {
      if (isAbort(error)) return;
      if (error instanceof ApiError && error.status === 404) {
        scan = null;
        formError.replaceChildren(el('p', { className: 'muted' }, 'That scan is no longer on the server; start a new one.'));
        render();
        return;
      }
      formError.replaceChildren(errorState(error, { context: 'Loading the scan', retry: () => void loadScan(id) }));
    }
  }

  async function start() {
    const date = dateInput.value;
    if (!DATE.test(date)) {
      formError.replaceChildren(el('p', { className: 'warn' }, 'Pick a date (YYYY-MM-DD).'));
      return;
    }
    /** @type {Record<string, number>} */
    const filters = {};
    if (minPrice.value !== '') filters.min_price = Number(minPrice.value);
    if (minVolume.value !== '') filters.min_avg_volume = Number(minVolume.value);
    formError.replaceChildren();
    startButton.disabled = true;
    try {
      // One key per click: the client's retries of this POST start one scan, not several.
      const { body } = await ctx.client.postJson('/api/scans', { date, filters }, { idempotencyKey: `scan-${newRequestId()}` });
      follower?.stop();
      scan = scanFromSnapshot(body);
      render();
      ctx.setQuery({ scan: scan.id, date });
      follow();
    } catch (error) {
      formError.replaceChildren(errorState(error, { context: 'Starting the scan' }));
    } finally {
      renderProgress();
    }
  }

  async function cancel() {
    if (!scan || isTerminal(scan)) return;
    const id = scan.id;
    cancelButton.disabled = true;
    try {
      const { status, body } = await ctx.client.del(`/api/scans/${id}`);
      if (!scan || scan.id !== id) return;
      const snap = scanFromSnapshot(body);
      // Keep what the stream already told us; take the server's status.
      scan = { ...scan, status: snap.status === 'running' ? 'cancelling' : snap.status };
      if (status === 200 && isTerminal(scan)) follower?.stop();
      render();
    } catch (error) {
      formError.replaceChildren(errorState(error, { context: 'Cancelling the scan' }));
      cancelButton.disabled = false;
    }
  }

  /** Apply the route's query (date, scan, sort, verdict). */
  function applyRoute() {
    const q = route.query;
    const date = q.date && DATE.test(q.date) ? q.date : localToday();
    const running = scan !== null && !isTerminal(scan);
    if (!running && dateInput.value !== date) {
      dateInput.value = date;
      void loadCalendar(date);
    }
    if (q.scan && q.scan !== scan?.id) {
      void loadScan(q.scan);
    } else if (!q.scan && scan && isTerminal(scan)) {
      scan = null;
    }
    render();
  }

  dateInput.addEventListener('change', () => {
    if (DATE.test(dateInput.value)) void loadCalendar(dateInput.value);
  });

  applyRoute();

  return {
    refresh() {
      // The server is back: resume the stream at once and re-read what may have changed.
      if (scan && !isTerminal(scan)) {
        if (follower && follower.state === 'reconnecting') follower.reconnectNow();
        else if (!follower || follower.state === 'closed') void loadScan(scan.id);
      } else if (route.query.scan && !scan) {
        void loadScan(route.query.scan);
      }
      if (DATE.test(dateInput.value)) void loadCalendar(dateInput.value);
    },
    /** @param {import('./common.js').ViewContext} next */
    update(next) {
      route = next.route;
      applyRoute();
      return true;
    },
    destroy() {
      destroyed = true;
      follower?.stop();
      follower = null;
      scope.destroy();
      calendarScope.destroy();
    },
  };
}
