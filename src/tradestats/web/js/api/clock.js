// @ts-check
/**
 * Time as a value: everything in web/js/api/ that waits or reads the time takes a
 * `Clock`, so tests drive retries, breakers and health polling with a fake one.
 */

/** @typedef {ReturnType<typeof globalThis.setTimeout>} TimerHandle */

/**
 * @typedef {object} Clock
 * @property {() => number} now  wall-clock epoch milliseconds (Retry-After dates, ages)
 * @property {(fn: () => void, ms: number) => TimerHandle} setTimeout
 * @property {(handle: TimerHandle | undefined) => void} clearTimeout
 */

/** @type {Clock} */
export const systemClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle),
};

/**
 * Wait `ms` on `clock`; rejects with the signal's reason as soon as `signal` aborts.
 * @param {number} ms
 * @param {Clock} clock
 * @param {AbortSignal} [signal]
 * @returns {Promise<void>}
 */
export function sleep(ms, clock, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Settle with `promise`, or reject with the signal's reason when it aborts first. Used so a
 * timeout also covers work that ignores the signal (e.g. a body stream that never ends).
 * @template T
 * @param {Promise<T>} promise
 * @param {AbortSignal} signal
 * @returns {Promise<T>}
 */
export function raceAbort(promise, signal) {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
