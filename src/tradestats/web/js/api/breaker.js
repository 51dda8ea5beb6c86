// @ts-check
/**
 * Client-side circuit breaker: after `failureThreshold` consecutive failures (network,
 * timeout, 5xx) the API client fails fast instead of sending a request storm at a server
 * that is down. It closes when the health monitor reports the backend reachable again
 * (`close()`), or when the single half-open probe allowed after `resetTimeoutMs` succeeds.
 *
 * Events (`statechange`, a CustomEvent with detail `{state, previous}`) let the health
 * monitor check the backend at once when the breaker opens.
 */
import { systemClock } from './clock.js';

/** @typedef {'closed'|'open'|'half-open'} BreakerState */

/**
 * @typedef {object} BreakerOptions
 * @property {number} [failureThreshold]  consecutive failures that open it (default 5)
 * @property {number} [resetTimeoutMs]    open → half-open after this long (default 15 s)
 * @property {import('./clock.js').Clock} [clock]
 */

export class CircuitBreaker extends EventTarget {
  /** @param {BreakerOptions} [options] */
  constructor(options = {}) {
    super();
    this.failureThreshold = options.failureThreshold ?? 5;
    this.resetTimeoutMs = options.resetTimeoutMs ?? 15000;
    this.clock = options.clock ?? systemClock;
    /** @type {BreakerState} */
    this._state = 'closed';
    this.failures = 0;
    this.openedAt = 0;
    this.probeInFlight = false;
  }

  /** The current state; an open breaker whose reset timeout passed reads as half-open. */
  get state() {
    if (this._state === 'open' && this.clock.now() - this.openedAt >= this.resetTimeoutMs) {
      this._transition('half-open');
    }
    return this._state;
  }

  /** Milliseconds until an open breaker lets a probe through (0 unless open). */
  retryInMs() {
    return this.state === 'open' ? Math.max(0, this.openedAt + this.resetTimeoutMs - this.clock.now()) : 0;
  }

  /**
   * May a request be sent now? In half-open, only one probe at a time; the caller must
   * then report it with `recordSuccess`, `recordFailure` or `release`.
   * @returns {boolean}
   */
  acquire() {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'half-open' && !this.probeInFlight) {
      this.probeInFlight = true;
      return true;
    }
    return false;
  }

  /** The server answered (any status below 500): it is reachable. */
  recordSuccess() {
    this.failures = 0;
    this.probeInFlight = false;
    if (this._state !== 'closed') this._transition('closed');
  }

  /** A network error, timeout or 5xx. */
  recordFailure() {
    this.failures += 1;
    const wasProbe = this._state === 'half-open';
    this.probeInFlight = false;
    if (wasProbe || (this._state === 'closed' && this.failures >= this.failureThreshold)) {
      this.openedAt = this.clock.now();
      this._transition('open');
    }
  }

  /** An acquired request ended without a verdict (cancelled by its caller). */
  release() {
    this.probeInFlight = false;
  }

  /** Close now: the health monitor saw the backend come back. */
  close() {
    this.failures = 0;
    this.probeInFlight = false;
    if (this._state !== 'closed') this._transition('closed');
  }

  /** @param {BreakerState} state */
  _transition(state) {
    const previous = this._state;
    if (previous === state) return;
    this._state = state;
    this.dispatchEvent(new CustomEvent('statechange', { detail: { state, previous } }));
  }
}
