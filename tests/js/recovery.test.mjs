import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ApiClient, ApiError, CircuitBreaker } from '../../src/tradestats/web/js/api/client.js';
import { HealthMonitor } from '../../src/tradestats/web/js/api/health.js';
import { PanelRecovery, TRANSIENT_SELECTOR, isTransientError } from '../../src/tradestats/web/js/ui/recovery.js';
import { FakeClock, fakeFetch, flush, response } from './fakes.mjs';

const base = { method: 'GET', url: '/api/stats', requestId: 'r1' };

test('transient errors: network, timeout, breaker, offline and the retried statuses', () => {
  for (const kind of ['network', 'timeout', 'circuit-open', 'offline']) {
    assert.equal(isTransientError(new ApiError({ ...base, kind })), true, kind);
  }
  for (const status of [408, 429, 500, 502, 503, 504]) {
    assert.equal(isTransientError(new ApiError({ ...base, kind: 'http', status })), true, String(status));
  }
  for (const status of [400, 401, 404, 409, 413, 422, 501]) {
    assert.equal(isTransientError(new ApiError({ ...base, kind: 'http', status })), false, String(status));
  }
  assert.equal(isTransientError(new ApiError({ ...base, kind: 'aborted' })), false);
  assert.equal(isTransientError(new ApiError({ ...base, kind: 'invalid-response', status: 200 })), false);
  assert.equal(isTransientError(new Error('boom')), false);
});

/** A view root whose panels the test switches: `transient` error shown, a load `busy`. */
function fakeRoot() {
  return {
    transient: false,
    busy: false,
    /** @param {string} selector */
    querySelector(selector) {
      if (selector === TRANSIENT_SELECTOR) return this.transient ? {} : null;
      if (selector === '[aria-busy="true"]') return this.busy ? {} : null;
      throw new Error(`unexpected selector ${selector}`);
    },
  };
}

function setup(options = {}) {
  const clock = new FakeClock();
  const root = fakeRoot();
  const recovery = new PanelRecovery({ root, clock, random: () => 0.5, ...options });
  let refreshes = 0;
  recovery.attach(() => {
    refreshes += 1;
  });
  return { clock, root, recovery, refreshes: () => refreshes };
}

test('nothing to recover: no timer, no refresh', async () => {
  const { clock, recovery, refreshes } = setup();
  recovery.check();
  assert.deepEqual(clock.pending(), []);
  await clock.advance(60000);
  assert.equal(refreshes(), 0);
});

test('a transient panel refreshes the view with doubling, capped delays', async () => {
  const { clock, root, recovery, refreshes } = setup({ maxAttempts: 20 });
  root.transient = true;
  const delays = [];
  for (let i = 0; i < 6; i += 1) {
    recovery.check();
    recovery.check(); // DOM changes while one is pending schedule nothing more
    assert.equal(clock.pending().length, 1);
    delays.push(clock.pending()[0]);
    await clock.advance(clock.pending()[0]);
    assert.equal(refreshes(), i + 1);
  }
  assert.deepEqual(delays, [2000, 4000, 8000, 16000, 30000, 30000]);
});

test('jitter is ±20 % of the delay', () => {
  for (const [r, expected] of [[0, 1600], [1, 2400]]) {
    const clock = new FakeClock();
    const root = fakeRoot();
    root.transient = true;
    const recovery = new PanelRecovery({ root, clock, random: () => r });
    recovery.attach(() => {});
    assert.deepEqual(clock.pending(), [expected]);
  }
});

test('the panel recovered on its own before the timer: no refresh', async () => {
  const { clock, root, recovery, refreshes } = setup();
  root.transient = true;
  recovery.check();
  root.transient = false;
  await clock.advance(5000);
  assert.equal(refreshes(), 0);
});

