// @ts-check
/**
 * Ticker analysis (`#ticker/<T>`): the earnings volatility screen of one ticker — metrics
 * against the verdict's thresholds, the IV term structure, the expected move, a
 * calendar-spread ticket for the next earnings date with liquidity warnings, and the
 * history of past earnings moves.
 *
 * Errors come in the server's words: 404 (unknown ticker / no listed options) and 422 (no
 * calendar spread) are answers, not failures; 503 (market data unavailable) is retried by
 * the ApiClient after the server's Retry-After, and the wait is shown. Responses carry
 * `source`/`asOf`/`stale`: demo data gets the demo badge, cached data the stale banner.
 *
 * Figures and checks are pure functions (unit-tested); the chart is Plotly when
 * `/static/vendor/plotly.min.js` loads, else a small SVG drawn here.
 */
import { ApiError } from '../api/errors.js';
import { StaleBanner, demoBadge } from '../ui/connection.js';
import { card, el, errorState, isAbort, loadingState } from '../ui/dom.js';
import { baseLayout, drawChart, purgeChart } from '../ui/plotly.js';
import { formatCount, formatMoney, formatNumber, formatPercent, formatRatio } from '../format.js';
import { LoadScope, withParams } from './common.js';
import { verdictBadge } from './screener.js';

/** The server's ticker rule (market/service.py TICKER_PATTERN), applied after upper-casing. */
export const TICKER_RE = /^[A-Z][A-Z0-9.\-]{0,9}$/;

/**
 * The ticker to request for what was typed, or null if the server would refuse it.
 * @param {string | null | undefined} raw
 */
export function normalizeTicker(raw) {
  const ticker = String(raw ?? '').trim().toUpperCase();
  return TICKER_RE.test(ticker) ? ticker : null;
}

/**
 * @typedef {object} MetricRow
 * @property {string} key
 * @property {string} label
 * @property {string} value
 * @property {boolean | null} pass    null: not one of the verdict's tests
 * @property {string} rule            the threshold, in words
 */

/**
 * The metrics panel of an analysis: each tested metric with its threshold and the
 * server's pass/fail (the verdict is computed there, once).
 * @param {Record<string, any>} a   the `/api/options/<T>/analysis` body
 * @returns {MetricRow[]}
 */
export function metricRows(a) {
  const t = a.thresholds ?? {};
  const em = typeof a.expected_move === 'number' && typeof a.price === 'number' ? a.expected_move * a.price : null;
  return [
    { key: 'price', label: 'Price', value: formatMoney(a.price), pass: null, rule: '' },
    { key: 'avg_volume', label: 'Avg volume (30 d)', value: formatCount(a.avg_volume), pass: !!a.avg_volume_pass, rule: `≥ ${formatCount(t.min_avg_volume)}` },
    { key: 'iv30_rv30', label: 'IV30 / RV30', value: formatRatio(a.iv30_rv30), pass: !!a.iv30_rv30_pass, rule: `≥ ${formatRatio(t.min_iv30_rv30)}` },
    { key: 'slope', label: 'Term slope (0→45 d)', value: formatNumber(a.slope, 5), pass: !!a.slope_pass, rule: `≤ ${formatNumber(t.max_slope, 5)} per day` },
    { key: 'iv30', label: 'IV30', value: formatPercent(a.iv30), pass: null, rule: '' },
    { key: 'rv30', label: `RV30 (${a.rv_variant ?? 'realized'})`, value: formatPercent(a.rv30), pass: null, rule: '' },
    { key: 'expected_move', label: 'Expected move', value: a.expected_move === null || a.expected_move === undefined ? '–' : `±${formatPercent(a.expected_move, 2)}`, pass: null, rule: em === null ? '' : `±$${formatNumber(em, 2)}` },
  ];
}

/** @typedef {import('../ui/plotly.js').Figure} Figure */

/**
 * IV by days to expiry.
 * @param {readonly {expiry: string, dte: number, iv: number}[]} points
 * @returns {Figure}
 */
