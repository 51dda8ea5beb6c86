import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ConnectionIndicator, describeConnection, formatAge, staleText } from '../../src/tradestats/web/js/ui/connection.js';
import { FakeClock } from './fakes.mjs';

function snapshot(over = {}) {
  return {
    state: 'unknown', since: 0, nextAttemptAt: null, checking: false, paused: false, networkOffline: false,
    failures: 0, ready: null, readyAt: null, lastOkAt: null, reason: null, lastError: null, ...over,
  };
}

test('describeConnection: one label per state, countdown while reconnecting', () => {
  const now = 1_000_000;
  assert.equal(describeConnection(snapshot(), now).text, 'Connecting…');
  assert.equal(describeConnection(snapshot({ state: 'connected' }), now).text, 'Connected');
  const degraded = describeConnection(snapshot({ state: 'degraded', reason: 'redis:responseTime warn' }), now);
  assert.deepEqual([degraded.state, degraded.text, degraded.title], ['degraded', 'Degraded', 'redis:responseTime warn']);
  const rec = describeConnection(snapshot({ state: 'reconnecting', nextAttemptAt: now + 3200, lastOkAt: now - 42000, reason: 'Could not reach the server' }), now);
  assert.deepEqual([rec.label, rec.countdown, rec.text], ['Reconnecting', ' in 4 s…', 'Reconnecting in 4 s…']);
  assert.match(rec.title, /Could not reach the server\. ?.*42 s ago/);
  assert.equal(describeConnection(snapshot({ state: 'reconnecting', checking: true }), now).text, 'Reconnecting…');
  assert.equal(describeConnection(snapshot({ state: 'offline', networkOffline: true }), now).text, 'Offline');
  assert.equal(describeConnection(snapshot({ state: 'offline', nextAttemptAt: now + 30000 }), now).text, 'Offline · retrying in 30 s…');
});

test('formatAge and staleText', () => {
  assert.equal(formatAge(42_000), '42 s');
  assert.equal(formatAge(3 * 60_000 + 5000), '3 min');
  assert.equal(formatAge(2 * 3600_000), '2 h');
  assert.equal(formatAge(-5), '0 s');
  assert.match(staleText(0, 180_000, 'Reconnecting…'), /^Showing data from .+ \(3 min ago\)\. Reconnecting…$/);
});

function fakeElement() {
  const node = () => ({ textContent: '', className: '', attrs: {}, setAttribute(k, v) { this.attrs[k] = v; } });
  return {
    dataset: {}, title: '', children: [],
    ownerDocument: { createElement: node },
    replaceChildren(...c) { this.children = c; },
    get text() { return this.children.map((c) => c.textContent).join(''); },
  };
}

test('the indicator renders state changes and counts down every second', async () => {
  const clock = new FakeClock();
  const monitor = new EventTarget();
  monitor.snapshot = snapshot();
  const el = fakeElement();
  const indicator = new ConnectionIndicator(el, monitor, { clock });
  assert.equal(el.dataset.state, 'unknown');
  assert.equal(el.text, 'Connecting…');
  assert.equal(el.children[1].attrs['aria-hidden'], 'true', 'the ticking countdown is not announced');
  monitor.snapshot = snapshot({ state: 'reconnecting', nextAttemptAt: clock.now() + 4000 });
  monitor.dispatchEvent(new CustomEvent('statechange'));
  assert.equal(el.dataset.state, 'reconnecting');
  assert.equal(el.text, 'Reconnecting in 4 s…');
  const texts = [];
  for (let i = 0; i < 4; i += 1) {
    await clock.advance(1000);
    texts.push(el.text);
  }
  assert.deepEqual(texts, ['Reconnecting in 3 s…', 'Reconnecting in 2 s…', 'Reconnecting in 1 s…', 'Reconnecting…']);
  monitor.snapshot = snapshot({ state: 'connected' });
  monitor.dispatchEvent(new CustomEvent('update'));
  await clock.advance(1000);
  assert.equal(el.text, 'Connected');
  assert.equal(el.dataset.state, 'connected');
  assert.deepEqual(clock.pending(), [], 'no ticker while connected');
  indicator.destroy();
});