test('never refreshes while a load runs; the end of the load checks again', async () => {
  const { clock, root, recovery, refreshes } = setup();
  root.transient = true;
  root.busy = true;
  recovery.check();
  await clock.advance(2000);
  assert.equal(refreshes(), 0, 'a refresh now would abort the running load');
  assert.deepEqual(clock.pending(), []);
  root.busy = false;
  recovery.check(); // aria-busy removed: the observer calls check
  await clock.advance(clock.pending()[0]);
  assert.equal(refreshes(), 1);
});

test('gives up after maxAttempts; a newly mounted view starts a fresh budget', async () => {
  const { clock, root, recovery, refreshes } = setup({ maxAttempts: 3 });
  root.transient = true;
  for (let i = 0; i < 5; i += 1) {
    recovery.check();
    await clock.advance(60000);
  }
  assert.equal(refreshes(), 3);
  assert.deepEqual(clock.pending(), []);
  let other = 0;
  recovery.attach(() => {
    other += 1;
  });
  assert.deepEqual(clock.pending(), [2000]);
  await clock.advance(2000);
  assert.equal(other, 1);
  assert.equal(refreshes(), 3, 'the old view is not refreshed');
});

test('cancel drops the pending refresh', async () => {
  const { clock, root, recovery, refreshes } = setup();
  root.transient = true;
  recovery.check();
  recovery.cancel();
  assert.deepEqual(clock.pending(), []);
  await clock.advance(60000);
  assert.equal(refreshes(), 0);
});

test('observe re-checks on every DOM change', () => {
  const { root, clock, recovery } = setup();
  let callback = null;
  let observed = null;
  const observer = {
    observe(target, options) {
      observed = { target, options };
    },
  };
  recovery.observe(observer);
  assert.equal(observed.target, root);
  assert.equal(observed.options.subtree, true);
  assert.deepEqual(observed.options.attributeFilter, ['data-transient', 'aria-busy']);
  // The real observer is a MutationObserver calling check(); drive check the same way.
  callback = () => recovery.check();
  root.transient = true;
  callback();
  assert.equal(clock.pending().length, 1);
});

/** A server that is up and answers health/ready; ready status as given. */
function monitorSetup(ready) {
  const clock = new FakeClock();
  const { fetch } = fakeFetch((call) => {
    if (call.url === '/api/health') return response(200, JSON.stringify({ status: 'pass' }), { 'Content-Type': 'application/health+json' });
    if (call.url === '/api/ready') return response(ready === 'fail' ? 503 : 200, JSON.stringify({ status: ready, checks: {} }), { 'Content-Type': 'application/health+json' });
    return response(503, JSON.stringify({ title: 'Injected fault', status: 503 }), { 'Content-Type': 'application/problem+json' });
  });
  const breaker = new CircuitBreaker({ clock, failureThreshold: 5 });
  const client = new ApiClient({ fetch, clock, breaker, random: () => 0.5, isOnline: () => true });
  const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' });
  const monitor = new HealthMonitor({ client, clock, random: () => 0.5, document: doc, navigator: { onLine: true }, connectivityEvents: new EventTarget() });
  const recovered = [];
  monitor.addEventListener('recovered', () => recovered.push(true));
  return { clock, breaker, client, monitor, recovered };
}

for (const ready of ['pass', 'warn']) {
  test(`breaker opened by 5xx answers while the server is up (ready ${ready}): closed at once`, async () => {
    const { breaker, client, monitor, recovered } = monitorSetup(ready);
    monitor.start();
    await flush();
    for (let i = 0; i < 5; i += 1) await client.getJson('/api/stats', { retry: { retries: 0 } }).catch(() => {});
    // Opening made the monitor check; the server answered: not an outage.
    await flush();
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(recovered, [], 'no outage was seen, so no view-wide refetch');
    monitor.stop();
  });
}

test('breaker stays open while readiness fails', async () => {
  const { breaker, client, monitor } = monitorSetup('fail');
  monitor.start();
  await flush();
  for (let i = 0; i < 5; i += 1) await client.getJson('/api/stats', { retry: { retries: 0 } }).catch(() => {});
  await flush();
  assert.equal(breaker.state, 'open');
  monitor.stop();
});