export function termStructureFigure(points) {
  const layout = baseLayout();
  return {
    data: [
      {
        type: 'scatter',
        mode: 'lines+markers',
        x: points.map((p) => p.dte),
        y: points.map((p) => p.iv * 100),
        text: points.map((p) => p.expiry),
        line: { color: '#5dade2', width: 2 },
        marker: { size: 7 },
        hovertemplate: '%{text} (%{x} d): %{y:.1f} %<extra>IV</extra>',
      },
    ],
    layout: {
      ...layout,
      hovermode: 'closest',
      xaxis: { ...layout.xaxis, title: { text: 'Days to expiry' }, rangemode: 'tozero' },
      yaxis: { ...layout.yaxis, title: { text: 'Implied volatility (%)' }, ticksuffix: ' %' },
    },
  };
}

/**
 * Past next-session moves, green up / red down.
 * @param {readonly {date: string, move: number | null, timing: string, inferred: boolean}[]} moves
 * @returns {Figure}
 */
export function earningsMovesFigure(moves) {
  const usable = moves.filter((m) => typeof m.move === 'number');
  const layout = baseLayout();
  return {
    data: [
      {
        type: 'bar',
        x: usable.map((m) => m.date),
        y: usable.map((m) => /** @type {number} */ (m.move) * 100),
        customdata: usable.map((m) => `${m.timing}${m.inferred ? ', date inferred' : ''}`),
        marker: { color: usable.map((m) => (/** @type {number} */ (m.move) >= 0 ? '#2ecc71' : '#e74c3c')) },
        hovertemplate: '%{x} (%{customdata}): %{y:+.2f} %<extra>Move</extra>',
      },
    ],
    layout: {
      ...layout,
      hovermode: 'closest',
      xaxis: { ...layout.xaxis, type: 'category', title: { text: 'Earnings date' } },
      yaxis: { ...layout.yaxis, title: { text: 'Next-session move (%)' }, ticksuffix: ' %' },
    },
  };
}

/**
 * Scale points into a `width`×`height` box with `pad` margins (for the SVG fallback).
 * @param {readonly {x: number, y: number}[]} points
 * @param {{width: number, height: number, pad: number}} box
 * @returns {{x: number, y: number}[]}
 */
export function scalePoints(points, box) {
  if (points.length === 0) return [];
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = x1 === x0 ? 0 : (box.width - 2 * box.pad) / (x1 - x0);
  const sy = y1 === y0 ? 0 : (box.height - 2 * box.pad) / (y1 - y0);
  return points.map((p) => ({
    x: Math.round((box.pad + (x1 === x0 ? (box.width - 2 * box.pad) / 2 : (p.x - x0) * sx)) * 10) / 10,
    y: Math.round((box.height - box.pad - (y1 === y0 ? (box.height - 2 * box.pad) / 2 : (p.y - y0) * sy)) * 10) / 10,
  }));
}

/**
 * A line chart as SVG (no Plotly), with min/max labels on both axes. SVG presentation
 * attributes only: the CSP forbids inline `style`.
 * @param {readonly {x: number, y: number, label: string}[]} points
 * @param {{xLabel: string, yFormat: (v: number) => string}} options
 */
