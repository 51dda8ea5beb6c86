// @ts-check
/**
 * Retry as a value plus the one retrying request loop the page uses (`fetchWithRetry`).
 *
 * - Backoff is capped exponential with FULL jitter: retry n (0-based) waits
 *   `random() * min(maxDelayMs, baseDelayMs * 2**n)` (AWS "Exponential Backoff and
 *   Jitter"), the same policy as the backend's resilience/retry.py.
 * - Only idempotent requests are retried (GET/HEAD/OPTIONS/PUT/DELETE, and POST/PATCH that
 *   carry an `Idempotency-Key`), and only after a network error, a timeout or a status in
 *   `retryStatuses` (408/429/500/502/503/504). Other 4xx are never retried.
 * - A `Retry-After` (delta-seconds or HTTP date) replaces the jittered backoff; one longer
 *   than `retryAfterCapMs` is not waited for: the request fails at once and the error
 *   carries `retryAfterMs`, so the page can say "busy, try again in 2 min" instead of
 *   hammering the server.
 * - Each attempt has its own timeout (AbortController) that also covers reading the
 *   body; the caller's AbortSignal cancels the current attempt and any pending backoff.
 * - One `X-Request-ID` per logical request, sent with every attempt, so the server's logs
 *   tie the attempts together.
 */
import { ApiError } from './errors.js';
import { raceAbort, sleep, systemClock } from './clock.js';

/**
 * @typedef {object} RetryPolicy
 * @property {number} retries          retries after the first attempt (default 3)
 * @property {number} baseDelayMs      first backoff ceiling (default 1000)
 * @property {number} maxDelayMs       backoff ceiling cap (default 10000)
 * @property {number} retryAfterCapMs  longest Retry-After waited for (default 30000)
 * @property {ReadonlySet<number>} retryStatuses
 */

/** @type {Readonly<RetryPolicy>} */
export const DEFAULT_RETRY_POLICY = Object.freeze({
  retries: 3,
  baseDelayMs: 1000,
  maxDelayMs: 10000,
  retryAfterCapMs: 30000,
  retryStatuses: new Set([408, 429, 500, 502, 503, 504]),
});

export const DEFAULT_TIMEOUT_MS = 10000;

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const KEYED_METHODS = new Set(['POST', 'PATCH']);

/**
 * The minimum of a fetch `Response` the client reads; the XHR upload transport and test
 * fakes provide the same.
 * @typedef {object} ResponseLike
 * @property {number} status
 * @property {string} [statusText]
 * @property {{get(name: string): string | null}} headers
 * @property {() => Promise<string>} text
 * @property {() => Promise<Blob>} [blob]
 */

/**
 * @typedef {object} TransportInit
 * @property {string} method
 * @property {Headers} headers
 * @property {BodyInit | null | undefined} body
 * @property {AbortSignal} signal
 * @property {RequestCredentials} credentials
 * @property {RequestCache} [cache]
 */

/** @typedef {(url: string, init: TransportInit) => Promise<ResponseLike>} Transport */

/** @typedef {'auto'|'json'|'text'|'blob'} ResponseType */

/**
 * @typedef {object} FetchWithRetryOptions
 * @property {string} [method]                 default GET
 * @property {HeadersInit} [headers]
 * @property {BodyInit | null} [body]          must be replayable (string, FormData, Blob…)
 * @property {AbortSignal} [signal]            caller cancellation
 * @property {number} [timeoutMs]              per attempt, including the body (default 10 s)
 * @property {Partial<RetryPolicy>} [retry]    overrides, e.g. `{retries: 0}`
 * @property {ResponseType} [responseType]     `auto`: JSON when the type says JSON, else text
 * @property {string} [requestId]              default: the X-Request-ID header, else new
 * @property {RequestCache} [cache]
 * @property {RequestCredentials} [credentials]  default same-origin
 * @property {Transport} [fetch]               default globalThis.fetch
 * @property {import('./clock.js').Clock} [clock]
 * @property {() => number} [random]           uniform [0, 1), for jitter
 * @property {() => boolean} [isOnline]        default `navigator.onLine !== false`
 * @property {import('./breaker.js').CircuitBreaker | null} [breaker]
 * @property {(info: {attempt: number, delayMs: number, error: ApiError}) => void} [onRetry]
 */

