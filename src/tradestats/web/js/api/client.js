// @ts-check
/**
 * The one place the page talks HTTP. This first version sends a request id and applies a
 * per-attempt timeout that also covers reading the body; retries, backoff and the
 * client-side breaker build on it.
 */

/** @typedef {{timeoutMs?: number, signal?: AbortSignal, headers?: Record<string,string>}} RequestOptions */

export class ApiError extends Error {
  /** @param {string} message @param {number} status @param {any} problem */
  constructor(message, status, problem) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
}

/** @returns {string} */
export function newRequestId() {
  return crypto.randomUUID().replaceAll('-', '');
}

/**
 * GET a JSON document.
 * @param {string} url
 * @param {RequestOptions} [options]
 * @returns {Promise<{status: number, body: any, requestId: string}>}
 */
export async function getJson(url, options = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('timeout', 'TimeoutError')), options.timeoutMs ?? 10000);
  const onCallerAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });
  const requestId = newRequestId();
  try {
    const resp = await fetch(url, {
      headers: { Accept: 'application/json', 'X-Request-ID': requestId, ...(options.headers ?? {}) },
      signal: controller.signal,
      credentials: 'same-origin',
    });
    const text = await resp.text();
    const body = text ? JSON.parse(text) : null;
    if (!resp.ok && !(resp.status === 503 && body?.checks)) {
      throw new ApiError(body?.detail ?? body?.title ?? `HTTP ${resp.status}`, resp.status, body);
    }
    return { status: resp.status, body, requestId };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onCallerAbort);
  }
}
