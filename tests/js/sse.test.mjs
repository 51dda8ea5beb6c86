import { test } from 'node:test';
import assert from 'node:assert/strict';

import { SseFollower, SseParser, reconnectDelay } from '../../src/tradestats/web/js/api/sse.js';
import { FakeClock, flush } from './fakes.mjs';

const frame = (id, type, data) => `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;

test('SseParser: events, comments, multi-line data, retry, ids persist', () => {
  const p = new SseParser();
  assert.deepEqual(p.feed('retry: 2000\n\n: heartbeat\n\n'), []);
  assert.equal(p.retryMs, 2000);
  assert.deepEqual(p.feed('id: 1\nevent: progress\ndata: {"a":1}\n\n'), [{ id: '1', event: 'progress', data: '{"a":1}' }]);
  assert.deepEqual(p.feed('data: x\ndata: y\n\n'), [{ id: '1', event: 'message', data: 'x\ny' }]);
  assert.deepEqual(p.feed('data:no-space\n\n'), [{ id: '1', event: 'message', data: 'no-space' }]);
});

test('SseParser: frames split anywhere, CRLF split across chunks', () => {
  const text = 'id: 7\r\nevent: result\r\ndata: {"t":"AAPL"}\r\n\r\nid: 8\revent: done\rdata: {}\r\r\n';
  for (let cut = 1; cut < text.length; cut += 1) {
    const p = new SseParser();
    const events = [...p.feed(text.slice(0, cut)), ...p.feed(text.slice(cut))];
    assert.deepEqual(events.map((e) => [e.id, e.event, e.data]), [['7', 'result', '{"t":"AAPL"}'], ['8', 'done', '{}']], `cut at ${cut}`);
  }
});

test('reconnectDelay: full jitter, capped, floored', () => {
  const policy = { baseMs: 1000, maxMs: 15000 };
  assert.equal(reconnectDelay(0, policy, () => 1), 1000);
  assert.equal(reconnectDelay(3, policy, () => 1), 8000);
  assert.equal(reconnectDelay(10, policy, () => 1), 15000);
  assert.equal(reconnectDelay(10, policy, () => 0), 250);
});

/** A fetch whose responses stream the given chunks; `end: false` leaves the stream open, 'error' errors it. */
function scriptedFetch(script) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, headers: { ...init.headers } });
    const step = script.shift();
    if (!step) throw new TypeError('no more scripted responses');
    if (step.networkError) throw new TypeError('Failed to fetch');
    if (step.status !== 200) return { status: step.status, body: null, text: async () => JSON.stringify(step.problem ?? {}) };
    const enc = new TextEncoder();
    const chunks = [...step.chunks];
    const body = new ReadableStream({
      start(controller) {
        init.signal.addEventListener('abort', () => {
          try {
            controller.error(new DOMException('aborted', 'AbortError'));
          } catch {
            // already closed
          }
        });
      },
      pull(controller) {
        if (chunks.length > 0) controller.enqueue(enc.encode(chunks.shift()));
        else if (step.end === 'error') controller.error(new TypeError('network error'));
        else if (step.end !== false) controller.close();
        else return new Promise(() => {}); // open, silent
        return undefined;
      },
    });
    return { status: 200, body, text: async () => '' };
  };
  return { fetch, calls };
}

test('SseFollower: a dropped stream resumes after the last event id; nothing lost or doubled', async () => {
  const clock = new FakeClock();
  const { fetch, calls } = scriptedFetch([
    { status: 200, chunks: ['retry: 2000\n\n', frame(1, 'progress', { n: 1 }), frame(2, 'result', { n: 2 }), 'id: 3\nevent: res'], end: 'error' },
    { networkError: true },
    { status: 200, chunks: [frame(2, 'result', { n: 2 }), frame(3, 'result', { n: 3 }), frame(4, 'done', { n: 4 })] },
  ]);
  const seen = [];
  const states = [];
  const follower = new SseFollower({
    url: '/api/scans/x/events', fetch, clock, random: () => 0.5,
    isTerminal: (t) => t === 'done',
    onEvent: (e) => seen.push([e.numericId, e.event]),
    onState: (s, info) => states.push([s, info.delayMs]),
  });
  const done = follower.start();
  await flush();
  assert.deepEqual(seen, [[1, 'progress'], [2, 'result']]);
  assert.equal(follower.state, 'reconnecting');
  await clock.advance(1000); // first retry (server's retry: 2000 × 0.5) fails: network
  assert.equal(follower.state, 'reconnecting');
  await clock.advance(2000);
  await done;
  assert.deepEqual(seen, [[1, 'progress'], [2, 'result'], [3, 'result'], [4, 'done']]);
  assert.equal(calls[0].headers['Last-Event-ID'], undefined);
  assert.equal(calls[1].headers['Last-Event-ID'], '2');
  assert.equal(calls[2].headers['Last-Event-ID'], '2');
  assert.match(calls[2].headers['X-Request-ID'], /^[0-9a-f]{32}$/);
  assert.deepEqual(states.map((s) => s[0]), ['open', 'reconnecting', 'reconnecting', 'open', 'closed']);
  assert.equal(follower.lastEventId, 4);
});

test('SseFollower: resumes from a given id, reconnectNow skips the wait, 404 is fatal', async () => {
  const clock = new FakeClock();
  const { fetch, calls } = scriptedFetch([
    { networkError: true },
    { status: 404, problem: { detail: 'no scan x' } },
  ]);
  let fatal = null;
  const follower = new SseFollower({ url: '/e', lastEventId: 5, fetch, clock, random: () => 1, onEvent: () => {}, onFatal: (e) => { fatal = e; } });
  const done = follower.start();
  await flush();
  assert.equal(follower.state, 'reconnecting');
  assert.deepEqual(clock.pending().filter((d) => d <= 1000), [1000]);
  follower.reconnectNow();
  await done;
  assert.equal(calls[0].headers['Last-Event-ID'], '5');
  assert.equal(fatal.status, 404);
  assert.equal(fatal.message, 'no scan x');
  assert.equal(follower.state, 'closed');
});

test('SseFollower: a silent connection is dropped and resumed; stop() ends it', async () => {
  const clock = new FakeClock();
  const { fetch, calls } = scriptedFetch([
    { status: 200, chunks: [frame(1, 'progress', {})], end: false },
    { status: 200, chunks: [], end: false },
  ]);
  const follower = new SseFollower({ url: '/e', fetch, clock, random: () => 0, idleTimeoutMs: 45000, onEvent: () => {} });
  const done = follower.start();
  await flush();
  assert.equal(follower.state, 'open');
  await clock.advance(45000); // no heartbeat: dead
  await clock.advance(1000);
  assert.equal(calls.length, 2);
  assert.equal(calls[1].headers['Last-Event-ID'], '1');
  follower.stop();
  await done;
  assert.equal(follower.state, 'closed');
});
