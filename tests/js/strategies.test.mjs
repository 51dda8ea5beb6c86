// The Performance view's strategy tables: what it asks /api/stats/strategies for and
// what it renders (escaped, labelled), on a fake DOM with a scripted API client.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import { installDocument } from './fakedom.mjs';
import { flush } from './fakes.mjs';
import { ApiError } from '../../src/tradestats/web/js/api/errors.js';
import { parseHash, filtersFromQuery } from '../../src/tradestats/web/js/router.js';
import * as performance from '../../src/tradestats/web/js/views/performance.js';

const row = (key, net, extra = {}) => ({ key, count: 2, wins: 1, losses: 1, breakevens: 0, win_rate: 0.5, net_pnl: net, gross_pnl: net + 5, fees: 5, profit_factor: 2.5, expectancy: net / 2, ...extra });
const KPIS = { count: 4, wins: 3, losses: 1, breakevens: 0, win_rate: 0.75, net_pnl: 335.39, gross_pnl: 345.05, fees: 9.66, profit_factor: 3, expectancy: 83.85 };

class FakeClient {
  constructor(routes) {
    this.routes = routes;
    this.calls = [];
  }

  async getJson(path) {
    this.calls.push(path);
    const [bare, search = ''] = path.split('?');
    const handler = this.routes[bare];
    if (!handler) throw new ApiError({ kind: 'http', method: 'GET', url: path, requestId: 'r', status: 404, body: { title: 'Not Found', detail: `no route ${bare}` } });
    return { status: 200, body: handler(Object.fromEntries(new URLSearchParams(search))), headers: { get: () => null }, requestId: 'r', attempts: 1 };
  }
}

function mount(hash, routes) {
  const root = globalThis.document.createElement('main');
  globalThis.document.body.replaceChildren(root);
  const route = parseHash(hash);
  const client = new FakeClient(routes);
  const ctx = { root, route, filters: filtersFromQuery(route.query), client, zone: 'UTC', accounts: [], settings: { capital: 25000 }, setQuery: () => {}, navigate: () => {} };
  const view = performance.mount(ctx);
  return { root, client, view };
}

function routes(strategies) {
  return {
    '/api/stats': (q) => ({ basis: q.basis, timezone: q.tz, kpis: KPIS, daily: {}, breakdowns: { symbol: [row('SPY', 127.34)] }, version: 'v1' }),
    '/api/stats/strategies': strategies,
  };
}

beforeEach(() => {
  installDocument();
  globalThis.Plotly = { react: async (el, data, layout) => { el.figure = { data, layout }; }, purge: () => {} };
});

test('strategyLabel turns a kind into words', () => {
  assert.equal(performance.strategyLabel('call_debit_vertical'), 'Call debit vertical');
  assert.equal(performance.strategyLabel('custom'), 'Custom');
});

test('performance: strategy and underlying tables from /api/stats/strategies, without capital', async () => {
  const body = {
    basis: 'gross',
    window: 2,
    total: KPIS,
    byStrategy: [row('call_debit_vertical', 127.34), row('iron_condor', 120, { profit_factor: null })],
    byUnderlying: [row('<img src=x>', 247.34)],
  };
  const { root, client, view } = mount('#performance?basis=gross&symbol=SPY', routes(() => body));
  await flush();
  const request = client.calls.find((p) => p.startsWith('/api/stats/strategies?'));
  assert.equal(request, '/api/stats/strategies?basis=gross&symbol=SPY&tz=UTC', 'no capital: the endpoint refuses it');
  assert.ok(client.calls.some((p) => p.startsWith('/api/stats?') && p.includes('capital=25000')), '/api/stats keeps capital');
  const cards = root.querySelectorAll('section.card');
  const titles = cards.map((c) => c.querySelector('h2').textContent);
  assert.deepEqual(titles.slice(-2), ['Strategies', 'Strategies by underlying']);
  const strategyCard = cards.at(-2);
  const headers = strategyCard.querySelectorAll('th').map((th) => th.textContent);
  assert.match(headers[0], /^Strategy/);
  assert.match(headers[1], /^Positions/);
  const firstCells = strategyCard.querySelectorAll('tbody tr').map((tr) => tr.querySelector('td').textContent);
  assert.deepEqual(firstCells, ['Call debit vertical', 'Iron condor']);
  const grossCells = strategyCard.querySelectorAll('tbody tr').map((tr) => tr.querySelectorAll('td')[4].textContent);
  assert.deepEqual(grossCells, ['132.34', '125.00']);
  const underlying = cards.at(-1).querySelector('tbody td');
  assert.equal(underlying.textContent, '<img src=x>', 'text, never markup');
  view.refresh();
  await flush();
  assert.equal(client.calls.filter((p) => p.startsWith('/api/stats/strategies?')).length, 2);
});

test('performance: no closed positions, no strategy tables; an error stays in its region', async () => {
  const empty = { basis: 'net', window: 2, total: { ...KPIS, count: 0 }, byStrategy: [], byUnderlying: [] };
  let { root } = mount('#performance', routes(() => empty));
  await flush();
  assert.ok(!root.querySelectorAll('section.card h2').some((h) => h.textContent.startsWith('Strategies')));
  ({ root } = mount('#performance', routes(() => { throw new ApiError({ kind: 'http', method: 'GET', url: '/api/stats/strategies', requestId: 'req-9', status: 400, body: { title: 'Invalid request', status: 400, detail: 'Invalid query parameter(s): window', errors: [{ name: 'window', in: 'query', reason: 'bad' }] } }); })));
  await flush();
  assert.match(root.text, /Strategies: /);
  assert.match(root.text, /window/);
  assert.ok(root.querySelectorAll('section.card h2').some((h) => h.textContent === 'By symbol'), 'the breakdowns still show');
});
