import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ApiClient, ApiError } from '../../src/tradestats/web/js/api/client.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, fetchWithRetry, parseRetryAfter } from '../../src/tradestats/web/js/api/retry.js';
import { FakeClock, fakeFetch, flush, hangingFetchResult, networkError, problem, response, sequence } from './fakes.mjs';

/** A client with no breaker, a fake clock and `random` fixed (0.5 unless given). */
function client(fetch, { random = () => 0.5, clock = new FakeClock(), ...rest } = {}) {
  return { api: new ApiClient({ fetch, clock, random, breaker: null, isOnline: () => true, ...rest }), clock };
}

/** Start a request and capture its outcome without an unhandled rejection. */
function start(promise) {
  const box = { done: false, value: undefined, error: undefined };
  box.promise = promise.then(
    (v) => Object.assign(box, { done: true, value: v }),
    (e) => Object.assign(box, { done: true, error: e }),
  );
  return box;
}

test('backoff is full jitter under a capped exponential ceiling', () => {
  const policy = { baseDelayMs: 1000, maxDelayMs: 10000 };
  const ceilings = [1000, 2000, 4000, 8000, 10000, 10000];
  ceilings.forEach((ceiling, n) => {
    assert.equal(backoffDelay(n, policy, () => 0), 0);
    assert.equal(backoffDelay(n, policy, () => 0.5), ceiling / 2);
    const top = backoffDelay(n, policy, () => 0.999999);
    assert.ok(top < ceiling && top > ceiling * 0.999, `retry ${n}: ${top} vs ${ceiling}`);
  });
  // Many random draws stay within [0, ceiling) and actually spread out.
  const draws = Array.from({ length: 500 }, () => backoffDelay(2, policy));
  assert.ok(draws.every((d) => d >= 0 && d < 4000));
  assert.ok(Math.max(...draws) - Math.min(...draws) > 2000, 'jitter spreads the delays');
  assert.equal(DEFAULT_RETRY_POLICY.retries, 3);
  assert.equal(DEFAULT_RETRY_POLICY.baseDelayMs, 1000);
});

test('retries a GET 3 times with jittered backoff, then surfaces the last problem', async () => {
  const { fetch, calls } = sequence(problem(503, 'Service Unavailable', 'The database is restarting.'));
  const { api, clock } = client(fetch);
  const delays = [];
  const box = start(api.getJson('/api/trades', { onRetry: ({ delayMs }) => delays.push(delayMs) }));
  await flush();
  assert.equal(calls.length, 1);
  await clock.advance(499);
  assert.equal(calls.length, 1, 'no retry before the backoff elapsed');
  await clock.advance(1);
  assert.equal(calls.length, 2);
  await clock.advance(1000);
  assert.equal(calls.length, 3);
  await clock.advance(2000);
  assert.equal(calls.length, 4);
  assert.ok(box.done);
  assert.deepEqual(delays, [500, 1000, 2000]);
  const err = box.error;
  assert.ok(err instanceof ApiError);
  assert.equal(err.kind, 'http');
  assert.equal(err.status, 503);
  assert.equal(err.attempts, 4);
  assert.equal(err.message, 'The database is restarting.');
  assert.equal(err.title, 'Service Unavailable');
});

test('succeeds after transient failures and reports the attempts used', async () => {
  const { fetch, calls } = sequence(networkError(), response(502, '<html>bad gateway</html>', { 'Content-Type': 'text/html' }), response(200, { ok: 1 }));
  const { api, clock } = client(fetch);
  const box = start(api.getJson('/api/x'));
  await clock.advance(10000);
  assert.equal(calls.length, 3);
  assert.deepEqual(box.value.body, { ok: 1 });
  assert.equal(box.value.attempts, 3);
});

test('every attempt of one logical request carries the same X-Request-ID', async () => {
  const { fetch, calls } = sequence(response(500, {}), networkError(), response(200, { ok: 1 }));
  const { api, clock } = client(fetch);
  const box = start(api.getJson('/api/x'));
  await clock.advance(10000);
  const ids = calls.map((c) => c.headers['x-request-id']);
  assert.equal(ids.length, 3);
  assert.match(ids[0], /^[0-9a-f]{32}$/);
  assert.ok(ids.every((id) => id === ids[0]));
  assert.equal(box.value.requestId, ids[0]);
  const second = start(api.getJson('/api/x'));
  await clock.advance(1);
  assert.notEqual(calls[3].headers['x-request-id'], ids[0], 'a new logical request gets a new id');
  await second.promise;
  const given = start(api.getJson('/api/x', { headers: { 'X-Request-ID': 'caller-id-1' } }));
  await clock.advance(1);
  assert.equal(calls[4].headers['x-request-id'], 'caller-id-1');
  await given.promise;
});

