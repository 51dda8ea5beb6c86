// @ts-check
/**
 * The always-visible connection indicator (`#connection`), the stale-data banner and the
 * demo badge. Rendering is split from wording: `describeConnection` is a pure function of
 * a monitor snapshot and the time, so it is unit-tested without a DOM.
 */
import { systemClock } from '../api/clock.js';

/**
 * @typedef {import('../api/health.js').ConnectionSnapshot} ConnectionSnapshot
 * @typedef {{state: string, label: string, countdown: string, text: string, title: string}} ConnectionView
 */

/**
 * What the indicator says for a snapshot at `nowMs`. `label` is announced to screen
 * readers (the element is a polite live region); `countdown` changes every second and
 * is rendered aria-hidden so it is not read out each tick.
 * @param {ConnectionSnapshot} s
 * @param {number} nowMs
 * @returns {ConnectionView}
 */
export function describeConnection(s, nowMs) {
  const secs = s.nextAttemptAt === null ? null : Math.max(0, Math.ceil((s.nextAttemptAt - nowMs) / 1000));
  const lastOk = s.lastOkAt === null ? '' : `Last reached the server ${formatAge(nowMs - s.lastOkAt)} ago.`;
  const countdown = s.checking || secs === null || secs === 0 ? '…' : ` in ${secs} s…`;
  /** @type {(state: string, label: string, countdown: string, title: string) => ConnectionView} */
  const view = (state, label, cd, title) => ({ state, label, countdown: cd, text: label + cd, title });
  switch (s.state) {
    case 'connected':
      return view('connected', 'Connected', '', 'The server is up and ready.');
    case 'degraded':
      return view('degraded', 'Degraded', '', s.reason || 'Some server components are not healthy.');
    case 'reconnecting':
      return view('reconnecting', 'Reconnecting', countdown, join(s.reason, lastOk));
    case 'offline':
      if (s.networkOffline) return view('offline', 'Offline', '', join('This device has no network connection.', lastOk));
      return view('offline', 'Offline · retrying', countdown, join(s.reason, lastOk));
    default:
      return view('unknown', 'Connecting…', '', 'Contacting the server.');
  }
}

/** @param {(string | null)[]} parts */
function join(...parts) {
  return parts
    .filter(Boolean)
    .map((p) => (/[.!?…]$/.test(/** @type {string} */ (p)) ? p : `${p}.`))
    .join(' ');
}

/**
 * "42 s", "3 min", "2 h", "3 d".
 * @param {number} ms
 */
export function formatAge(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

export class ConnectionIndicator {
  /**
   * @param {HTMLElement} element  the `#connection` element
   * @param {import('../api/health.js').HealthMonitor} monitor
   * @param {{clock?: import('../api/clock.js').Clock}} [options]
   */
  constructor(element, monitor, options = {}) {
    this.element = element;
    this.monitor = monitor;
    this.clock = options.clock ?? systemClock;
    /** @type {import('../api/clock.js').TimerHandle | undefined} */
    this.ticker = undefined;
    const doc = element.ownerDocument;
    this.label = doc.createElement('span');
    this.countdown = doc.createElement('span');
    this.countdown.className = 'countdown';
    this.countdown.setAttribute('aria-hidden', 'true');
    element.replaceChildren(this.label, this.countdown);
    this._onChange = () => this.render();
    monitor.addEventListener('update', this._onChange);
    monitor.addEventListener('statechange', this._onChange);
    this.render();
  }

  /** Write the current state; keeps a 1 s ticker running while a countdown is shown. */
  render() {
    const snapshot = this.monitor.snapshot;
    const view = describeConnection(snapshot, this.clock.now());
    this.element.dataset.state = view.state;
    if (this.label.textContent !== view.label) this.label.textContent = view.label;
    if (this.countdown.textContent !== view.countdown) this.countdown.textContent = view.countdown;
    this.element.title = view.title;
    const counting = (view.state === 'reconnecting' || view.state === 'offline') && snapshot.nextAttemptAt !== null;
    if (counting && this.ticker === undefined) {
      this.ticker = this.clock.setTimeout(() => {
        this.ticker = undefined;
        this.render();
      }, 1000);
    }
  }

  destroy() {
    this.monitor.removeEventListener('update', this._onChange);
    this.monitor.removeEventListener('statechange', this._onChange);
    if (this.ticker !== undefined) this.clock.clearTimeout(this.ticker);
    this.ticker = undefined;
  }
}

/**
 * "Showing data from 14:32:05 (3 min ago). Reconnecting…" while live data is unavailable.
 * The age is refreshed every 10 s while shown.
 */
export class StaleBanner {
  /**
   * @param {HTMLElement} element  the banner area (`#banner`)
   * @param {{clock?: import('../api/clock.js').Clock}} [options]
   */
  constructor(element, options = {}) {
    this.element = element;
    this.clock = options.clock ?? systemClock;
    /** @type {{asOf: number, reason: string} | null} */
    this.current = null;
    /** @type {import('../api/clock.js').TimerHandle | undefined} */
    this.ticker = undefined;
  }

  /**
   * @param {number | Date} asOf  when the shown data was current
   * @param {string} reason       e.g. "Reconnecting…"
   */
  show(asOf, reason) {
    this.current = { asOf: Number(asOf), reason };
    this.render();
  }

  hide() {
    this.current = null;
    if (this.ticker !== undefined) this.clock.clearTimeout(this.ticker);
    this.ticker = undefined;
    this.element.hidden = true;
    this.element.replaceChildren();
  }

  render() {
    if (!this.current) return;
    const { asOf, reason } = this.current;
    this.element.hidden = false;
    this.element.dataset.kind = 'stale';
    this.element.textContent = staleText(asOf, this.clock.now(), reason);
    if (this.ticker === undefined) {
      this.ticker = this.clock.setTimeout(() => {
        this.ticker = undefined;
        this.render();
      }, 10000);
    }
  }
}

/**
 * @param {number} asOf
 * @param {number} nowMs
 * @param {string} reason
 */
export function staleText(asOf, nowMs, reason) {
  const at = new Date(asOf).toLocaleTimeString();
  return `Showing data from ${at} (${formatAge(nowMs - asOf)} ago). ${reason}`.trim();
}

/**
 * A "Demo data" badge for anything showing the synthetic demo market.
 * @param {string} [label]
 * @param {Document} [doc]
 * @returns {HTMLElement}
 */
export function demoBadge(label = 'Demo data', doc = document) {
  const badge = doc.createElement('span');
  badge.className = 'badge badge-demo';
  badge.textContent = label;
  badge.title = 'Synthetic market data from the built-in demo provider, not real quotes.';
  return badge;
}
