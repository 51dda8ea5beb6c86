import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  applyScanEvent, filterByVerdict, isTerminal, localToday, progressFraction, progressText,
  scanColumns, scanFromSnapshot, scanRows, sortFromQuery, verdictCounts,
} from '../../src/tradestats/web/js/views/screener.js';
import { sortRows } from '../../src/tradestats/web/js/ui/table.js';

const P = (done, total = 3) => ({ total, done, analyzed: done, filtered_out: 0, no_data: 0, errors: 0 });
const result = (ticker, verdict, extra = {}) => ({
  ticker, outcome: 'result', reason: null, timing: 'AMC',
  analysis: { ticker, price: 10, iv30_rv30: 1.3, slope: -0.01, avg_volume: 2e6, expected_move: 0.05, verdict, source: 'demo', warnings: [], ...extra },
});

test('scan state: snapshot then events; replays and duplicate tickers change nothing', () => {
  let s = scanFromSnapshot({ id: 'abc', status: 'queued', date: '2026-11-25', progress: {}, results: [], skipped: [], last_event_id: 0 });
  assert.deepEqual([s.status, s.progress.total, s.lastEventId], ['queued', 0, 0]);
  s = applyScanEvent(s, { id: 1, type: 'progress', data: { progress: P(0) } });
  assert.equal(s.status, 'running');
  s = applyScanEvent(s, { id: 2, type: 'result', data: { progress: P(1), outcome: result('AAA', 'Avoid') } });
  const again = applyScanEvent(s, { id: 2, type: 'result', data: { progress: P(1), outcome: result('AAA', 'Avoid') } });
  assert.equal(again, s, 'an id already applied is ignored');
  s = applyScanEvent(s, { id: 3, type: 'progress', data: { progress: P(2), outcome: { ticker: 'BBB', outcome: 'filtered', reason: 'volume', timing: 'BMO', analysis: null } } });
  s = applyScanEvent(s, { id: 4, type: 'result', data: { progress: P(3), outcome: result('AAA', 'Avoid') } });
  assert.deepEqual([s.results.length, s.skipped.length, s.lastEventId], [1, 1, 4]);
  assert.equal(isTerminal(s), false);
  s = applyScanEvent(s, { id: 5, type: 'done', data: { status: 'done', progress: P(3), error: null } });
  assert.equal(s.status, 'done');
  assert.equal(isTerminal(s), true);
});

test('scan state: cancelled keeps progress; error carries the message', () => {
  const base = applyScanEvent(scanFromSnapshot({ id: 'x', status: 'running', progress: P(1) }), { id: 1, type: 'progress', data: { progress: P(2) } });
  const cancelled = applyScanEvent(base, { id: 2, type: 'cancelled', data: { status: 'cancelled', progress: {}, error: null } });
  assert.deepEqual([cancelled.status, cancelled.progress.done], ['cancelled', 2]);
  const failed = applyScanEvent(base, { id: 2, type: 'error', data: { status: 'failed', error: 'boom' } });
  assert.deepEqual([failed.status, failed.error], ['failed', 'boom']);
});

test('progress fraction and text', () => {
  assert.equal(progressFraction({ ...P(0), total: 0 }), null);
  assert.equal(progressFraction(P(1, 4)), 0.25);
  assert.equal(progressText(P(2, 7)), '2 / 7 tickers · 2 analyzed · 0 filtered out · 0 no data · 0 errors');
  assert.match(progressText({ ...P(0), total: 0 }), /calendar/);
});

test('rows, verdict counts and filter, sort by verdict rank and by metrics', () => {
  const rows = scanRows([result('A', 'Avoid', { iv30_rv30: 0.9 }), result('R', 'Recommended', { iv30_rv30: 1.5 }), result('C', 'Consider', { iv30_rv30: null }), { ticker: 'N', outcome: 'result', analysis: null }]);
  assert.deepEqual(rows.map((r) => r.ticker), ['A', 'R', 'C']);
  assert.deepEqual(verdictCounts(rows), { Recommended: 1, Consider: 1, Avoid: 1 });
  assert.deepEqual(filterByVerdict(rows, 'Avoid').map((r) => r.ticker), ['A']);
  assert.equal(filterByVerdict(rows, '').length, 3);
  assert.equal(filterByVerdict(rows, 'bogus').length, 3);
  const cols = scanColumns();
  const col = (key) => cols.find((c) => c.key === key);
  assert.deepEqual(sortRows(rows, col('verdict'), 'asc').map((r) => r.ticker), ['R', 'C', 'A']);
  // Missing values last in both directions.
  assert.deepEqual(sortRows(rows, col('iv30_rv30'), 'desc').map((r) => r.ticker), ['R', 'A', 'C']);
  assert.deepEqual(sortRows(rows, col('iv30_rv30'), 'asc').map((r) => r.ticker), ['A', 'R', 'C']);
  for (const key of ['price', 'iv30_rv30', 'slope', 'avg_volume', 'expected_move']) assert.equal(col(key).numeric, true, key);
});

test('sortFromQuery defaults and validation; localToday', () => {
  assert.deepEqual(sortFromQuery({}), { key: 'verdict', order: 'asc' });
  assert.deepEqual(sortFromQuery({ sort: 'slope' }), { key: 'slope', order: 'desc' });
  assert.deepEqual(sortFromQuery({ sort: 'slope', order: 'asc' }), { key: 'slope', order: 'asc' });
  assert.deepEqual(sortFromQuery({ sort: 'evil' }), { key: 'verdict', order: 'asc' });
  assert.equal(localToday(new Date(2026, 0, 5, 23, 59)), '2026-01-05');
});
