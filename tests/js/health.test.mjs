import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ApiClient, CircuitBreaker } from '../../src/tradestats/web/js/api/client.js';
import { HealthMonitor, describeReadiness } from '../../src/tradestats/web/js/api/health.js';
import { FakeClock, fakeFetch, flush, networkError, response } from './fakes.mjs';

const HEALTH = { 'Content-Type': 'application/health+json' };

function doc(status, checks = {}) {
  return { status, version: '0', releaseId: '0.1.0', serviceId: 'tradestats', description: 'x', checks };
}

/** A fake backend: `server.up`, `server.ready` ('pass'|'warn'|'fail') steer its answers. */
function backend() {
  const server = { up: true, ready: 'pass', hits: [] };
  const { fetch, calls } = fakeFetch((call) => {
    server.hits.push(call.url);
    if (!server.up) return networkError();
    if (call.url === '/api/health') return response(200, JSON.stringify(doc('pass')), HEALTH);
    const checks = { 'database:responseTime': [{ status: server.ready === 'fail' ? 'fail' : 'pass', time: 't', output: server.ready === 'fail' ? 'OperationalError: db gone' : undefined }] };
    if (server.ready === 'warn') checks['redis:responseTime'] = [{ status: 'warn', time: 't', output: 'ConnectionError' }];
    return response(server.ready === 'fail' ? 503 : 200, JSON.stringify(doc(server.ready, checks)), HEALTH);
  });
  return { server, fetch, calls };
}

class FakeDocument extends EventTarget {
  visibilityState = 'visible';
  setVisibility(state) {
    this.visibilityState = state;
    this.dispatchEvent(new Event('visibilitychange'));
  }
}

function setup({ random = () => 0.5, ...options } = {}) {
  const clock = new FakeClock();
  const { server, fetch, calls } = backend();
  const breaker = new CircuitBreaker({ clock, failureThreshold: 5 });
  const client = new ApiClient({ fetch, clock, breaker, random: () => 0.5, isOnline: () => navigator.onLine });
  const document = new FakeDocument();
  const navigator = { onLine: true };
  const net = new EventTarget();
  const monitor = new HealthMonitor({ client, clock, random, document, navigator, connectivityEvents: net, ...options });
  const log = [];
  monitor.addEventListener('statechange', (e) => log.push(`${e.detail.previous}->${e.detail.state}`));
  monitor.addEventListener('recovered', (e) => log.push(`recovered after ${e.detail.downForMs} ms`));
  return { clock, server, calls, breaker, client, document, navigator, net, monitor, log };
}

test('connected: polls /api/health then /api/ready every 15 s', async () => {
  const { clock, server, monitor, log } = setup();
  monitor.start();
  await flush();
  assert.equal(monitor.state, 'connected');
  assert.deepEqual(server.hits, ['/api/health', '/api/ready']);
  assert.deepEqual(log, ['unknown->connected']);
  assert.deepEqual(clock.pending(), [15000]);
  assert.equal(monitor.secondsUntilNextAttempt(), 15);
  assert.equal(monitor.snapshot.ready.status, 'pass');
  await clock.advance(15000);
  assert.equal(server.hits.length, 4);
  monitor.stop();
  assert.deepEqual(clock.pending(), []);
});

test('the poll interval is jittered ±20%', async () => {
  for (const [r, expected] of [[0, 12000], [0.25, 13500], [0.75, 16500], [0.999999, 17999.994]]) {
    const { clock, monitor } = setup({ random: () => r });
    monitor.start();
    await flush();
    const [delay] = clock.pending();
    assert.ok(Math.abs(delay - expected) < 0.01, `random ${r}: ${delay}`);
    monitor.stop();
  }
});

test('down: reconnecting with fast capped backoff, then connected + recovered', async () => {
  const { clock, server, monitor, log, breaker } = setup();
  const seen = [];
  monitor.addEventListener('update', (e) => seen.push([e.detail.state, e.detail.nextAttemptAt === null ? null : e.detail.nextAttemptAt - clock.now()]));
  monitor.start();
  await flush();
  server.up = false;
  // The API client fails too: the breaker opens, which makes the monitor check at once.
  for (let i = 0; i < 5; i += 1) await monitor.client.getJson('/api/trades', { retry: { retries: 0 } }).catch(() => {});
  assert.equal(breaker.state, 'open');
  await flush();
  assert.equal(monitor.state, 'reconnecting');
  assert.equal(monitor.snapshot.failures, 1);
  assert.deepEqual(clock.pending().slice(0, 1), [1000]);
  const waits = [];
  for (let i = 0; i < 3; i += 1) {
    waits.push(clock.pending()[0]);
    await clock.advance(clock.pending()[0]);
  }
  assert.deepEqual(waits, [1000, 2000, 4000]);
  assert.equal(monitor.state, 'reconnecting');
  assert.equal(monitor.secondsUntilNextAttempt(), 8);
  assert.ok(seen.some(([state, next]) => state === 'reconnecting' && next === 8000));
  server.up = true;
  await clock.advance(8000);
  assert.equal(monitor.state, 'connected');
  assert.deepEqual(log, ['unknown->connected', 'connected->reconnecting', 'reconnecting->connected', 'recovered after 15000 ms']);
  assert.equal(breaker.state, 'closed', 'recovery closes the breaker');
  assert.deepEqual(clock.pending(), [15000], 'back to the normal interval');
  monitor.stop();
});

