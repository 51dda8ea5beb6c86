// @ts-check
/**
 * `HealthMonitor`: knows whether the page can reach the backend, and says so.
 *
 * - Polls `/api/health` (liveness) every `intervalMs` (15 s, jittered ±20%), then
 *   `/api/ready` (readiness: database, Redis, upstream breakers) to tell Connected from
 *   Degraded.
 * - While the backend is unreachable it probes quickly, then backs off: 1 s, 2 s, 4 s…
 *   capped at `maxBackoffMs` (30 s), same jitter.
 * - Pauses while the tab is hidden (no point polling a background tab) and checks at
 *   once when it becomes visible again, when the browser comes back online, and when the
 *   API client's breaker opens.
 * - On recovery (reachable after being down) it closes the client's circuit breaker and
 *   emits `recovered`, so views refetch without a reload.
 *
 * Events (CustomEvent): `statechange` {state, previous, snapshot}; `update` (snapshot,
 * after every check and pause/resume); `recovered` {downForMs, snapshot}.
 * Its own probes bypass the breaker and are not retried: the schedule here is the retry.
 */
import { systemClock } from './clock.js';

/** @typedef {'unknown'|'connected'|'degraded'|'reconnecting'|'offline'} ConnectionState */

/**
 * @typedef {object} HealthCheckEntry
 * @property {'pass'|'warn'|'fail'} status
 * @property {string} [componentId]
 * @property {string} [componentType]
 * @property {unknown} [observedValue]
 * @property {string} [observedUnit]
 * @property {string} [time]
 * @property {string} [output]
 */

/**
 * application/health+json (draft-inadarei-api-health-check), as served by api/health.py.
 * @typedef {object} HealthDocument
 * @property {'pass'|'warn'|'fail'} status
 * @property {string} [version]
 * @property {string} [releaseId]
 * @property {string} [serviceId]
 * @property {string} [description]
 * @property {string} [output]
 * @property {Record<string, HealthCheckEntry[]>} [checks]
 */

/**
 * @typedef {object} ConnectionSnapshot
 * @property {ConnectionState} state
 * @property {number} since               epoch ms of the last state change
 * @property {number | null} nextAttemptAt  epoch ms of the next scheduled check, if any
 * @property {boolean} checking           a check is in flight
 * @property {boolean} paused             the tab is hidden; polling is paused
 * @property {boolean} networkOffline     the browser reports no network
 * @property {number} failures            consecutive failed liveness checks
 * @property {HealthDocument | null} ready  the last readiness document (kept while down)
 * @property {number | null} readyAt      when `ready` was received
 * @property {number | null} lastOkAt     when the backend last answered
 * @property {string | null} reason       why not connected, in words
 * @property {import('./errors.js').ApiError | null} lastError
 */

/**
 * The subset of `document` the monitor uses.
 * @typedef {{visibilityState: string, addEventListener(type: string, fn: () => void): void, removeEventListener(type: string, fn: () => void): void}} VisibilitySource
 */

/**
 * @typedef {object} HealthMonitorOptions
 * @property {import('./client.js').ApiClient} client
 * @property {import('./breaker.js').CircuitBreaker | null} [breaker]  default: client.breaker
 * @property {import('./clock.js').Clock} [clock]
 * @property {() => number} [random]
 * @property {VisibilitySource | null} [document]      default globalThis.document
 * @property {{onLine: boolean} | null} [navigator]    default globalThis.navigator
 * @property {EventTarget | null} [connectivityEvents] `online`/`offline` source; default globalThis (window)
 * @property {number} [intervalMs]     healthy poll interval (15000)
 * @property {number} [jitter]         +/- fraction applied to every delay (0.2)
 * @property {number} [probeBaseMs]    first re-probe after a failure (1000)
 * @property {number} [maxBackoffMs]   re-probe cap while down (30000)
 * @property {number} [offlineAfter]   consecutive failures before "offline" (5)
 * @property {number} [timeoutMs]      per probe (5000)
 * @property {string} [healthUrl]
 * @property {string} [readyUrl]
 */

const DOWN_STATES = new Set(['reconnecting', 'offline']);