export function svgLineChart(points, options) {
  const NS = 'http://www.w3.org/2000/svg';
  const box = { width: 600, height: 260, pad: 40 };
  /** @param {string} tag @param {Record<string, string | number>} attrs */
  const make = (tag, attrs) => {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    return node;
  };
  const svg = make('svg', { viewBox: `0 0 ${box.width} ${box.height}`, class: 'svg-chart', role: 'img', 'aria-label': `${options.xLabel} chart` });
  const scaled = scalePoints(points, box);
  svg.append(make('line', { x1: box.pad, y1: box.height - box.pad, x2: box.width - box.pad, y2: box.height - box.pad, class: 'svg-axis' }));
  svg.append(make('line', { x1: box.pad, y1: box.pad, x2: box.pad, y2: box.height - box.pad, class: 'svg-axis' }));
  svg.append(make('polyline', { points: scaled.map((p) => `${p.x},${p.y}`).join(' '), class: 'svg-line', fill: 'none' }));
  scaled.forEach((p, i) => {
    const dot = make('circle', { cx: p.x, cy: p.y, r: 4, class: 'svg-dot' });
    const title = make('title', {});
    title.textContent = `${points[i].label}: ${options.yFormat(points[i].y)}`;
    dot.append(title);
    svg.append(dot);
  });
  if (points.length > 0) {
    const ys = points.map((p) => p.y);
    const xs = points.map((p) => p.x);
    /** @param {number} x @param {number} y @param {string} text @param {string} anchor */
    const label = (x, y, text, anchor) => {
      const t = make('text', { x, y, 'text-anchor': anchor, class: 'svg-label' });
      t.textContent = text;
      svg.append(t);
    };
    label(box.pad - 4, box.pad + 4, options.yFormat(Math.max(...ys)), 'end');
    label(box.pad - 4, box.height - box.pad, options.yFormat(Math.min(...ys)), 'end');
    label(box.pad, box.height - box.pad + 16, String(Math.min(...xs)), 'middle');
    label(box.width - box.pad, box.height - box.pad + 16, String(Math.max(...xs)), 'middle');
    label(box.width / 2, box.height - 6, options.xLabel, 'middle');
  }
  return svg;
}

/**
 * @typedef {object} Leg
 * @property {string} expiry
 * @property {number} strike
 * @property {string} right
 * @property {number} bid
 * @property {number} ask
 * @property {number | null} mid
 * @property {number | null} iv
 * @property {number} volume
 * @property {number} openInterest
 * @property {number | null} spreadPct
 * @property {boolean} zeroBid
 * @property {number} liquidityScore
 */

export const WIDE_SPREAD = 0.1;
export const LOW_LIQUIDITY_SCORE = 50;
export const LOW_OPEN_INTEREST = 100;

/**
 * Liquidity warnings for a calendar-spread ticket: the server's, plus each leg's zero bid,
 * wide bid/ask (> 10 % of mid), thin open interest (< 100) or no volume today, and a low
 * overall liquidity score (< 50 of 100). Duplicates are dropped.
 * @param {{front: Leg, back: Leg, liquidityScore: number, warnings?: string[]}} ticket
 * @returns {string[]}
 */
export function liquidityWarnings(ticket) {
  const out = [...(ticket.warnings ?? [])];
  for (const [name, leg] of /** @type {[string, Leg][]} */ ([['Front', ticket.front], ['Back', ticket.back]])) {
    if (leg.zeroBid) out.push(`${name} leg (${leg.expiry}) has a zero bid`);
    if (typeof leg.spreadPct === 'number' && leg.spreadPct > WIDE_SPREAD) out.push(`${name} leg (${leg.expiry}) bid/ask spread is ${formatPercent(leg.spreadPct)} of mid`);
    if (leg.openInterest < LOW_OPEN_INTEREST) out.push(`${name} leg (${leg.expiry}) open interest is only ${formatCount(leg.openInterest)}`);
    if (leg.volume === 0) out.push(`${name} leg (${leg.expiry}) has not traded today`);
  }
  if (ticket.liquidityScore < LOW_LIQUIDITY_SCORE) out.push(`Low liquidity score (${formatNumber(ticket.liquidityScore, 1)} of 100)`);
  return [...new Set(out)];
}

/**
 * The next earnings event to build the spread for: the first upcoming one on or after
 * `today` from the earnings history.
 * @param {readonly {date: string, timing: string, inferred: boolean}[]} upcoming
 * @param {string} today  YYYY-MM-DD
 */
export function nextEarnings(upcoming, today) {
  return [...upcoming].filter((e) => e.date >= today).sort((a, b) => a.date.localeCompare(b.date))[0] ?? null;
}

/**
 * The oldest `asOf` among stale responses (what the stale banner reports), or null.
 * @param {readonly {stale?: boolean, asOf?: string}[]} metas
 */