test('Retry-After in seconds replaces the backoff', async () => {
  const limited = sequence(
    { ...problem(429, 'Too Many Requests', 'Slow down.'), headers: new Headers({ 'Content-Type': 'application/problem+json', 'Retry-After': '7' }) },
    response(200, { ok: 1 }),
  );
  const { api, clock } = client(limited.fetch);
  const delays = [];
  const box = start(api.getJson('/api/x', { onRetry: ({ delayMs }) => delays.push(delayMs) }));
  await clock.advance(6999);
  assert.equal(limited.calls.length, 1);
  await clock.advance(1);
  assert.equal(limited.calls.length, 2);
  await box.promise;
  assert.deepEqual(delays, [7000]);
  assert.deepEqual(box.value.body, { ok: 1 });
});

test('Retry-After as an HTTP date is honoured', async () => {
  const clock = new FakeClock();
  const date = new Date(clock.now() + 5000).toUTCString();
  const { fetch, calls } = sequence(response(503, '', { 'Retry-After': date }), response(200, { ok: 1 }));
  const { api } = client(fetch, { clock });
  const delays = [];
  const box = start(api.getJson('/api/x', { onRetry: ({ delayMs }) => delays.push(delayMs) }));
  await clock.advance(5000);
  assert.equal(calls.length, 2);
  await box.promise;
  assert.deepEqual(delays, [5000]);
});

test('a Retry-After beyond the cap is not waited for: the error carries it', async () => {
  const { fetch, calls } = sequence(
    { ...problem(503, 'Service Unavailable', 'Maintenance until noon.'), headers: new Headers({ 'Content-Type': 'application/problem+json', 'Retry-After': '120' }) },
  );
  const { api, clock } = client(fetch);
  const box = start(api.getJson('/api/x'));
  await clock.advance(1);
  assert.ok(box.done);
  assert.equal(calls.length, 1);
  assert.equal(box.error.retryAfterMs, 120000);
  assert.equal(box.error.message, 'Maintenance until noon.');
  assert.deepEqual(clock.pending(), [], 'nothing left scheduled');
  // A custom cap lets it wait.
  const { api: patient, clock: c2 } = client(sequence({ ...problem(503, 'x'), headers: new Headers({ 'Retry-After': '120' }) }, response(200, {})).fetch);
  const ok = start(patient.getJson('/api/x', { retry: { retryAfterCapMs: 180000 } }));
  await c2.advance(120000);
  assert.ok(ok.value);
});

test('parseRetryAfter: seconds, dates, junk', () => {
  const now = Date.UTC(2025, 0, 1);
  assert.equal(parseRetryAfter('0', now), 0);
  assert.equal(parseRetryAfter(' 3 ', now), 3000);
  assert.equal(parseRetryAfter('1.5', now), 1500);
  assert.equal(parseRetryAfter(new Date(now + 10000).toUTCString(), now), 10000);
  assert.equal(parseRetryAfter(new Date(now - 10000).toUTCString(), now), 0);
  for (const junk of [null, undefined, '', 'soon', '-5', '1e3']) assert.equal(parseRetryAfter(junk, now), null, String(junk));
});

for (const status of [400, 401, 403, 404, 409, 413, 422]) {
  test(`never retries a ${status}`, async () => {
    const { fetch, calls } = sequence(problem(status, 'Bad', `status ${status}`), response(200, {}));
    const { api, clock } = client(fetch);
    const box = start(api.getJson('/api/x'));
    await clock.advance(60000);
    assert.equal(calls.length, 1);
    assert.equal(box.error.status, status);
    assert.equal(box.error.kind, 'http');
  });
}

test('problem+json fields are surfaced, never a generic network error', async () => {
  const errors = [{ name: 'start', in: 'query', reason: 'after end' }];
  const { fetch } = sequence(problem(422, 'Unprocessable Content', 'start is after end', { errors }));
  const { api, clock } = client(fetch);
  const box = start(api.getJson('/api/trades?start=2025-02-01&end=2025-01-01'));
  await clock.advance(1);
  const err = box.error;
  assert.ok(err instanceof ApiError);
  assert.equal(err.message, 'start is after end');
  assert.equal(err.title, 'Unprocessable Content');
  assert.equal(err.detail, 'start is after end');
  assert.deepEqual(err.errors, errors);
  assert.equal(err.type, 'about:blank');
  assert.match(err.requestId, /^[0-9a-f]{32}$/);
  assert.equal(err.isNetwork, false);
  assert.equal(err.isTimeout, false);
});

