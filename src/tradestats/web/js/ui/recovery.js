// @ts-check
/**
 * Panels that failed for a transient reason reload by themselves.
 *
 * The API client retries each request (retry.js) and the HealthMonitor refetches the view
 * after an outage it saw. Neither covers a server that stays reachable while some of its
 * answers fail (an endpoint answering 503 to half the requests, a timeout under load): a
 * request that used up its retries left its panel showing the error until the user
 * navigated away. `PanelRecovery` watches the view for elements marked
 * `data-transient="true"` (see `errorState`) and, while one is there, calls the view's
 * `refresh` after a backoff: 2 s, 4 s, 8 s … capped at 30 s, ±20 % jitter, at most
 * `maxAttempts` times per mounted view, so an endpoint that stays broken is not polled
 * forever, and never while a load is still running (`aria-busy`), which it would abort.
 * Views refresh without losing local state (see views/common.js).
 */
import { ApiError } from '../api/errors.js';
import { systemClock } from '../api/clock.js';

export const TRANSIENT_SELECTOR = '[data-transient="true"]';
const BUSY_SELECTOR = '[aria-busy="true"]';
const TRANSIENT_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/**
 * Would the same request, sent again later, likely succeed? Network errors, timeouts,
 * the client's open breaker, and the statuses the client retries.
 * @param {unknown} error
 */
export function isTransientError(error) {
  if (!(error instanceof ApiError)) return false;
  if (error.isNetwork || error.isTimeout || error.isCircuitOpen || error.isOffline) return true;
  return error.kind === 'http' && TRANSIENT_STATUSES.has(error.status ?? 0);
}

/**
 * @typedef {object} PanelRecoveryOptions
 * @property {ParentNode} root                    the view root to watch
 * @property {import('../api/clock.js').Clock} [clock]
 * @property {() => number} [random]
 * @property {number} [baseDelayMs]   first delay (2000)
 * @property {number} [maxDelayMs]    delay cap (30000)
 * @property {number} [maxAttempts]   refreshes per mounted view (8)
 */

export class PanelRecovery {
  /** @param {PanelRecoveryOptions} options */
  constructor(options) {
    this.root = options.root;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.baseDelayMs = options.baseDelayMs ?? 2000;
    this.maxDelayMs = options.maxDelayMs ?? 30000;
    this.maxAttempts = options.maxAttempts ?? 8;
    /** @type {(() => void) | null} */
    this.refresh = null;
    this.attempts = 0;
    /** @type {import('../api/clock.js').TimerHandle | undefined} */
    this.timer = undefined;
  }

  /**
   * A view was mounted: recover it with `refresh` (a fresh attempt budget).
   * @param {() => void} refresh
   */
  attach(refresh) {
    this.cancel();
    this.refresh = refresh;
    this.attempts = 0;
    this.check();
  }

  /** Call when the view's DOM changed: schedules a refresh if a transient panel is shown. */
  check() {
    if (this.timer !== undefined || !this.refresh || this.attempts >= this.maxAttempts) return;
    if (!this.root.querySelector(TRANSIENT_SELECTOR)) return;
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** this.attempts);
    const delay = ceiling * (0.8 + 0.4 * this.random());
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (!this.refresh || !this.root.querySelector(TRANSIENT_SELECTOR)) return;
      // A load is still running (its panel keeps the old error meanwhile): a refresh
      // now would abort it. Its end changes aria-busy, which checks again.
      if (this.root.querySelector(BUSY_SELECTOR)) return;
      this.attempts += 1;
      this.refresh();
    }, delay);
  }

  /** Forget the pending refresh (the view is going away). */
  cancel() {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.refresh = null;
  }

  /**
   * Re-check whenever the view's DOM changes.
   * @param {{observe(target: Node, options: MutationObserverInit): void}} [observer]  for tests
   */
  observe(observer) {
    const watcher = observer ?? new MutationObserver(() => this.check());
    watcher.observe(/** @type {Node} */ (/** @type {unknown} */ (this.root)), { childList: true, subtree: true, attributes: true, attributeFilter: ['data-transient', 'aria-busy'] });
  }
}