export function staleAsOf(metas) {
  const times = metas.filter((m) => m.stale && m.asOf).map((m) => Date.parse(/** @type {string} */ (m.asOf))).filter(Number.isFinite);
  return times.length ? Math.min(...times) : null;
}

/**
 * "Market data unavailable; retrying in 5 s (attempt 2 of 4)".
 * @param {{attempt: number, delayMs: number, error: ApiError}} info
 * @param {number} [retries]
 */
export function retryNotice(info, retries = 3) {
  const what = info.error.status === 503 ? 'Market data unavailable (HTTP 503)' : info.error.kind === 'http' ? `HTTP ${info.error.status}` : 'Could not reach the server';
  const hint = info.error.retryAfterMs !== null ? ', as the server asked (Retry-After)' : '';
  return `${what}; retrying in ${Math.max(1, Math.round(info.delayMs / 1000))} s${hint} — attempt ${info.attempt + 1} of ${retries + 1}.`;
}

/** @param {number} move */
const pct = (move) => formatPercent(move, 2);

/**
 * @param {import('./common.js').ViewContext} ctx
 */
export function mount(ctx) {
  const scope = new LoadScope();
  const banner = new StaleBanner(el('div', { className: 'banner view-banner', attrs: { role: 'status', hidden: true } }));
  const badgeSlot = el('span', { className: 'badges-inline' });
  const input = el('input', { attrs: { type: 'search', name: 'ticker', placeholder: 'Ticker, e.g. AAPL', 'aria-label': 'Ticker', autocomplete: 'off', spellcheck: 'false', maxlength: 10 } });
  const inputError = el('span', { className: 'form-status warn', attrs: { role: 'alert' } });
  const form = el(
    'form',
    { className: 'ticker-search', attrs: { role: 'search' }, on: { submit: (e) => { e.preventDefault(); go(); } } },
    input,
    el('button', { className: 'btn btn-primary', attrs: { type: 'submit' } }, 'Analyze'),
    inputError,
  );
  const notice = el('div', { className: 'retry-notice', attrs: { role: 'status', 'aria-live': 'polite', hidden: true } });
  const body = el('div', { className: 'region ticker-body' });
  const title = el('h2', null, 'Ticker analysis');
  ctx.root.replaceChildren(el('div', { className: 'view-header' }, title, badgeSlot, form), banner.element, notice, body);
  /** @type {HTMLElement[]} */
  let charts = [];
  /** @type {{stale?: boolean, asOf?: string, source?: string}[]} */
  let metas = [];
  let ticker = ctx.route.param;

  input.addEventListener('input', () => inputError.replaceChildren());

  function go() {
    const value = normalizeTicker(input.value);
    if (!value) {
      inputError.textContent = input.value.trim() === '' ? 'Enter a ticker.' : `“${input.value.trim().slice(0, 20)}” is not a ticker: a letter, then up to 9 letters, digits, “.” or “-”.`;
      return;
    }
    ctx.navigate(`#ticker/${encodeURIComponent(value)}`);
  }

  /** @param {{stale?: boolean, asOf?: string, source?: string}} meta */
  function noteMeta(meta) {
    metas.push(meta);
    if (metas.some((m) => m.source === 'demo')) badgeSlot.replaceChildren(demoBadge('Demo data'));
    const asOf = staleAsOf(metas);
    if (asOf !== null) banner.show(asOf, 'The market data source is not responding; these figures are from the cache.');
    else banner.hide();
  }

  /**
   * GET through the ApiClient, showing its retries (503 + Retry-After) in the notice.
   * @param {string} path
   * @param {AbortSignal} signal
   */
  async function get(path, signal) {
    try {
      const { body: data } = await ctx.client.getJson(path, {
        signal,
        onRetry: (info) => {
          notice.hidden = false;
          notice.textContent = retryNotice(info);
        },
      });
      return data;
    } finally {
      if (!signal.aborted) notice.hidden = true;
    }
  }

  function purgeAll() {
    for (const chart of charts) purgeChart(chart);
    charts = [];
  }

  /**
   * Draw with Plotly, or the SVG fallback when Plotly cannot be loaded.
   * @param {HTMLElement} target
   * @param {Figure} figure
   * @param {() => SVGElement} fallback
   */
  async function chart(target, figure, fallback) {
    try {
      charts.push(target);
      await drawChart(target, figure);
    } catch {
      target.classList.add('chart-fallback');
      target.replaceChildren(fallback(), el('p', { className: 'muted small' }, 'Interactive charts are unavailable; showing a simple chart.'));
    }
  }

  /** @param {unknown} error @param {string} what @param {() => void} retry */
  function failure(error, what, retry) {
    if (error instanceof ApiError && error.kind === 'http' && error.status === 404) {
      return el('div', { className: 'state state-empty not-found' }, el('strong', null, error.title ?? 'Not found'), el('p', null, error.detail ?? error.message), el('p', { className: 'muted' }, 'Check the symbol, or try another ticker.'));
    }
    const box = errorState(error, { context: what, retry });
    if (error instanceof ApiError && error.retryAfterMs !== null) {
      box.insertBefore(el('p', { className: 'retry-after' }, `The server asked to retry after ${Math.ceil(error.retryAfterMs / 1000)} s.`), box.querySelector('button'));
    }
    return box;
  }

  function load() {
    const signal = scope.next();
    purgeAll();
    metas = [];
    banner.hide();
    badgeSlot.replaceChildren();
    title.textContent = ticker ? `Ticker analysis · ${ticker}` : 'Ticker analysis';
    if (ticker !== null) input.value = ticker;
    if (!ticker) {
      body.replaceChildren(card('Analyze a ticker', el('p', { className: 'muted' }, 'Enter a symbol above, or open one from the screener’s results.')));
      input.focus();
      return;
    }
    const symbol = normalizeTicker(ticker);
    if (!symbol) {
      body.replaceChildren(el('div', { className: 'state state-error', attrs: { role: 'alert' } }, el('strong', null, 'Invalid ticker'), el('p', null, `“${ticker.slice(0, 20)}” is not a ticker: a letter, then up to 9 letters, digits, “.” or “-”.`)));
      return;
    }
    const T = encodeURIComponent(symbol);
    const summary = el('section', { className: 'card analysis-summary' }, el('h2', null, 'Screen'), loadingState());
    const term = el('div', { className: 'chart term-chart' });
    const termCard = card('IV term structure', term);
    const spread = el('section', { className: 'card spread-ticket' }, el('h2', null, 'Calendar spread'), loadingState());
    const history = el('section', { className: 'card earnings-history' }, el('h2', null, 'Earnings moves'), loadingState());
    body.replaceChildren(summary, el('div', { className: 'grid-2' }, termCard, history), spread);

    const analysis = (async () => {
      try {
        const a = await get(`/api/options/${T}/analysis`, signal);
        noteMeta(a);
        renderSummary(summary, a);
        const points = a.term_structure ?? [];
        await chart(term, termStructureFigure(points), () =>
          svgLineChart(points.map((/** @type {any} */ p) => ({ x: p.dte, y: p.iv * 100, label: `${p.expiry} (${p.dte} d)` })), { xLabel: 'Days to expiry', yFormat: (v) => `${formatNumber(v, 1)} %` }),
        );
        return true;
      } catch (error) {
        if (isAbort(error)) return false;
        // Unknown ticker or no options: one message for the whole view.
        if (error instanceof ApiError && error.status === 404) {
          body.replaceChildren(failure(error, 'Analysis', load));
          return false;
        }
        summary.replaceChildren(el('h2', null, 'Screen'), failure(error, 'Analysis', load));
        termCard.hidden = true;
        return false;
      }
    })();

    void (async () => {
      /** @type {{date: string, timing: string, inferred: boolean} | null} */
      let next = null;
      try {
        const h = await get(`/api/earnings/${T}/history`, signal);
        noteMeta(h);
        next = nextEarnings(h.upcoming ?? [], new Date().toISOString().slice(0, 10));
        await renderHistory(history, h);
      } catch (error) {
        if (isAbort(error)) return;
        history.replaceChildren(el('h2', null, 'Earnings moves'), failure(error, 'Earnings history', load));
      }
      if (!(await analysis)) return;
      try {
        const params = next ? { earnings_date: next.date, timing: next.timing === 'unknown' ? null : next.timing } : {};
        const s = await get(withParams(`/api/options/${T}/calendar-spread`, params), signal);
        noteMeta(s);
        renderSpread(spread, s);
      } catch (error) {
        if (isAbort(error)) return;
        if (error instanceof ApiError && error.status === 422) {
          spread.replaceChildren(el('h2', null, 'Calendar spread'), el('div', { className: 'state state-empty' }, el('strong', null, error.title ?? 'No calendar spread'), el('p', null, error.detail ?? '')));
        } else {
          spread.replaceChildren(el('h2', null, 'Calendar spread'), failure(error, 'Calendar spread', load));
        }
      }
    })();
  }

  /** @param {HTMLElement} target @param {Record<string, any>} a */
  function renderSummary(target, a) {
    const rows = metricRows(a);
    target.replaceChildren(
      ...[
      el('h2', null, 'Screen ', verdictBadge(a.verdict)),
      el(
        'div',
        { className: 'metrics' },
        rows.map((m) =>
          el(
            'div',
            { className: `metric${m.pass === null ? '' : m.pass ? ' metric-pass' : ' metric-fail'}`, dataset: { metric: m.key } },
            el('div', { className: 'kpi-label' }, m.label),
            el('div', { className: 'kpi-value' }, m.value),
            el(
              'div',
              { className: 'kpi-sub' },
              m.pass === null ? null : el('span', { className: m.pass ? 'check check-pass' : 'check check-fail' }, m.pass ? '✓ pass' : '✗ fail'),
              m.rule ? ` ${m.rule}` : '',
            ),
          ),
        ),
      ),
      (a.warnings ?? []).length ? el('ul', { className: 'warnings' }, a.warnings.map((/** @type {string} */ w) => el('li', null, w))) : null,
      el('p', { className: 'muted small' }, `Quote ${a.quoteTime ?? '–'} · source ${a.source}${a.source === 'demo' ? ' (synthetic demo market)' : ''}`),
      ].filter((node) => node !== null),
    );
  }

  /** @param {HTMLElement} target @param {Record<string, any>} s */
  function renderSpread(target, s) {
    const warnings = liquidityWarnings(/** @type {any} */ (s));
    /** @param {string} name @param {Leg} leg */
    const legRow = (name, leg) =>
      el(
        'tr',
        null,
        el('th', { attrs: { scope: 'row' } }, name),
        el('td', null, leg.expiry),
        el('td', { className: 'num' }, formatMoney(leg.bid)),
        el('td', { className: 'num' }, formatMoney(leg.ask)),
        el('td', { className: 'num' }, formatMoney(leg.mid)),
        el('td', { className: 'num' }, formatPercent(leg.iv)),
        el('td', { className: 'num' }, formatCount(leg.volume)),
        el('td', { className: 'num' }, formatCount(leg.openInterest)),
        el('td', { className: `num${typeof leg.spreadPct === 'number' && leg.spreadPct > WIDE_SPREAD ? ' warn' : ''}` }, formatPercent(leg.spreadPct)),
      );
    const table = el(
      'table',
      { className: 'data ticket-legs', attrs: { 'aria-label': 'Calendar spread legs' } },
      el('thead', null, el('tr', null, ['Leg', 'Expiry', 'Bid', 'Ask', 'Mid', 'IV', 'Volume', 'Open int.', 'Spread'].map((h, i) => el('th', { className: i > 1 ? 'num' : '', attrs: { scope: 'col' } }, h)))),
      el('tbody', null, legRow('Sell (front)', s.front), legRow('Buy (back)', s.back)),
    );
    target.replaceChildren(
      el('h2', null, 'Calendar spread'),
      el('p', { className: 'ticket-line' }, el('strong', null, `${s.ticker} ${formatNumber(s.strike, 2)} ${s.right} calendar`), ` · earnings ${s.earningsDate} ${s.timing}${s.earningsDateInferred ? ' (date inferred)' : ''} · spot ${formatMoney(s.spot)}`),
      el('div', { className: 'table-wrap' }, table),
      el(
        'dl',
        { className: 'kv ticket-kv' },
        el('dt', null, 'Debit at mid'),
        el('dd', null, `${formatMoney(s.debitMid)}${typeof s.debitMid === 'number' ? ` ($${formatNumber(s.debitMid * 100, 0)} per spread)` : ''}`),
        el('dt', null, 'Debit at fill'),
        el('dd', null, `${formatMoney(s.debitFill)}${typeof s.debitFill === 'number' ? ` ($${formatNumber(s.debitFill * 100, 0)} per spread, paying the ask / hitting the bid)` : ''}`),
        el('dt', null, 'Liquidity score'),
        el('dd', { className: s.liquidityScore < LOW_LIQUIDITY_SCORE ? 'warn' : '' }, `${formatNumber(s.liquidityScore, 1)} / 100`),
      ),
      warnings.length
        ? el('div', { className: 'liquidity-warnings', attrs: { role: 'note' } }, el('strong', null, 'Liquidity warnings'), el('ul', null, warnings.map((w) => el('li', null, w))))
        : el('p', { className: 'ok small' }, 'No liquidity warnings.'),
    );
  }

  /** @param {HTMLElement} target @param {Record<string, any>} h */
  async function renderHistory(target, h) {
    const s = h.summary ?? {};
    const plot = el('div', { className: 'chart history-chart' });
    const stats = el(
      'dl',
      { className: 'kv history-stats' },
      [
        ['Count', `${formatCount(s.count)}${s.skipped ? ` (${formatCount(s.skipped)} skipped)` : ''}`],
        ['Mean', pct(s.mean)],
        ['Median', pct(s.median)],
        ['Min', pct(s.min)],
        ['Max', pct(s.max)],
        ['Mean |move|', pct(s.meanAbsMove)],
        ['Up share', formatPercent(s.upShare, 0)],
      ].flatMap(([k, v]) => [el('dt', null, k), el('dd', null, v)]),
    );
    const upcoming = (h.upcoming ?? []).map((/** @type {any} */ e) => `${e.date} ${e.timing}${e.inferred ? ' (inferred)' : ''}`).join(', ');
    const moves = h.moves ?? [];
    target.replaceChildren(
      el('h2', null, 'Earnings moves'),
      moves.some((/** @type {any} */ m) => typeof m.move === 'number')
        ? el('div', { className: 'history-layout' }, plot, stats)
        : el('div', null, el('p', { className: 'muted' }, 'No past earnings moves to show.'), stats),
      el('p', { className: 'muted small' }, `${s.priceBasis ?? ''}${upcoming ? ` · next: ${upcoming}` : ''}`),
    );
    if (plot.isConnected) {
      await chart(plot, earningsMovesFigure(moves), () =>
        svgLineChart(
          moves.filter((/** @type {any} */ m) => typeof m.move === 'number').map((/** @type {any} */ m, /** @type {number} */ i) => ({ x: i + 1, y: m.move * 100, label: m.date })),
          { xLabel: 'Earnings (oldest → newest)', yFormat: (v) => `${formatNumber(v, 1)} %` },
        ),
      );
    }
  }

  load();

  return {
    refresh: load,
    /** @param {import('./common.js').ViewContext} next */
    update(next) {
      if (next.route.param !== ticker) {
        ticker = next.route.param;
        load();
      }
      return true;
    },
    destroy() {
      scope.destroy();
      purgeAll();
      banner.hide();
    },
  };
}
