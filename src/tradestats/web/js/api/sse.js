// @ts-check
/**
 * Following a Server-Sent Events stream over `fetch` (not `EventSource`), so the page
 * decides how to reconnect and can say so: `SseFollower` remembers the last event id,
 * reconnects with jittered backoff sending `Last-Event-ID` (the server replays everything
 * after it, so nothing is lost), treats a silent connection (no bytes, not even the
 * ~15 s heartbeat comment) as dead, and stops for good at a terminal event or a 4xx.
 *
 * `SseParser` is the pure part (the WHATWG event-stream format), unit-tested in Node.
 */
import { systemClock } from './clock.js';
import { newRequestId } from './retry.js';

/** @typedef {{id: string | null, event: string, data: string}} SseEvent */

/**
 * Incremental parser of `text/event-stream`: feed decoded text chunks as they arrive,
 * get back the complete events. Comment lines (`: heartbeat`) produce nothing.
 */
export class SseParser {
  constructor() {
    this.buffer = '';
    /** @type {string[]} */
    this.data = [];
    this.event = '';
    /** @type {string | null} */
    this.id = null;
    /** `retry:` from the server (ms), if it sent one. */
    /** @type {number | null} */
    this.retryMs = null;
    /** The last `id:` seen (persists across events, as in EventSource). */
    /** @type {string | null} */
    this.lastEventId = null;
  }

  /**
   * @param {string} chunk
   * @returns {SseEvent[]}
   */
  feed(chunk) {
    this.buffer += chunk;
    /** @type {SseEvent[]} */
    const out = [];
    for (;;) {
      const match = /\r\n|\n|\r/.exec(this.buffer);
      if (!match) break;
      // A lone trailing "\r" may be the first half of "\r\n": wait for the next chunk.
      if (match[0] === '\r' && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const event = this.line(line);
      if (event) out.push(event);
    }
    return out;
  }

  /**
   * @param {string} line
   * @returns {SseEvent | null}
   */
  line(line) {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = '';
        return null;
      }
      const event = { id: this.lastEventId, event: this.event || 'message', data: this.data.join('\n') };
      this.data = [];
      this.event = '';
      return event;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return null;
  }
}

/**
 * Delay before reconnect attempt `n` (0-based): full jitter over a capped exponential,
 * never below `floorMs` (so a dead server is not hammered).
 * @param {number} n
 * @param {{baseMs: number, maxMs: number, floorMs?: number}} policy
 * @param {() => number} random
 */
export function reconnectDelay(n, policy, random) {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(n, 16));
  return Math.max(policy.floorMs ?? 250, Math.round(random() * ceiling));
}

/** @typedef {'connecting' | 'open' | 'reconnecting' | 'closed'} FollowState */

/**
 * @typedef {object} SseFollowerOptions
 * @property {string} url
 * @property {number} [lastEventId]          resume after this id (0: from the start)
 * @property {(event: SseEvent & {numericId: number}) => void} onEvent
 * @property {(state: FollowState, info: {attempt: number, delayMs: number | null, error: unknown}) => void} [onState]
 * @property {(error: SseHttpError) => void} [onFatal]   a 4xx: the stream cannot be followed
 * @property {(type: string) => boolean} [isTerminal]    stop after such an event
 * @property {typeof globalThis.fetch} [fetch]
 * @property {import('./clock.js').Clock} [clock]
 * @property {() => number} [random]
 * @property {number} [baseDelayMs]    first reconnect ceiling (default: the server's retry:, else 1000)
 * @property {number} [maxDelayMs]     reconnect ceiling cap (15000)
 * @property {number} [idleTimeoutMs]  no bytes for this long: reconnect (45000; heartbeats are 15 s)
 */

export class SseHttpError extends Error {
  /** @param {number} status @param {string} detail @param {string} requestId */
  constructor(status, detail, requestId) {
    super(detail || `HTTP ${status}`);
    this.name = 'SseHttpError';
    this.status = status;
    this.requestId = requestId;
  }
}

export class SseFollower {
  /** @param {SseFollowerOptions} options */
  constructor(options) {
    this.options = options;
    this.lastEventId = options.lastEventId ?? 0;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.maxDelayMs = options.maxDelayMs ?? 15000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 45000;
    this.baseDelayMs = options.baseDelayMs ?? null;
    /** @type {FollowState} */
    this.state = 'connecting';
    this.failures = 0;
    this.stopped = false;
    /** @type {AbortController | null} */
    this.controller = null;
    /** @type {import('./clock.js').TimerHandle | undefined} */
    this.waitTimer = undefined;
    /** @type {(() => void) | null} */
    this.wake = null;
    /** @type {Promise<void> | null} */
    this.done = null;
  }