test('a non-JSON error page still yields a status-bearing http error', async () => {
  const { fetch } = sequence(response(404, '<html>not found</html>', { 'Content-Type': 'text/html' }));
  const { api, clock } = client(fetch);
  const box = start(api.getJson('/api/nope'));
  await clock.advance(1);
  assert.equal(box.error.kind, 'http');
  assert.equal(box.error.status, 404);
  assert.match(box.error.message, /HTTP 404/);
});

test('network errors are kind network; offline fails fast without sending', async () => {
  const { fetch, calls } = sequence(networkError());
  const { api, clock } = client(fetch, { retry: { retries: 0 } });
  const box = start(api.getJson('/api/x'));
  await clock.advance(1);
  assert.equal(box.error.kind, 'network');
  assert.equal(box.error.status, 0);
  const offline = new ApiClient({ fetch, clock, breaker: null, isOnline: () => false });
  const box2 = start(offline.getJson('/api/x'));
  await clock.advance(1);
  assert.equal(box2.error.kind, 'offline');
  assert.equal(box2.error.isOffline, true);
  assert.equal(calls.length, 1, 'nothing sent while offline');
});

test('POST is not retried without an Idempotency-Key', async () => {
  for (const outcome of [problem(503, 'Service Unavailable'), networkError()]) {
    const { fetch, calls } = sequence(outcome, response(201, {}));
    const { api, clock } = client(fetch);
    const box = start(api.postJson('/api/imports', { a: 1 }));
    await clock.advance(60000);
    assert.equal(calls.length, 1);
    assert.ok(box.error instanceof ApiError);
  }
  // PATCH without a key neither.
  const { fetch, calls } = sequence(problem(503, 'x'), response(200, {}));
  const { api, clock } = client(fetch);
  const box = start(api.patchJson('/api/trades/1', { note: 'x' }));
  await clock.advance(60000);
  assert.equal(calls.length, 1);
  assert.ok(box.error);
});

test('POST with an Idempotency-Key is retried with the same key and request id', async () => {
  const { fetch, calls } = sequence(networkError(), problem(503, 'x'), response(201, { id: 7 }));
  const { api, clock } = client(fetch);
  const box = start(api.postJson('/api/scans', { tickers: ['AAPL'] }, { idempotencyKey: true }));
  await clock.advance(60000);
  assert.equal(calls.length, 3);
  assert.deepEqual(box.value.body, { id: 7 });
  const keys = new Set(calls.map((c) => c.headers['idempotency-key']));
  assert.equal(keys.size, 1);
  assert.match([...keys][0], /^[0-9a-f]{32}$/);
  assert.equal(new Set(calls.map((c) => c.headers['x-request-id'])).size, 1);
  assert.equal(calls[0].headers['content-type'], 'application/json');
  assert.equal(calls[0].body, JSON.stringify({ tickers: ['AAPL'] }));
  // PUT and DELETE are idempotent by method.
  for (const send of [(a) => a.putJson('/api/x', {}), (a) => a.del('/api/x')]) {
    const s = sequence(problem(500, 'x'), response(204, ''));
    const { api: a, clock: c } = client(s.fetch);
    const b = start(send(a));
    await c.advance(60000);
    assert.equal(s.calls.length, 2);
    assert.equal(b.value.status, 204);
    assert.equal(b.value.body, null);
  }
});

test('the per-attempt timeout covers reading the body', async () => {
  // Headers arrive at once; the body never finishes (and ignores the abort signal).
  const stalled = { status: 200, headers: new Headers({ 'Content-Type': 'application/json' }), text: () => new Promise(() => {}) };
  const { fetch, calls } = sequence(stalled, response(200, { ok: 1 }));
  const { api, clock } = client(fetch);
  const delays = [];
  const box = start(api.getJson('/api/x', { timeoutMs: 1000, onRetry: ({ error, delayMs }) => delays.push([error.kind, delayMs]) }));
  await clock.advance(999);
  assert.equal(box.done, false);
  await clock.advance(1);
  assert.ok(calls[0].signal.aborted, 'the attempt was aborted');
  assert.deepEqual(delays, [['timeout', 500]]);
  await clock.advance(500);
  assert.deepEqual(box.value.body, { ok: 1 });

  const only = sequence(stalled);
  const { api: once, clock: c2 } = client(only.fetch, { retry: { retries: 0 } });
  const b2 = start(once.getJson('/api/slow', { timeoutMs: 2000 }));
  await c2.advance(2000);
  assert.equal(b2.error.kind, 'timeout');
  assert.equal(b2.error.isTimeout, true);
  assert.match(b2.error.message, /timed out after 2 s/);
});

test('a request that never answers times out per attempt', async () => {
  const { fetch, calls } = fakeFetch((call) => hangingFetchResult(call.init));
  const { api, clock } = client(fetch, { retry: { retries: 1 } });
  const box = start(api.getJson('/api/x', { timeoutMs: 3000 }));
  await clock.advance(3000 + 500 + 3000);
  assert.equal(calls.length, 2);
  assert.equal(box.error.kind, 'timeout');
  assert.equal(box.error.attempts, 2);
});

