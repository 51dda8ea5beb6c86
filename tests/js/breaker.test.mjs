import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ApiClient, ApiError, CircuitBreaker } from '../../src/tradestats/web/js/api/client.js';
import { FakeClock, fakeFetch, flush, hangingFetchResult, networkError, problem, response, sequence } from './fakes.mjs';

function setup(fetch, { threshold = 5, resetTimeoutMs = 15000, retries = 0 } = {}) {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker({ failureThreshold: threshold, resetTimeoutMs, clock });
  const api = new ApiClient({ fetch, clock, breaker, random: () => 0.5, isOnline: () => true, retry: { retries } });
  return { clock, breaker, api };
}

async function outcome(promise) {
  try {
    return await promise;
  } catch (err) {
    return err;
  }
}

test('opens after 5 consecutive failures and then fails fast without sending', async () => {
  const { fetch, calls } = sequence(problem(503, 'x'), networkError(), response(500, ''), problem(502, 'x'), problem(504, 'x'));
  const { api, breaker } = setup(fetch);
  const events = [];
  breaker.addEventListener('statechange', (e) => events.push(e.detail));
  for (let i = 0; i < 5; i += 1) {
    const err = await outcome(api.getJson('/api/x'));
    assert.notEqual(err.kind, 'circuit-open', `failure ${i + 1} was sent`);
  }
  assert.equal(breaker.state, 'open');
  assert.deepEqual(events, [{ state: 'open', previous: 'closed' }]);
  for (let i = 0; i < 20; i += 1) {
    const err = await outcome(api.getJson('/api/x'));
    assert.ok(err instanceof ApiError);
    assert.equal(err.kind, 'circuit-open');
    assert.equal(err.isCircuitOpen, true);
    assert.equal(err.retryAfterMs, 15000);
  }
  assert.equal(calls.length, 5, 'no request storm');
});

test('only consecutive failures count; any answer below 500 resets', async () => {
  let n = 0;
  const { fetch } = fakeFetch(() => (++n % 5 === 0 ? problem(404, 'Not Found') : problem(503, 'x')));
  const { api, breaker } = setup(fetch);
  for (let i = 0; i < 12; i += 1) await outcome(api.getJson('/api/x'));
  assert.equal(breaker.state, 'closed', '4 failures, a 404, 4 failures, a 404, 2 failures');
});

test('retries stop when the breaker opens mid-request, with the real error', async () => {
  const { fetch, calls } = sequence(problem(503, 'Service Unavailable', 'Database down.'));
  const { api, clock, breaker } = setup(fetch, { threshold: 2, retries: 3 });
  const p = outcome(api.getJson('/api/x'));
  await clock.advance(10000);
  const err = await p;
  assert.equal(calls.length, 2);
  assert.equal(breaker.state, 'open');
  assert.equal(err.kind, 'http');
  assert.equal(err.detail, 'Database down.');
});

test('half-open lets one probe through; success closes, failure reopens', async () => {
  let healthy = false;
  const { fetch, calls } = fakeFetch(() => (healthy ? response(200, { ok: 1 }) : networkError()));
  const { api, clock, breaker } = setup(fetch, { threshold: 1, resetTimeoutMs: 10000 });
  await outcome(api.getJson('/api/x'));
  assert.equal(breaker.state, 'open');
  await clock.advance(9999);
  assert.equal((await outcome(api.getJson('/api/x'))).kind, 'circuit-open');
  await clock.advance(1);
  assert.equal(breaker.state, 'half-open');
  // The probe fails: open again for another reset timeout.
  assert.equal((await outcome(api.getJson('/api/x'))).kind, 'network');
  assert.equal(breaker.state, 'open');
  assert.equal(calls.length, 2);
  await clock.advance(10000);
  healthy = true;
  const slow = fakeFetch((call) => hangingFetchResult(call.init));
  // While one probe is in flight, others fail fast.
  const controller = new AbortController();
  const probeApi = new ApiClient({ fetch: slow.fetch, clock, breaker, isOnline: () => true, retry: { retries: 0 } });
  const probe = outcome(probeApi.getJson('/api/x', { signal: controller.signal }));
  await flush();
  assert.equal((await outcome(api.getJson('/api/x'))).kind, 'circuit-open');
  controller.abort();
  assert.equal((await probe).kind, 'aborted');
  // An aborted probe releases its slot without a verdict.
  assert.equal(breaker.state, 'half-open');
  const ok = await api.getJson('/api/x');
  assert.deepEqual(ok.body, { ok: 1 });
  assert.equal(breaker.state, 'closed');
});

test('close() (health recovery) lets requests through at once', async () => {
  const { fetch, calls } = sequence(networkError(), response(200, { ok: 1 }));
  const { api, breaker } = setup(fetch, { threshold: 1, resetTimeoutMs: 60000 });
  await outcome(api.getJson('/api/x'));
  assert.equal((await outcome(api.getJson('/api/x'))).kind, 'circuit-open');
  breaker.close();
  assert.equal(breaker.state, 'closed');
  assert.deepEqual((await api.getJson('/api/x')).body, { ok: 1 });
  assert.equal(calls.length, 2);
});

test('requests that bypass the breaker are neither refused nor counted', async () => {
  const { fetch, calls } = sequence(networkError());
  const { api, breaker } = setup(fetch, { threshold: 1 });
  breaker.recordFailure();
  assert.equal(breaker.state, 'open');
  const err = await outcome(api.getJson('/api/health', { bypassBreaker: true }));
  assert.equal(err.kind, 'network');
  assert.equal(calls.length, 1);
  assert.equal(breaker.failures, 1);
});
