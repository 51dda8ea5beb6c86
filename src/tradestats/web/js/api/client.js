// @ts-check
/**
 * The one place the page talks HTTP. Every request goes through an `ApiClient`: request
 * ids, per-attempt timeouts, retries with jittered backoff (retry.js), the client-side
 * circuit breaker (breaker.js) and `ApiError`s that carry what the server said.
 *
 * `apiClient` is the page's shared instance; `getJson`/`postJson`/… are bound to it.
 * Tests build their own `ApiClient` with a fake `fetch`, clock and random.
 */
import { CircuitBreaker } from './breaker.js';
import { systemClock } from './clock.js';
import { ApiError } from './errors.js';
import { DEFAULT_TIMEOUT_MS, fetchWithRetry, newRequestId } from './retry.js';

export { ApiError } from './errors.js';
export { CircuitBreaker } from './breaker.js';
export { fetchWithRetry, newRequestId, DEFAULT_RETRY_POLICY } from './retry.js';

/** Uploads send a whole file per attempt; give them longer than JSON calls. */
export const DEFAULT_UPLOAD_TIMEOUT_MS = 120000;

/**
 * @typedef {object} ApiClientOptions
 * @property {string} [baseUrl]            prefix for relative paths (default '')
 * @property {number} [timeoutMs]          per-attempt default (10 s)
 * @property {Partial<import('./retry.js').RetryPolicy>} [retry]
 * @property {HeadersInit} [headers]       sent with every request
 * @property {CircuitBreaker | null} [breaker]  default: a new CircuitBreaker; null: none
 * @property {import('./retry.js').Transport} [fetch]
 * @property {import('./clock.js').Clock} [clock]
 * @property {() => number} [random]
 * @property {() => boolean} [isOnline]
 * @property {() => XMLHttpRequest} [xhrFactory]  for upload progress (tests inject a fake)
 */

/**
 * Per-request options. `bypassBreaker` is for the health monitor's own probes (they are
 * what closes the breaker, so they must not be refused by it).
 * @typedef {object} RequestOptions
 * @property {AbortSignal} [signal]
 * @property {number} [timeoutMs]
 * @property {HeadersInit} [headers]
 * @property {Partial<import('./retry.js').RetryPolicy>} [retry]
 * @property {import('./retry.js').ResponseType} [responseType]
 * @property {string} [requestId]
 * @property {RequestCache} [cache]
 * @property {boolean} [bypassBreaker]
 * @property {string | boolean} [idempotencyKey]  a key, or true for a fresh one; makes POST/PATCH retryable
 * @property {(info: {attempt: number, delayMs: number, error: ApiError}) => void} [onRetry]
 */

/**
 * @typedef {object} UploadProgress
 * @property {number} loaded
 * @property {number | null} total   null when the browser cannot tell
 * @property {number} attempt        restarts from 0 bytes on a retry
 */

/**
 * @typedef {RequestOptions & {method?: string, onProgress?: (p: UploadProgress) => void}} UploadOptions
 */

export class ApiClient {
  /** @param {ApiClientOptions} [options] */
  constructor(options = {}) {
    this.baseUrl = options.baseUrl ?? '';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retry = options.retry ?? {};
    this.headers = options.headers;
    this.clock = options.clock ?? systemClock;
    /** @type {CircuitBreaker | null} */
    this.breaker = options.breaker === undefined ? new CircuitBreaker({ clock: this.clock }) : options.breaker;
    this.fetch = options.fetch;
    this.random = options.random;
    this.isOnline = options.isOnline;
    this.xhrFactory = options.xhrFactory;
  }

  /**
   * Send one logical request (retried per policy). Resolves for 2xx, rejects with ApiError.
   * @param {string} method
   * @param {string} path
   * @param {RequestOptions & {body?: BodyInit | null, transport?: import('./retry.js').Transport}} [options]
   * @returns {Promise<import('./retry.js').ApiResponse>}
   */
  request(method, path, options = {}) {
    const headers = new Headers(this.headers);
    new Headers(options.headers).forEach((value, key) => headers.set(key, value));
    if (options.idempotencyKey) {
      headers.set('Idempotency-Key', options.idempotencyKey === true ? newRequestId() : options.idempotencyKey);
    }
    return fetchWithRetry(this.baseUrl + path, {
      method,
      headers,
      body: options.body,
      signal: options.signal,
      timeoutMs: options.timeoutMs ?? this.timeoutMs,
      retry: { ...this.retry, ...options.retry },
      responseType: options.responseType,
      requestId: options.requestId,
      cache: options.cache,
      fetch: options.transport ?? this.fetch,
      clock: this.clock,
      random: this.random,
      isOnline: this.isOnline,
      breaker: options.bypassBreaker ? null : this.breaker,
      onRetry: options.onRetry,
    });
  }