/**
 * @template [T=any]
 * @typedef {object} ApiResponse
 * @property {number} status
 * @property {ResponseLike['headers']} headers
 * @property {T} body          parsed per `responseType`; null for an empty body
 * @property {string} requestId
 * @property {number} attempts
 */

/**
 * Full-jitter delay before retry `retryNumber` (0 = the first retry).
 * @param {number} retryNumber
 * @param {Pick<RetryPolicy, 'baseDelayMs'|'maxDelayMs'>} policy
 * @param {() => number} [random]
 */
export function backoffDelay(retryNumber, policy, random = Math.random) {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(retryNumber, 52));
  return random() * ceiling;
}

/**
 * Milliseconds to wait from a `Retry-After` value: delta-seconds or an HTTP date.
 * Unparseable → null; a date in the past → 0.
 * @param {string | null | undefined} value
 * @param {number} nowMs  epoch ms
 * @returns {number | null}
 */
export function parseRetryAfter(value, nowMs) {
  const text = value?.trim();
  if (!text) return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return null; // "-5", "1e3": neither seconds nor a date
  const when = Date.parse(text);
  return Number.isNaN(when) ? null : Math.max(0, when - nowMs);
}

/**
 * May this request be sent twice? Idempotent methods, or POST/PATCH with an
 * Idempotency-Key (the server answers a replay with the first result).
 * @param {string} method
 * @param {Headers} headers
 */
export function isRetryableMethod(method, headers) {
  const m = method.toUpperCase();
  return IDEMPOTENT_METHODS.has(m) || (KEYED_METHODS.has(m) && Boolean(headers.get('Idempotency-Key')));
}

