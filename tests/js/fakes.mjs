// Test doubles for web/js/api: a fake clock driving timers, and a scripted fake fetch.
import { setImmediate as realSetImmediate } from 'node:timers/promises';

/** Let every pending promise chain settle (several macrotask turns, to be generous). */
export async function flush() {
  for (let i = 0; i < 5; i += 1) await realSetImmediate();
}

export class FakeClock {
  constructor(start = Date.UTC(2025, 0, 6, 14, 30, 0)) {
    this.t = start;
    this.seq = 0;
    /** @type {Map<number, {at: number, fn: () => void, ms: number}>} */
    this.timers = new Map();
    this.now = () => this.t;
    this.setTimeout = (fn, ms) => {
      const id = ++this.seq;
      this.timers.set(id, { at: this.t + Math.max(0, ms), fn, ms });
      return id;
    };
    this.clearTimeout = (id) => {
      this.timers.delete(id);
    };
  }

  /** Delays (ms from now) of the pending timers, soonest first. */
  pending() {
    return [...this.timers.values()].map((t) => t.at - this.t).sort((a, b) => a - b);
  }

  /** Move time forward by `ms`, firing due timers in order and settling promises between. */
  async advance(ms) {
    const end = this.t + ms;
    await flush();
    for (;;) {
      let next = null;
      for (const [id, timer] of this.timers) {
        if (timer.at <= end && (next === null || timer.at < next[1].at)) next = [id, timer];
      }
      if (next === null) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

/** A fetch Response stand-in: status, headers, and a text() that may be delayed. */
export function response(status, body = '', headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const h = new Headers(headers);
  if (typeof body !== 'string' && !h.has('Content-Type')) h.set('Content-Type', 'application/json');
  return { status, statusText: '', headers: h, text: async () => text };
}

export function problem(status, title, detail, extra = {}) {
  return response(status, JSON.stringify({ type: 'about:blank', title, status, detail, ...extra }), {
    'Content-Type': 'application/problem+json',
  });
}

/** A fetch that never answers but rejects when its signal aborts (like the real one). */
export function hangingFetchResult(init) {
  return new Promise((_, reject) => {
    init.signal.addEventListener('abort', () => reject(init.signal.reason), { once: true });
  });
}

/**
 * A fake fetch. `handler(call, index)` returns a response-like, an Error (rejected), or a
 * promise; every call is recorded with its method, headers and signal.
 */
export function fakeFetch(handler) {
  const calls = [];
  const fetch = async (url, init) => {
    const call = { url, method: init.method, headers: Object.fromEntries(init.headers), body: init.body, signal: init.signal, init };
    calls.push(call);
    const out = await handler(call, calls.length - 1);
    if (out instanceof Error) throw out;
    return out;
  };
  return { fetch, calls };
}

/** A fetch answering from a list in order; the last entry repeats. */
export function sequence(...outcomes) {
  return fakeFetch((_call, i) => {
    const o = outcomes[Math.min(i, outcomes.length - 1)];
    return typeof o === 'function' ? o(_call) : o;
  });
}

export const networkError = () => new TypeError('Failed to fetch');