test('backoff is capped and repeated failures become offline', async () => {
  const { clock, server, monitor } = setup({ maxBackoffMs: 30000, offlineAfter: 5 });
  server.up = false;
  monitor.start();
  const waits = [];
  const states = [];
  await flush();
  for (let i = 0; i < 8; i += 1) {
    states.push(monitor.state);
    waits.push(clock.pending()[0]);
    await clock.advance(clock.pending()[0]);
  }
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.deepEqual(states, ['reconnecting', 'reconnecting', 'reconnecting', 'reconnecting', 'offline', 'offline', 'offline', 'offline']);
  assert.match(monitor.snapshot.reason, /Could not reach the server/);
  monitor.stop();
});

test('ready warn is degraded; ready fail (503 document) is degraded with the reason', async () => {
  const { clock, server, monitor, log } = setup();
  server.ready = 'warn';
  monitor.start();
  await flush();
  assert.equal(monitor.state, 'degraded');
  assert.match(monitor.snapshot.reason, /redis:responseTime warn \(ConnectionError\)/);
  server.ready = 'fail';
  await clock.advance(15000);
  assert.equal(monitor.state, 'degraded');
  assert.equal(monitor.snapshot.ready.status, 'fail');
  assert.match(monitor.snapshot.reason, /database:responseTime fail \(OperationalError: db gone\)/);
  server.ready = 'pass';
  await clock.advance(15000);
  assert.equal(monitor.state, 'connected');
  assert.deepEqual(log, ['unknown->degraded', 'degraded->connected'], 'degraded is not "down": no recovered event');
  monitor.stop();
});

test('a hidden tab pauses polling; visible again checks at once', async () => {
  const { clock, server, monitor, document } = setup();
  monitor.start();
  await flush();
  assert.equal(server.hits.length, 2);
  document.setVisibility('hidden');
  assert.deepEqual(clock.pending(), []);
  assert.equal(monitor.snapshot.paused, true);
  await clock.advance(10 * 60 * 1000);
  assert.equal(server.hits.length, 2, 'no polling while hidden');
  document.setVisibility('visible');
  await flush();
  assert.equal(server.hits.length, 4);
  assert.equal(monitor.snapshot.paused, false);
  assert.deepEqual(clock.pending(), [15000]);
  monitor.stop();
});

test('starting in a hidden tab waits for it to become visible', async () => {
  const { clock, server, monitor, document } = setup();
  document.visibilityState = 'hidden';
  monitor.start();
  await clock.advance(60000);
  assert.deepEqual(server.hits, []);
  document.setVisibility('visible');
  await flush();
  assert.equal(monitor.state, 'connected');
  monitor.stop();
});

test('navigator offline: offline without probing; the online event checks at once', async () => {
  const { clock, server, monitor, navigator, net, log } = setup();
  monitor.start();
  await flush();
  navigator.onLine = false;
  net.dispatchEvent(new Event('offline'));
  assert.equal(monitor.state, 'offline');
  assert.equal(monitor.snapshot.networkOffline, true);
  await clock.advance(5000);
  assert.equal(server.hits.length, 2);
  navigator.onLine = true;
  net.dispatchEvent(new Event('online'));
  await flush();
  assert.equal(monitor.state, 'connected');
  assert.equal(server.hits.length, 4);
  assert.deepEqual(log, ['unknown->connected', 'connected->offline', 'offline->connected', 'recovered after 5000 ms']);
  monitor.stop();
});

test('checkNow joins a check in flight', async () => {
  const { server, monitor } = setup();
  monitor.start();
  const a = monitor.checkNow();
  const b = monitor.checkNow();
  assert.equal(a, b);
  await a;
  assert.deepEqual(server.hits, ['/api/health', '/api/ready']);
  monitor.stop();
});

test('describeReadiness names the checks that are not passing', () => {
  assert.equal(describeReadiness(null), 'Readiness unknown');
  assert.equal(describeReadiness(doc('pass', { a: [{ status: 'pass' }] })), '');
  assert.equal(describeReadiness(doc('warn', { a: [{ status: 'warn' }], b: [{ status: 'fail', output: 'x' }] })), 'a warn; b fail (x)');
});