export class HealthMonitor extends EventTarget {
  /** @param {HealthMonitorOptions} options */
  constructor(options) {
    super();
    this.client = options.client;
    this.breaker = options.breaker === undefined ? options.client.breaker : options.breaker;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.doc = options.document === undefined ? /** @type {VisibilitySource | undefined} */ (globalThis.document) ?? null : options.document;
    this.nav = options.navigator === undefined ? globalThis.navigator ?? null : options.navigator;
    this.connectivity =
      options.connectivityEvents === undefined
        ? typeof globalThis.addEventListener === 'function' ? globalThis : null
        : options.connectivityEvents;
    this.intervalMs = options.intervalMs ?? 15000;
    this.jitter = options.jitter ?? 0.2;
    this.probeBaseMs = options.probeBaseMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30000;
    this.offlineAfter = options.offlineAfter ?? 5;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.healthUrl = options.healthUrl ?? '/api/health';
    this.readyUrl = options.readyUrl ?? '/api/ready';

    /** @type {ConnectionSnapshot} */
    this.snapshot = {
      state: 'unknown',
      since: this.clock.now(),
      nextAttemptAt: null,
      checking: false,
      paused: false,
      networkOffline: false,
      failures: 0,
      ready: null,
      readyAt: null,
      lastOkAt: null,
      reason: null,
      lastError: null,
    };
    /** @type {number | null} epoch ms the backend was first seen down in this outage */
    this.downSince = null;
    /** @type {import('./clock.js').TimerHandle | undefined} */
    this.timer = undefined;
    /** @type {Promise<void> | null} */
    this.inFlight = null;
    /** @type {AbortController | null} */
    this.abort = null;
    this.running = false;

    this._onVisibility = () => this._visibilityChanged();
    this._onOnline = () => {
      this.snapshot.networkOffline = false;
      if (this.running) void this.checkNow();
    };
    this._onOffline = () => this._networkOffline();
    this._onBreaker = /** @param {Event} e */ (e) => {
      const detail = /** @type {CustomEvent<{state: string}>} */ (e).detail;
      if (detail?.state === 'open' && this.running && !this._hidden()) void this.checkNow();
    };
  }

  /** Start polling (checks at once). */
  start() {
    if (this.running) return;
    this.running = true;
    this.doc?.addEventListener('visibilitychange', this._onVisibility);
    this.connectivity?.addEventListener('online', this._onOnline);
    this.connectivity?.addEventListener('offline', this._onOffline);
    this.breaker?.addEventListener('statechange', this._onBreaker);
    if (this._hidden()) this._pause();
    else void this.checkNow();
  }

  /** Stop polling and cancel an in-flight probe. */
  stop() {
    this.running = false;
    this.doc?.removeEventListener('visibilitychange', this._onVisibility);
    this.connectivity?.removeEventListener('online', this._onOnline);
    this.connectivity?.removeEventListener('offline', this._onOffline);
    this.breaker?.removeEventListener('statechange', this._onBreaker);
    this._clearTimer();
    this.abort?.abort();
  }

  /** @returns {ConnectionState} */
  get state() {
    return this.snapshot.state;
  }

  /** Whole seconds until the next scheduled check (null when none is scheduled). */
  secondsUntilNextAttempt() {
    const at = this.snapshot.nextAttemptAt;
    return at === null ? null : Math.max(0, Math.ceil((at - this.clock.now()) / 1000));
  }

