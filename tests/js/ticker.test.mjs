import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  earningsMovesFigure, liquidityWarnings, metricRows, nextEarnings, normalizeTicker, retryNotice,
  scalePoints, staleAsOf, termStructureFigure,
} from '../../src/tradestats/web/js/views/ticker.js';
import { ApiError } from '../../src/tradestats/web/js/api/errors.js';

test('normalizeTicker: the server rule after upper-casing', () => {
  assert.equal(normalizeTicker(' aapl '), 'AAPL');
  assert.equal(normalizeTicker('brk.b'), 'BRK.B');
  assert.equal(normalizeTicker('bf-b'), 'BF-B');
  assert.equal(normalizeTicker('A'), 'A');
  assert.equal(normalizeTicker('ABCDEFGHIJ'), 'ABCDEFGHIJ');
  for (const bad of ['', '1ABC', 'ABCDEFGHIJK', 'AB CD', '^GSPC', '.A', 'A/B', null, undefined]) assert.equal(normalizeTicker(bad), null, String(bad));
});

const analysis = {
  price: 100, iv30: 0.4, rv30: 0.3, iv30_rv30: 1.333, slope: -0.01, avg_volume: 2e6, expected_move: 0.05,
  avg_volume_pass: true, iv30_rv30_pass: true, slope_pass: false, rv_variant: 'calculator',
  thresholds: { min_avg_volume: 1500000, min_iv30_rv30: 1.25, max_slope: -0.00406 },
};

test('metricRows: server pass/fail against the thresholds, expected move in % and $', () => {
  const rows = Object.fromEntries(metricRows(analysis).map((r) => [r.key, r]));
  assert.deepEqual([rows.avg_volume.pass, rows.iv30_rv30.pass, rows.slope.pass, rows.price.pass], [true, true, false, null]);
  assert.equal(rows.iv30_rv30.rule, '≥ 1.25');
  assert.equal(rows.slope.rule, '≤ −0.00406 per day');
  assert.equal(rows.avg_volume.rule, '≥ 1,500,000');
  assert.equal(rows.expected_move.value, '±5.00 %');
  assert.equal(rows.expected_move.rule, '±$5.00');
  assert.equal(metricRows({ ...analysis, expected_move: null }).find((r) => r.key === 'expected_move').value, '–');
});

test('figures: term structure in %, earnings moves without missing ones, coloured by sign', () => {
  const term = termStructureFigure([{ expiry: '2026-12-04', dte: 9, iv: 0.435 }, { expiry: '2026-12-25', dte: 30, iv: 0.33 }]);
  assert.deepEqual(term.data[0].x, [9, 30]);
  assert.deepEqual(term.data[0].y.map((v) => Math.round(v * 10) / 10), [43.5, 33]);
  const moves = earningsMovesFigure([
    { date: '2026-01-26', move: 0.05, timing: 'BMO', inferred: false },
    { date: '2026-04-24', move: null, timing: 'AMC', inferred: false },
    { date: '2026-07-27', move: -0.02, timing: 'AMC', inferred: true },
  ]);
  assert.deepEqual(moves.data[0].x, ['2026-01-26', '2026-07-27']);
  assert.deepEqual(moves.data[0].marker.color, ['#2ecc71', '#e74c3c']);
  assert.deepEqual(moves.data[0].customdata, ['BMO', 'AMC, date inferred']);
});

test('scalePoints fits the box (y grows upwards); a single point is centred', () => {
  const box = { width: 100, height: 60, pad: 10 };
  assert.deepEqual(scalePoints([{ x: 0, y: 0 }, { x: 10, y: 5 }], box), [{ x: 10, y: 50 }, { x: 90, y: 10 }]);
  assert.deepEqual(scalePoints([{ x: 3, y: 3 }], box), [{ x: 50, y: 30 }]);
  assert.deepEqual(scalePoints([], box), []);
});

const leg = (over = {}) => ({ expiry: '2026-12-18', strike: 100, right: 'call', bid: 1, ask: 1.05, mid: 1.025, iv: 0.3, volume: 500, openInterest: 2000, spreadPct: 0.05, zeroBid: false, liquidityScore: 90, ...over });

test('liquidityWarnings: server warnings plus zero bid, wide spread, thin OI, no volume, low score', () => {
  assert.deepEqual(liquidityWarnings({ front: leg(), back: leg(), liquidityScore: 90, warnings: [] }), []);
  const w = liquidityWarnings({
    front: leg({ zeroBid: true, spreadPct: 0.4 }),
    back: leg({ expiry: '2027-01-15', openInterest: 12, volume: 0 }),
    liquidityScore: 30,
    warnings: ['server says so', 'server says so'],
  });
  assert.deepEqual(w, [
    'server says so',
    'Front leg (2026-12-18) has a zero bid',
    'Front leg (2026-12-18) bid/ask spread is 40.0 % of mid',
    'Back leg (2027-01-15) open interest is only 12',
    'Back leg (2027-01-15) has not traded today',
    'Low liquidity score (30.0 of 100)',
  ]);
});

test('nextEarnings, staleAsOf, retryNotice', () => {
  const up = [{ date: '2027-04-23', timing: 'BMO', inferred: true }, { date: '2027-01-25', timing: 'AMC', inferred: false }, { date: '2026-01-01', timing: 'BMO', inferred: false }];
  assert.equal(nextEarnings(up, '2026-11-26').date, '2027-01-25');
  assert.equal(nextEarnings([], '2026-11-26'), null);
  assert.equal(staleAsOf([{ stale: false, asOf: '2026-01-01T00:00:00Z' }]), null);
  assert.equal(staleAsOf([{ stale: true, asOf: '2026-01-02T00:00:00Z' }, { stale: true, asOf: '2026-01-01T00:00:00Z' }, { stale: false, asOf: '2025-01-01T00:00:00Z' }]), Date.parse('2026-01-01T00:00:00Z'));
  const error = new ApiError({ kind: 'http', status: 503, method: 'GET', url: '/x', requestId: 'r', retryAfterMs: 5000, body: { title: 'Market data unavailable' } });
  assert.equal(retryNotice({ attempt: 1, delayMs: 5000, error }), 'Market data unavailable (HTTP 503); retrying in 5 s, as the server asked (Retry-After) — attempt 2 of 4.');
  const net = new ApiError({ kind: 'network', method: 'GET', url: '/x', requestId: 'r' });
  assert.match(retryNotice({ attempt: 2, delayMs: 1400, error: net }), /^Could not reach the server; retrying in 1 s — attempt 3 of 4\.$/);
});