/** 32 hex characters; uses getRandomValues, which (unlike randomUUID) works over plain http. */
export function newRequestId() {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** @returns {boolean} */
function browserOnline() {
  return globalThis.navigator?.onLine !== false;
}

/** @type {Transport} */
const globalFetch = (url, init) => globalThis.fetch(url, init);

/**
 * Send one logical request, retrying per policy. Resolves for 2xx; otherwise rejects with
 * an `ApiError` (never anything else).
 * @param {string} url
 * @param {FetchWithRetryOptions} [options]
 * @returns {Promise<ApiResponse>}
 */
export async function fetchWithRetry(url, options = {}) {
  const method = (options.method ?? 'GET').toUpperCase();
  /** @type {RetryPolicy} */
  const policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const isOnline = options.isOnline ?? browserOnline;
  const breaker = options.breaker ?? null;
  const signal = options.signal;
  const headers = new Headers(options.headers);
  const requestId = options.requestId ?? headers.get('X-Request-ID') ?? newRequestId();
  headers.set('X-Request-ID', requestId);
  if (!headers.has('Accept')) headers.set('Accept', 'application/json, application/problem+json');
  const retryable = isRetryableMethod(method, headers);
  const base = { method, url, requestId };

  /** @type {ApiError | null} */
  let lastError = null;
  for (let attempt = 1; ; attempt += 1) {
    if (signal?.aborted) throw new ApiError({ ...base, kind: 'aborted', attempts: attempt - 1, cause: signal.reason });
    if (!isOnline()) throw new ApiError({ ...base, kind: 'offline', attempts: attempt - 1, cause: lastError ?? undefined });
    if (breaker && !breaker.acquire()) {
      // The breaker opened during our retries: what the server last said beats "circuit open".
      if (lastError) throw lastError;
      throw new ApiError({ ...base, kind: 'circuit-open', attempts: 0, retryAfterMs: breaker.retryInMs() });
    }

    const outcome = await sendOnce(url, method, headers, options, attempt, base, clock, isOnline);
    if (breaker) {
      if (outcome.verdict === 'success') breaker.recordSuccess();
      else if (outcome.verdict === 'failure') breaker.recordFailure();
      else breaker.release();
    }
    if (outcome.response) return outcome.response;
    const error = /** @type {ApiError} */ (outcome.error);
    if (error.kind === 'aborted' || !retryable || attempt > policy.retries || !isRetryableError(error, policy)) {
      throw error;
    }
    let delayMs;
    if (error.retryAfterMs !== null) {
      if (error.retryAfterMs > policy.retryAfterCapMs) throw error;
      delayMs = error.retryAfterMs;
    } else {
      delayMs = backoffDelay(attempt - 1, policy, random);
    }
    options.onRetry?.({ attempt, delayMs, error });
    try {
      await sleep(delayMs, clock, signal);
    } catch (reason) {
      throw new ApiError({ ...base, kind: 'aborted', attempts: attempt, cause: reason });
    }
    lastError = error;
  }
}

/**
 * @param {ApiError} error
 * @param {RetryPolicy} policy
 */
function isRetryableError(error, policy) {
  if (error.kind === 'network' || error.kind === 'timeout') return true;
  return error.kind === 'http' && policy.retryStatuses.has(error.status);
}

/**
 * One attempt: send, read the body, all under the attempt's timeout.
 * `verdict` is what the breaker learns: the server answered (<500), failed (network,
 * timeout, 5xx), or nothing (cancelled / unreadable success body).
 * @param {string} url
 * @param {string} method
 * @param {Headers} headers
 * @param {FetchWithRetryOptions} options
 * @param {number} attempt
 * @param {{method: string, url: string, requestId: string}} base
 * @param {import('./clock.js').Clock} clock
 * @param {() => boolean} isOnline
 * @returns {Promise<{verdict: 'success'|'failure'|'none', response?: ApiResponse, error?: ApiError}>}
 */
async function sendOnce(url, method, headers, options, attempt, base, clock, isOnline) {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const controller = new AbortController();
  let timedOut = false;
  const timer = clock.setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  const caller = options.signal;
  const onCallerAbort = () => controller.abort(caller?.reason);
  caller?.addEventListener('abort', onCallerAbort, { once: true });
  const transport = options.fetch ?? globalFetch;
  const fail = /** @param {import('./errors.js').ApiErrorKind} kind @param {unknown} cause */ (kind, cause) =>
    new ApiError({ ...base, kind, attempts: attempt, cause, timeoutMs });
  try {
    /** @type {ResponseLike} */
    let resp;
    try {
      resp = await raceAbort(
        transport(url, {
          method,
          headers,
          body: options.body,
          signal: controller.signal,
          credentials: options.credentials ?? 'same-origin',
          cache: options.cache,
        }),
        controller.signal,
      );
    } catch (cause) {
      if (caller?.aborted) return { verdict: 'none', error: fail('aborted', cause) };
      if (timedOut) return { verdict: 'failure', error: fail('timeout', cause) };
      return { verdict: 'failure', error: fail(isOnline() ? 'network' : 'offline', cause) };
    }

    const ok = resp.status >= 200 && resp.status < 300;
    /** @type {Promise<string | Blob>} */
    const reading = ok && options.responseType === 'blob' && resp.blob ? resp.blob() : resp.text();
    /** @type {string | Blob} */
    let raw;
    try {
      raw = await raceAbort(reading, controller.signal);
    } catch (cause) {
      // The headers arrived, the body did not: the server stalled or the link dropped.
      if (caller?.aborted) return { verdict: 'none', error: fail('aborted', cause) };
      return { verdict: 'failure', error: fail(timedOut ? 'timeout' : 'network', cause) };
    }

    const contentType = resp.headers.get('Content-Type') ?? '';
    if (ok) {
      let body;
      try {
        body = typeof raw === 'string' ? decodeBody(raw, contentType, options.responseType ?? 'auto') : raw;
      } catch (cause) {
        return { verdict: 'success', error: new ApiError({ ...base, kind: 'invalid-response', status: resp.status, attempts: attempt, cause }) };
      }
      return { verdict: 'success', response: { status: resp.status, headers: resp.headers, body, requestId: base.requestId, attempts: attempt } };
    }

    let body;
    try {
      body = decodeBody(/** @type {string} */ (raw), contentType, 'auto');
    } catch {
      body = raw; // a JSON type with a broken body: keep the text
    }
    const error = new ApiError({
      ...base,
      kind: 'http',
      status: resp.status,
      body,
      attempts: attempt,
      retryAfterMs: parseRetryAfter(resp.headers.get('Retry-After'), clock.now()),
    });
    return { verdict: resp.status >= 500 ? 'failure' : 'success', error };
  } finally {
    clock.clearTimeout(timer);
    caller?.removeEventListener('abort', onCallerAbort);
  }
}

/**
 * @param {string} text
 * @param {string} contentType
 * @param {ResponseType} responseType
 */
function decodeBody(text, contentType, responseType) {
  if (responseType === 'text' || responseType === 'blob') return text;
  const isJson = /[/+]json\b/i.test(contentType);
  if (responseType === 'json' || isJson) return text.trim() === '' ? null : JSON.parse(text);
  return text === '' ? null : text;
}