  /** @param {string} path @param {RequestOptions} [options] */
  getJson(path, options) {
    return this.request('GET', path, options);
  }

  /** @param {string} path @param {unknown} data @param {RequestOptions} [options] */
  postJson(path, data, options) {
    return this.request('POST', path, withJson(data, options));
  }

  /** @param {string} path @param {unknown} data @param {RequestOptions} [options] */
  putJson(path, data, options) {
    return this.request('PUT', path, withJson(data, options));
  }

  /** @param {string} path @param {unknown} data @param {RequestOptions} [options] */
  patchJson(path, data, options) {
    return this.request('PATCH', path, withJson(data, options));
  }

  /** @param {string} path @param {RequestOptions} [options] */
  del(path, options) {
    return this.request('DELETE', path, options);
  }

  /**
   * Upload a multipart form (POST by default). Pass an `idempotencyKey` (or `true`) to
   * make it retryable. With `onProgress` the attempt is sent with XMLHttpRequest, because
   * fetch has no upload progress events; retries, timeouts, the breaker, request ids and
   * errors are the same either way.
   * @param {string} path
   * @param {FormData} form
   * @param {UploadOptions} [options]
   */
  upload(path, form, options = {}) {
    const { onProgress, method = 'POST', ...rest } = options;
    const factory = this.xhrFactory ?? (typeof XMLHttpRequest === 'function' ? () => new XMLHttpRequest() : null);
    /** @type {import('./retry.js').Transport | undefined} */
    let transport;
    if (onProgress && factory) {
      let attempt = 0;
      transport = xhrTransport(factory, (loaded, total) => onProgress({ loaded, total, attempt }), () => {
        attempt += 1;
      });
    }
    return this.request(method, path, {
      timeoutMs: DEFAULT_UPLOAD_TIMEOUT_MS,
      ...rest,
      body: form,
      transport,
    });
  }
}

/**
 * @param {unknown} data
 * @param {RequestOptions} [options]
 * @returns {RequestOptions & {body: string}}
 */
function withJson(data, options = {}) {
  const headers = new Headers(options.headers);
  if (!headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
  return { ...options, headers, body: JSON.stringify(data) };
}

/**
 * A Transport over XMLHttpRequest (for upload progress). The response body is fully
 * read when `load` fires, so the attempt timeout (which aborts the XHR) covers it.
 * @param {() => XMLHttpRequest} factory
 * @param {(loaded: number, total: number | null) => void} onProgress
 * @param {() => void} onStart
 * @returns {import('./retry.js').Transport}
 */
export function xhrTransport(factory, onProgress, onStart) {
  return (url, init) =>
    new Promise((resolve, reject) => {
      const xhr = factory();
      onStart();
      xhr.open(init.method, url);
      init.headers.forEach((value, key) => xhr.setRequestHeader(key, value));
      xhr.withCredentials = init.credentials === 'include';
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : null);
      const onAbort = () => xhr.abort();
      init.signal.addEventListener('abort', onAbort, { once: true });
      const done = () => init.signal.removeEventListener('abort', onAbort);
      xhr.onload = () => {
        done();
        const text = xhr.responseText;
        resolve({
          status: xhr.status,
          statusText: xhr.statusText,
          headers: { get: (name) => xhr.getResponseHeader(name) },
          text: () => Promise.resolve(text),
        });
      };
      xhr.onerror = () => {
        done();
        reject(new TypeError('XMLHttpRequest failed'));
      };
      xhr.onabort = () => {
        done();
        reject(init.signal.reason ?? new DOMException('aborted', 'AbortError'));
      };
      xhr.ontimeout = xhr.onerror;
      xhr.send(/** @type {XMLHttpRequestBodyInit | null} */ (init.body ?? null));
    });
}

/** The page's shared client (and breaker). */
export const apiClient = new ApiClient();

/** @param {string} path @param {RequestOptions} [options] */
export const getJson = (path, options) => apiClient.getJson(path, options);
/** @param {string} path @param {unknown} data @param {RequestOptions} [options] */
export const postJson = (path, data, options) => apiClient.postJson(path, data, options);
/** @param {string} path @param {unknown} data @param {RequestOptions} [options] */
export const putJson = (path, data, options) => apiClient.putJson(path, data, options);
/** @param {string} path @param {unknown} data @param {RequestOptions} [options] */
export const patchJson = (path, data, options) => apiClient.patchJson(path, data, options);
/** @param {string} path @param {RequestOptions} [options] */
export const del = (path, options) => apiClient.del(path, options);
/** @param {string} path @param {FormData} form @param {UploadOptions} [options] */
export const upload = (path, form, options) => apiClient.upload(path, form, options);