  /** Start following; resolves when stopped (terminal event, fatal error or `stop()`). */
  start() {
    if (!this.done) this.done = this.run();
    return this.done;
  }

  /** Stop for good (the view went away, or the user cancelled). */
  stop() {
    this.stopped = true;
    this.controller?.abort();
    this.wakeUp();
  }

  /** Skip the pending reconnect wait (e.g. the HealthMonitor saw the server come back). */
  reconnectNow() {
    if (this.state === 'reconnecting') this.wakeUp();
  }

  wakeUp() {
    this.clock.clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /**
   * @param {FollowState} state
   * @param {{attempt?: number, delayMs?: number | null, error?: unknown}} [info]
   */
  setState(state, info = {}) {
    this.state = state;
    this.options.onState?.(state, { attempt: info.attempt ?? this.failures, delayMs: info.delayMs ?? null, error: info.error ?? null });
  }

  async run() {
    const parser = new SseParser();
    while (!this.stopped) {
      let error = null;
      try {
        const finished = await this.connectOnce(parser);
        if (finished) break;
      } catch (caught) {
        if (caught instanceof SseHttpError && caught.status >= 400 && caught.status < 500 && caught.status !== 408 && caught.status !== 429) {
          this.stopped = true;
          this.setState('closed', { error: caught });
          this.options.onFatal?.(caught);
          return;
        }
        error = caught;
      }
      if (this.stopped) break;
      const base = this.baseDelayMs ?? parser.retryMs ?? 1000;
      const delayMs = reconnectDelay(this.failures, { baseMs: base, maxMs: this.maxDelayMs }, this.random);
      this.failures += 1;
      this.setState('reconnecting', { delayMs, error });
      await new Promise((resolve) => {
        this.wake = () => resolve(undefined);
        this.waitTimer = this.clock.setTimeout(() => this.wakeUp(), delayMs);
      });
    }
    if (this.state !== 'closed') this.setState('closed');
  }

  /**
   * One connection. Resolves true after a terminal event, false when the stream ended or
   * went silent (reconnect); throws on network errors and error statuses.
   * @param {SseParser} parser
   */
  async connectOnce(parser) {
    const controller = new AbortController();
    this.controller = controller;
    const requestId = newRequestId();
    /** @type {Record<string, string>} */
    const headers = { Accept: 'text/event-stream', 'X-Request-ID': requestId };
    if (this.lastEventId > 0) headers['Last-Event-ID'] = String(this.lastEventId);
    let idle = this.clock.setTimeout(() => controller.abort(), this.idleTimeoutMs);
    const resetIdle = () => {
      this.clock.clearTimeout(idle);
      idle = this.clock.setTimeout(() => controller.abort(), this.idleTimeoutMs);
    };
    try {
      const response = await this.fetch(this.options.url, { headers, signal: controller.signal, cache: 'no-store', credentials: 'same-origin' });
      if (response.status !== 200 || !response.body) {
        let detail = '';
        try {
          const body = JSON.parse(await response.text());
          detail = typeof body?.detail === 'string' ? body.detail : '';
        } catch {
          // not a problem document
        }
        throw new SseHttpError(response.status, detail, requestId);
      }
      this.setState('open');
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return false;
        resetIdle();
        for (const event of parser.feed(decoder.decode(value, { stream: true }))) {
          const numericId = Number(event.id);
          if (Number.isInteger(numericId) && numericId > 0) {
            if (numericId <= this.lastEventId) continue; // already seen (replayed)
            this.lastEventId = numericId;
          }
          this.failures = 0;
          this.options.onEvent({ ...event, numericId: Number.isInteger(numericId) ? numericId : 0 });
          if (this.options.isTerminal?.(event.event)) {
            this.stopped = true;
            controller.abort();
            return true;
          }
        }
        if (this.stopped) return true;
      }
    } catch (error) {
      if (this.stopped) return true;
      throw error;
    } finally {
      this.clock.clearTimeout(idle);
      this.controller = null;
    }
  }
}
