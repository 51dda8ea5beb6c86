import { test } from 'node:test';
import assert from 'node:assert/strict';

import { HashRouter, apiParams, buildHash, filtersFromQuery, parseHash, toSearch, withQuery } from '../../src/tradestats/web/js/router.js';

test('parseHash: view, param and query; empty hash is the summary', () => {
  assert.deepEqual(parseHash(''), { view: 'summary', param: null, query: {}, raw: '' });
  assert.deepEqual(parseHash('#'), { view: 'summary', param: null, query: {}, raw: '#' });
  const r = parseHash('#trades?symbol=SPY&sort=net_pnl&order=asc&empty=');
  assert.equal(r.view, 'trades');
  assert.deepEqual(r.query, { symbol: 'SPY', sort: 'net_pnl', order: 'asc' });
  assert.equal(parseHash('#Performance').view, 'performance');
  assert.equal(parseHash('#nope').view, 'not-found');
});

test('router slots for the options views: #screener and #ticker/<T>', () => {
  assert.equal(parseHash('#screener').view, 'screener');
  const t = parseHash('#ticker/aapl?window=30');
  assert.deepEqual([t.view, t.param, t.query.window], ['ticker', 'AAPL', '30']);
  assert.equal(parseHash('#ticker/BRK%2EB').param, 'BRK.B');
  assert.equal(parseHash('#ticker/%E0%A4%A').param, '%E0%A4%A', 'a malformed escape does not throw');
});

test('buildHash round-trips, with stable key order and empty values dropped', () => {
  const hash = buildHash('trades', null, { symbol: 'SPY', account: 'My acct & co', offset: null, tag: '' });
  assert.equal(hash, '#trades?account=My+acct+%26+co&symbol=SPY');
  assert.deepEqual(parseHash(hash).query, { account: 'My acct & co', symbol: 'SPY' });
  assert.equal(buildHash('ticker', 'BRK.B'), '#ticker/BRK.B');
  assert.equal(toSearch({ b: 2, a: 1 }), 'a=1&b=2');
});

test('filtersFromQuery keeps only values the API accepts', () => {
  assert.deepEqual(filtersFromQuery({ account: 'Demo', symbol: ' spy ', side: 'long', asset_class: 'crypto_perp', tag: 'A+', start: '2026-06-01', end: '2026-06-30', tz: 'Europe/Berlin', basis: 'gross' }), {
    account: 'Demo', symbol: 'SPY', side: 'long', asset_class: 'crypto_perp', tag: 'A+', start: '2026-06-01', end: '2026-06-30', tz: 'Europe/Berlin', basis: 'gross',
  });
  assert.deepEqual(filtersFromQuery({ side: 'both', asset_class: 'bond', start: '06/01/2026', basis: 'net', tz: '"><script>' }), {});
});

test('apiParams: basis only for /api/stats (the trades endpoints forbid unknown params)', () => {
  const f = { account: 'Demo', symbol: 'SPY', basis: 'gross', start: '2026-06-01' };
  assert.deepEqual(apiParams(f, 'stats', 'UTC'), { account: 'Demo', symbol: 'SPY', start: '2026-06-01', tz: 'UTC', basis: 'gross' });
  assert.deepEqual(apiParams(f, 'trades', 'Europe/Berlin'), { account: 'Demo', symbol: 'SPY', start: '2026-06-01', tz: 'Europe/Berlin' });
  assert.deepEqual(apiParams({}, 'stats', 'UTC'), { tz: 'UTC', basis: 'net' });
  assert.deepEqual(apiParams({ ...f, tz: 'Asia/Tokyo' }, 'trades', 'UTC').tz, 'Asia/Tokyo');
  assert.deepEqual(apiParams(f, 'positions', 'UTC'), { account: 'Demo' });
});

test('withQuery: a filter change resets paging; paging and the open trade do not', () => {
  const q = { symbol: 'SPY', offset: '100', sort: 'net_pnl' };
  assert.deepEqual(withQuery(q, { symbol: 'QQQ' }), { symbol: 'QQQ', sort: 'net_pnl' });
  assert.deepEqual(withQuery(q, { symbol: 'SPY' }), q, 'unchanged filter keeps the page');
  assert.deepEqual(withQuery(q, { trade: 'abc' }), { ...q, trade: 'abc' });
  assert.deepEqual(withQuery(q, { offset: '150' }), { ...q, offset: '150' });
  assert.deepEqual(withQuery(q, { symbol: null, offset: null }), { sort: 'net_pnl' });
});

test('HashRouter emits the current route at start and on hashchange', () => {
  const location = { hash: '#trades?symbol=SPY' };
  const events = new EventTarget();
  const seen = [];
  const router = new HashRouter((route) => seen.push(route.view + JSON.stringify(route.query)), { location, events });
  router.start();
  location.hash = '#performance';
  events.dispatchEvent(new Event('hashchange'));
  router.navigate('#performance'); // same hash: re-emits (the browser would not fire hashchange)
  router.stop();
  events.dispatchEvent(new Event('hashchange'));
  assert.deepEqual(seen, ['trades{"symbol":"SPY"}', 'performance{}', 'performance{}']);
});