  /**
   * Check now (joins a check already in flight); the next one is scheduled from its result.
   * @returns {Promise<void>}
   */
  checkNow() {
    if (this.inFlight) return this.inFlight;
    this._clearTimer();
    this.inFlight = this._check().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  async _check() {
    if (this.nav && this.nav.onLine === false) {
      this._networkOffline();
      return;
    }
    const abort = new AbortController();
    this.abort = abort;
    this.snapshot.checking = true;
    this.snapshot.nextAttemptAt = null;
    const probe = { retry: { retries: 0 }, bypassBreaker: true, timeoutMs: this.timeoutMs, cache: /** @type {RequestCache} */ ('no-store'), signal: abort.signal };
    try {
      await this.client.getJson(this.healthUrl, probe);
    } catch (err) {
      this.snapshot.checking = false;
      const error = /** @type {import('./errors.js').ApiError} */ (err);
      if (error.kind !== 'aborted') this._failed(error);
      return;
    }
    /** @type {HealthDocument | null} */
    let ready = null;
    /** @type {string | null} */
    let readyProblem = null;
    try {
      ready = (await this.client.getJson(this.readyUrl, probe)).body;
    } catch (err) {
      const error = /** @type {import('./errors.js').ApiError} */ (err);
      if (error.kind === 'aborted') {
        this.snapshot.checking = false;
        return;
      }
      // A failing readiness check answers 503 with the health document itself.
      const body = /** @type {Partial<HealthDocument> | undefined} */ (error.body);
      if (body && typeof body === 'object' && typeof body.status === 'string') ready = /** @type {HealthDocument} */ (body);
      else readyProblem = error.message;
    }
    this.snapshot.checking = false;
    this._succeeded(ready, readyProblem);
  }

  /**
   * @param {HealthDocument | null} ready
   * @param {string | null} readyProblem
   */
  _succeeded(ready, readyProblem) {
    const now = this.clock.now();
    const wasDown = DOWN_STATES.has(this.snapshot.state);
    const downSince = this.downSince;
    Object.assign(this.snapshot, { failures: 0, lastOkAt: now, lastError: null, networkOffline: false });
    if (ready) Object.assign(this.snapshot, { ready, readyAt: now });
    this.downSince = null;
    const connected = ready?.status === 'pass';
    this.snapshot.reason = connected ? null : readyProblem ? `Readiness unknown: ${readyProblem}` : describeReadiness(ready);
    this._setState(connected ? 'connected' : 'degraded');
    this._schedule(this.intervalMs);
    if (!wasDown && ready?.status !== 'fail' && this.breaker && this.breaker.state !== 'closed') {
      // The breaker opened on 5xx/timeouts from API calls, yet the server answers and is
      // not failing its readiness: the errors were per request, not an outage. Left open,
      // it would refuse every call for its whole reset timeout (no probe gets through
      // while the views show errors), so close it; failed panels reload (ui/recovery.js).
      this.breaker.close();
    }
    if (wasDown) {
      this.breaker?.close();
      const downForMs = downSince === null ? 0 : now - downSince;
      this.dispatchEvent(new CustomEvent('recovered', { detail: { downForMs, snapshot: this.snapshot } }));
    }
  }

  /** @param {import('./errors.js').ApiError} error */
  _failed(error) {
    const s = this.snapshot;
    s.failures += 1;
    s.lastError = error;
    this.downSince ??= this.clock.now();
    const networkOffline = error.kind === 'offline' || this.nav?.onLine === false;
    s.networkOffline = networkOffline;
    s.reason = networkOffline ? 'This device is offline' : error.message;
    this._setState(networkOffline || s.failures >= this.offlineAfter ? 'offline' : 'reconnecting');
    this._schedule(Math.min(this.maxBackoffMs, this.probeBaseMs * 2 ** Math.min(s.failures - 1, 30)));
  }

  _networkOffline() {
    if (!this.running) return;
    this.downSince ??= this.clock.now();
    Object.assign(this.snapshot, { networkOffline: true, checking: false, reason: 'This device is offline' });
    this._setState('offline');
    // The `online` event normally wakes us; the slow timer is a fallback if it never fires.
    this._schedule(this.maxBackoffMs);
  }

  _visibilityChanged() {
    if (!this.running) return;
    if (this._hidden()) {
      this._pause();
    } else {
      this.snapshot.paused = false;
      void this.checkNow();
    }
  }

  _pause() {
    this._clearTimer();
    this.snapshot.paused = true;
    this.snapshot.nextAttemptAt = null;
    this._emitUpdate();
  }

  _hidden() {
    return this.doc?.visibilityState === 'hidden';
  }

  /** @param {number} baseMs */
  _schedule(baseMs) {
    this._clearTimer();
    if (!this.running || this._hidden()) {
      this.snapshot.paused = this._hidden();
      this.snapshot.nextAttemptAt = null;
    } else {
      const delay = Math.max(0, baseMs * (1 + this.jitter * (2 * this.random() - 1)));
      this.snapshot.nextAttemptAt = this.clock.now() + delay;
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        void this.checkNow();
      }, delay);
    }
    this._emitUpdate();
  }

  _clearTimer() {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.snapshot.nextAttemptAt = null;
  }

  /** @param {ConnectionState} state */
  _setState(state) {
    const previous = this.snapshot.state;
    if (previous === state) return;
    this.snapshot.state = state;
    this.snapshot.since = this.clock.now();
    this.dispatchEvent(new CustomEvent('statechange', { detail: { state, previous, snapshot: this.snapshot } }));
  }

  _emitUpdate() {
    this.dispatchEvent(new CustomEvent('update', { detail: this.snapshot }));
  }
}

/**
 * "database:responseTime fail, redis:responseTime warn" for a non-pass readiness document.
 * @param {HealthDocument | null} doc
 * @returns {string}
 */
export function describeReadiness(doc) {
  if (!doc) return 'Readiness unknown';
  const bad = [];
  for (const [key, entries] of Object.entries(doc.checks ?? {})) {
    for (const entry of entries) {
      if (entry.status !== 'pass') bad.push(`${key} ${entry.status}${entry.output ? ` (${entry.output})` : ''}`);
    }
  }
  if (bad.length) return bad.join('; ');
  return doc.status === 'pass' ? '' : `Readiness ${doc.status}`;
}
