// @ts-check
/**
 * `ApiError`: the only error the API client throws. It says what happened (`kind`), what
 * the server said (RFC 9457 problem fields), and which request it was (`requestId`).
 */

/**
 * - `http`: the server answered with an error status (see `status`, `title`, `detail`)
 * - `timeout`: an attempt exceeded its time limit (connecting or reading the body)
 * - `network`: no answer (connection refused/reset, DNS, CORS)
 * - `offline`: the browser reports no network (`navigator.onLine === false`)
 * - `circuit-open`: not sent; the client-side breaker is open (server known down)
 * - `aborted`: the caller cancelled via its AbortSignal
 * - `invalid-response`: a success status whose body could not be parsed
 * @typedef {'http'|'timeout'|'network'|'offline'|'circuit-open'|'aborted'|'invalid-response'} ApiErrorKind
 */

/** @typedef {{name?: string, in?: string, reason?: string, [key: string]: unknown}} ProblemFieldError */

/**
 * @typedef {object} ApiErrorInit
 * @property {ApiErrorKind} kind
 * @property {string} method
 * @property {string} url
 * @property {string} requestId
 * @property {number} [status]        0 when no response arrived
 * @property {unknown} [body]         the parsed response body, when there was one
 * @property {number} [attempts]      attempts made for this logical request
 * @property {number | null} [retryAfterMs]  the server's Retry-After (ms) if it sent one
 * @property {unknown} [cause]
 */

/** @param {number} ms */
function seconds(ms) {
  return `${Math.round(ms / 100) / 10} s`;
}

export class ApiError extends Error {
  /** @param {ApiErrorInit & {message?: string, timeoutMs?: number}} init */
  constructor(init) {
    const problem = asProblem(init.body);
    super(init.message ?? describe(init, problem), { cause: init.cause });
    this.name = 'ApiError';
    /** @type {ApiErrorKind} */
    this.kind = init.kind;
    this.status = init.status ?? 0;
    this.method = init.method;
    this.url = init.url;
    this.requestId = init.requestId;
    this.attempts = init.attempts ?? 1;
    this.retryAfterMs = init.retryAfterMs ?? null;
    /** The parsed response body (problem document, health document, text), if any. */
    this.body = init.body;
    /** @type {string | undefined} */
    this.type = problem?.type;
    /** @type {string | undefined} */
    this.title = problem?.title;
    /** @type {string | undefined} */
    this.detail = problem?.detail;
    /** @type {ProblemFieldError[]} */
    this.errors = problem?.errors ?? [];
  }

  get isTimeout() {
    return this.kind === 'timeout';
  }

  get isNetwork() {
    return this.kind === 'network';
  }

  get isOffline() {
    return this.kind === 'offline';
  }

  get isCircuitOpen() {
    return this.kind === 'circuit-open';
  }

  get isAborted() {
    return this.kind === 'aborted';
  }
}

/**
 * The problem+json fields of a body, when it looks like one.
 * @param {unknown} body
 * @returns {{type?: string, title?: string, detail?: string, errors?: ProblemFieldError[]} | null}
 */
export function asProblem(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  const b = /** @type {Record<string, unknown>} */ (body);
  /** @param {unknown} v */
  const str = (v) => (typeof v === 'string' ? v : undefined);
  const errors = Array.isArray(b.errors) ? /** @type {ProblemFieldError[]} */ (b.errors) : undefined;
  if (str(b.title) === undefined && str(b.detail) === undefined && errors === undefined) return null;
  return { type: str(b.type), title: str(b.title), detail: str(b.detail), errors };
}

/**
 * @param {ApiErrorInit & {timeoutMs?: number}} init
 * @param {ReturnType<typeof asProblem>} problem
 */
function describe(init, problem) {
  const what = `${init.method} ${init.url}`;
  switch (init.kind) {
    case 'http': {
      if (problem?.detail) return problem.detail;
      if (problem?.title) return `${problem.title} (HTTP ${init.status})`;
      return `${what} failed with HTTP ${init.status}`;
    }
    case 'timeout':
      return `${what} timed out${init.timeoutMs ? ` after ${seconds(init.timeoutMs)}` : ''}`;
    case 'network':
      return `Could not reach the server (${what})`;
    case 'offline':
      return 'This device is offline';
    case 'circuit-open':
      return `The server is unavailable; not sending ${what} until it is back`;
    case 'aborted':
      return `${what} was cancelled`;
    case 'invalid-response':
      return `${what} returned a response that could not be read`;
    default:
      return `${what} failed`;
  }
}