test('caller abort during backoff cancels the pending retry', async () => {
  const { fetch, calls } = sequence(problem(503, 'x'));
  const { api, clock } = client(fetch);
  const controller = new AbortController();
  const box = start(api.getJson('/api/x', { signal: controller.signal }));
  await clock.advance(1);
  assert.equal(calls.length, 1);
  assert.deepEqual(clock.pending(), [499], 'backoff pending');
  controller.abort();
  await flush();
  assert.equal(box.error.kind, 'aborted');
  assert.equal(box.error.isAborted, true);
  assert.deepEqual(clock.pending(), [], 'no timer left behind');
  await clock.advance(60000);
  assert.equal(calls.length, 1, 'no further attempts');
});

test('caller abort cancels the attempt in flight', async () => {
  const { fetch, calls } = fakeFetch((call) => hangingFetchResult(call.init));
  const { api, clock } = client(fetch);
  const controller = new AbortController();
  const box = start(api.getJson('/api/x', { signal: controller.signal }));
  await clock.advance(100);
  controller.abort(new Error('view closed'));
  await flush();
  assert.ok(calls[0].signal.aborted, 'the fetch signal was aborted');
  assert.equal(box.error.kind, 'aborted');
  await clock.advance(60000);
  assert.equal(calls.length, 1);
  // Already-aborted signal: nothing is sent.
  const box2 = start(api.getJson('/api/x', { signal: AbortSignal.abort() }));
  await flush();
  assert.equal(box2.error.kind, 'aborted');
  assert.equal(calls.length, 1);
});

test('an unreadable success body is an invalid-response error, not retried', async () => {
  const { fetch, calls } = sequence(response(200, '{not json', { 'Content-Type': 'application/json' }));
  const { api, clock } = client(fetch);
  const box = start(api.getJson('/api/x'));
  await clock.advance(60000);
  assert.equal(calls.length, 1);
  assert.equal(box.error.kind, 'invalid-response');
});

test('fetchWithRetry works standalone with defaults overridden', async () => {
  const clock = new FakeClock();
  const { fetch, calls } = sequence(response(200, 'plain', { 'Content-Type': 'text/plain' }));
  const res = await fetchWithRetry('/x', { fetch, clock, isOnline: () => true });
  assert.equal(res.body, 'plain');
  assert.equal(calls[0].method, 'GET');
  assert.equal(calls[0].init.credentials, 'same-origin');
});

test('upload reports progress through XMLHttpRequest and is retried with a key', async () => {
  const xhrs = [];
  class FakeXhr {
    constructor() {
      this.headers = {};
      this.upload = {};
      xhrs.push(this);
    }
    open(method, url) {
      Object.assign(this, { method, url });
    }
    setRequestHeader(k, v) {
      this.headers[k] = v;
    }
    getResponseHeader(name) {
      return name.toLowerCase() === 'content-type' ? 'application/json' : null;
    }
    abort() {
      this.onabort?.();
    }
    send(body) {
      this.body = body;
      queueMicrotask(() => {
        this.upload.onprogress?.({ loaded: 50, total: 100, lengthComputable: true });
        if (xhrs.length === 1) {
          this.onerror?.();
          return;
        }
        this.upload.onprogress?.({ loaded: 100, total: 100, lengthComputable: true });
        this.status = 201;
        this.responseText = JSON.stringify({ imported: 3 });
        this.onload?.();
      });
    }
  }
  const clock = new FakeClock();
  const api = new ApiClient({ clock, random: () => 0.5, breaker: null, isOnline: () => true, xhrFactory: () => new FakeXhr(), fetch: () => assert.fail('fetch used') });
  const form = new FormData();
  form.append('file', new Blob(['a,b\n']), 'fills.csv');
  const progress = [];
  const box = start(api.upload('/api/imports', form, { idempotencyKey: 'k-1', onProgress: (p) => progress.push(p) }));
  await clock.advance(5000);
  assert.equal(xhrs.length, 2, 'retried after the network error');
  assert.deepEqual(box.value.body, { imported: 3 });
  assert.deepEqual(progress, [
    { loaded: 50, total: 100, attempt: 1 },
    { loaded: 50, total: 100, attempt: 2 },
    { loaded: 100, total: 100, attempt: 2 },
  ]);
  assert.equal(xhrs[1].headers['idempotency-key'], 'k-1');
  assert.equal(xhrs[0].headers['x-request-id'], xhrs[1].headers['x-request-id']);
  assert.equal(xhrs[1].body, form);
  assert.equal(xhrs[1].method, 'POST');
});
