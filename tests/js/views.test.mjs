// The journal views mounted on a fake DOM with a scripted API client: what they request,
// what they render (escaped), their error states, and refetching on `refresh`.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import { installDocument } from './fakedom.mjs';
import { flush } from './fakes.mjs';
import { ApiError } from '../../src/tradestats/web/js/api/errors.js';
import { parseHash, filtersFromQuery } from '../../src/tradestats/web/js/router.js';
import * as summary from '../../src/tradestats/web/js/views/summary.js';
import * as performance from '../../src/tradestats/web/js/views/performance.js';
import * as trades from '../../src/tradestats/web/js/views/trades.js';
import * as importView from '../../src/tradestats/web/js/views/import.js';
import { mount as mountPlaceholder } from '../../src/tradestats/web/js/views/placeholder.js';
import { describeFilters, showsDemo } from '../../src/tradestats/web/js/views/common.js';

const KPIS = {
  count: 408, wins: 224, losses: 184, breakevens: 0, win_rate: 0.54902, net_pnl: 37246.52, gross_pnl: 38676.34, fees: 1429.82,
  fees_pct_of_gross: 0.786369e-2, gross_profit: 109437.2, gross_loss: -72190.68, profit_factor: 1.515946, expectancy: 91.29,
  average_holding_seconds: 26385.147, median_holding_seconds: 5910,
};
const DAILY = { starting_capital: 10000, max_drawdown: 7938.81, max_drawdown_pct: 0.178807, max_drawdown_peak: '2026-10-28', max_drawdown_trough: '2026-11-03', sharpe: 3.264439, sortino: 6.271386, annualization: 252 };
const row = (key, net, extra = {}) => ({ key, count: 10, wins: 6, losses: 4, breakevens: 0, win_rate: 0.6, net_pnl: net, gross_pnl: net + 10, fees: 10, profit_factor: 1.5, expectancy: net / 10, ...extra });
const BREAKDOWNS = {
  symbol: [row('AAPL', 600.35), row('<script>alert(1)</script>', -50)],
  asset_class: [row('crypto_spot', 1899.85)],
  side: [row('long', 24450.98), row('short', 12795.54)],
  account: [row('Demo', 37246.52)],
  tag: [row('(untagged)', 37246.52)],
  month: [row('2026-06', 10043.17), row('2026-07', -683.88)],
  weekday: [row('Mon', -5470.36), row('Tue', 11066.64)],
  hour: [row('14', -2113.93)],
  holding_time: [row('1-5m', 30.5, { profit_factor: null })],
};
const TRADE = {
  id: 'ab118b6f', account: 'Demo', symbol: 'SPY', underlying: 'SPY', assetClass: 'stock', direction: 'long', entryTime: '2026-11-25T19:05:00+00:00',
  exitTime: '2026-11-25T19:51:00+00:00', quantity: '100', entryPrice: '598.44', exitPrice: '607.365', multiplier: '1', grossPnl: 892.5, fees: 2, netPnl: 890.5,
  holdingSeconds: 2760, executions: 3, risk: null, rMultiple: null, tags: ['<b>bold</b>'], notes: '',
};
const DETAIL = { ...TRADE, executionList: [{ id: 1080, account: 'Demo', importId: 1, symbol: 'SPY', assetClass: 'stock', time: '2026-11-25T19:05:00+00:00', side: 'buy', quantity: '100', price: '598.44', fees: '1.00', currency: 'USD', broker: 'generic', brokerExecutionId: null, orderId: '419', sourceRow: 1081 }] };
const REPORT = { id: 7, file_name: 'x.csv', broker: 'tastytrade', account: 'main', status: 'imported', rows_read: 12, imported: 10, duplicates: 1, rejected: 1, rejections: [{ row: 5, column: 'Date', reason: 'unparseable date "<nope>"' }], skipped: { dividend: 2 }, strict: false, replayed: false, created_at: '2026-11-26T03:37:50+00:00' };

function problem(status, detail, errors = []) {
  return new ApiError({ kind: 'http', method: 'GET', url: '/api/x', requestId: 'req-123', status, body: { type: 'about:blank', title: 'Invalid request', status, detail, errors } });
}

class FakeClient {
  constructor(routes) {
    this.routes = routes;
    this.calls = [];
  }

  async _answer(method, path, options = {}, body = undefined) {
    this.calls.push({ method, path, options, body });
    const [bare, search = ''] = path.split('?');
    const handler = this.routes[`${method} ${bare}`];
    if (!handler) throw new ApiError({ kind: 'http', method, url: path, requestId: 'r', status: 404, body: { title: 'Not Found', detail: `no route ${bare}` } });
    const result = await handler(Object.fromEntries(new URLSearchParams(search)), body, options);
    return result && result.__status ? { status: result.__status, body: result.body, headers: { get: () => null }, requestId: 'r', attempts: 1 } : { status: 200, body: result, headers: { get: () => null }, requestId: 'r', attempts: 1 };
  }

  getJson(path, options) { return this._answer('GET', path, options); }
  patchJson(path, data, options) { return this._answer('PATCH', path, options, data); }
  del(path, options) { return this._answer('DELETE', path, options); }
  upload(path, form, options) { return this._answer('POST', path, options, form); }

  paths(method = 'GET') {
    return this.calls.filter((c) => c.method === method).map((c) => c.path);
  }
}

const ACCOUNTS = [{ name: 'Demo', baseCurrency: 'USD', lotMethod: 'fifo', demo: true }, { name: 'main', baseCurrency: 'USD', lotMethod: 'fifo', demo: false }];

function context(hash, client) {
  const doc = globalThis.document;
  const root = doc.createElement('main');
  doc.body.replaceChildren(root);
  const route = parseHash(hash);
  const queries = [];
  const ctx = { root, route, filters: filtersFromQuery(route.query), client, zone: 'UTC', accounts: ACCOUNTS, setQuery: (c) => queries.push(c), navigate: (h) => queries.push(h) };
  return { ctx, root, queries };
}

let plotted;
beforeEach(() => {
  installDocument();
  plotted = [];
  globalThis.Plotly = {
    react: async (el, data, layout) => {
      el.figure = { data, layout };
      plotted.push(el);
    },
    purge: (el) => {
      el.purged = true;
    },
  };
});

function statsRoutes(overrides = {}) {
  return {
    'GET /api/stats': (q) => ({ basis: q.basis, timezone: q.tz, currency: 'EUR', kpis: KPIS, daily: DAILY, breakdowns: BREAKDOWNS, version: 'v1' }),
    'GET /api/stats/equity': (q) => ({ basis: q.basis, startingCapital: 10000, points: [{ date: '2026-06-05', pnl: 385.25, equity: 10385.25, drawdown: 0 }, { date: '2026-06-09', pnl: -1850.88, equity: 8534.37, drawdown: -1850.88 }] }),
    'GET /api/stats/calendar': () => ({ basis: 'net', timezone: 'UTC', days: [{ date: '2026-06-05', pnl: 385.25, trades: 3 }, { date: '2026-06-09', pnl: -1850.88, trades: 6 }] }),
    'GET /api/trades': (q) => ({ total: 1, limit: Number(q.limit ?? 50), offset: Number(q.offset ?? 0), items: [TRADE] }),
    ...overrides,
  };
}

test('summary: KPI cards (net with gross beside it), equity + drawdown, monthly bars, calendar', async () => {
  const client = new FakeClient(statsRoutes());
  const { ctx, root } = context('#summary?symbol=SPY', client);
  const view = summary.mount(ctx);
  await flush();
  const text = root.text;
  assert.match(text, /Net P&L\+37,246\.52Gross \+38,676\.34 · EUR/);
  assert.match(text, /Win rate54\.9 %224 W · 184 L · 0 BE/);
  assert.match(text, /Profit factor1\.52/);
  assert.match(text, /Max drawdown−7,938\.81/);
  assert.match(text, /Sharpe3\.26/);
  assert.match(text, /Includes demo account/);
  const stats = client.paths().find((p) => p.startsWith('/api/stats?'));
  assert.equal(stats, '/api/stats?basis=net&symbol=SPY&tz=UTC');
  const equity = plotted.find((el) => el.figure.data.length === 2);
  const monthly = plotted.find((el) => el.figure.data[0].type === 'bar');
  assert.deepEqual(equity.figure.data.map((t) => t.name), ['Equity (net)', 'Drawdown']);
  assert.deepEqual(equity.figure.data[1].y, [0, -1850.88]);
  assert.deepEqual(monthly.figure.data[0].x, ['2026-06', '2026-07']);
  assert.deepEqual(monthly.figure.data[0].y, [10043.17, -683.88]);
  // Click a day → its trades, with the filters and start=end=that day.
  const day = root.querySelectorAll('button.cal-btn')[1];
  day.click();
  await flush();
  const dayCall = client.paths().filter((p) => p.startsWith('/api/trades?')).at(-1);
  assert.equal(dayCall, '/api/trades?end=2026-06-09&limit=500&order=asc&sort=exit_time&start=2026-06-09&symbol=SPY&tz=UTC');
  assert.match(root.text, /Trades closed on 2026-06-09/);
  assert.equal(root.querySelectorAll('button.cal-btn[aria-pressed="true"]').length, 1);
  // Refetch on `recovered` (the app calls refresh): every source again, charts redrawn in place.
  const before = client.calls.length;
  view.refresh();
  await flush();
  const again = client.calls.slice(before).map((c) => c.path.split('?')[0]);
  assert.deepEqual(again.sort(), ['/api/stats', '/api/stats/calendar', '/api/stats/equity', '/api/trades']);
  assert.equal(root.querySelectorAll('.chart').length, 2, 'redrawn in place, not duplicated');
  view.destroy();
  assert.ok(plotted.every((el) => el.purged));
});

test('summary: gross basis and the server error detail (problem+json) with field errors', async () => {
  const client = new FakeClient(statsRoutes({
    'GET /api/stats': () => { throw problem(400, 'start is after end', [{ name: 'start', in: 'query', reason: 'after end' }]); },
  }));
  const { ctx, root } = context('#summary?basis=gross', client);
  summary.mount(ctx);
  await flush();
  const alert = root.querySelector('.state-error');
  assert.ok(alert, 'an error state');
  assert.match(alert.text, /Statistics: Invalid request/);
  assert.match(alert.text, /start is after end/);
  assert.match(alert.text, /start \(query\): after end/);
  assert.match(alert.text, /Request id req-123/);
  assert.ok(client.paths().some((p) => p.includes('/api/stats/equity?basis=gross')));
  assert.ok(plotted.some((el) => el.figure.data[0].name === 'Equity (gross)'));
});

test('summary: empty journal says so instead of showing zeros', async () => {
  const client = new FakeClient(statsRoutes({
    'GET /api/stats': () => ({ basis: 'net', kpis: { count: 0 }, daily: {}, breakdowns: { month: [] } }),
    'GET /api/stats/equity': () => ({ basis: 'net', points: [] }),
    'GET /api/stats/calendar': () => ({ days: [] }),
  }));
  const { ctx, root } = context('#summary', client);
  summary.mount(ctx);
  await flush();
  assert.match(root.text, /No closed trades match these filters/);
  assert.match(root.text, /No equity curve/);
  assert.equal(plotted.length, 0);
});

test('performance: each breakdown is a chart and a sortable table of the same numbers', async () => {
  const client = new FakeClient(statsRoutes());
  const { ctx, root } = context('#performance?basis=gross', client);
  const view = performance.mount(ctx);
  await flush();
  const titles = root.querySelectorAll('section.card h2').map((h) => h.textContent);
  assert.deepEqual(titles, ['By symbol', 'By asset class', 'By side', 'By weekday', 'By hour of entry', 'By holding time', 'By tag'], 'one account: no account breakdown');
  const symbolCard = root.querySelectorAll('section.card')[0];
  const figure = symbolCard.querySelector('.chart').figure;
  assert.deepEqual(figure.data[0].y, ['AAPL', '<script>alert(1)</script>']);
  assert.deepEqual(figure.data[0].x, [610.35, -40], 'gross basis: the gross column');
  const grossCells = symbolCard.querySelectorAll('tbody tr').map((tr) => tr.querySelectorAll('td')[4].textContent);
  assert.deepEqual(grossCells, ['610.35', '−40.00'], 'the table shows the charted numbers');
  assert.equal(symbolCard.querySelectorAll('tbody tr')[1].querySelector('td').textContent, '<script>alert(1)</script>');
  assert.equal(root.querySelectorAll('section.card')[5].querySelector('tbody tr').querySelectorAll('td')[6].textContent, '–', 'no profit factor without losses');
  assert.equal(root.querySelectorAll('section.card')[1].querySelector('tbody td').textContent, 'Crypto spot');
  view.refresh();
  await flush();
  assert.equal(client.paths().filter((p) => p.startsWith('/api/stats?')).length, 2);
});

test('trades: server-side paging/sort/filters, row → executions, PATCH edits, CSV link, positions', async () => {
  let patched = null;
  const client = new FakeClient({
    'GET /api/trades': (q) => ({ total: 120, limit: Number(q.limit), offset: Number(q.offset), items: [TRADE] }),
    'GET /api/trades/ab118b6f': () => DETAIL,
    'PATCH /api/trades/ab118b6f': (_q, body) => {
      patched = body;
      if (body.risk !== null && body.risk <= 0) throw problem(400, 'Invalid body parameter(s): risk', [{ name: 'risk', in: 'body', reason: 'Input should be greater than 0' }]);
      return { ...DETAIL, ...body };
    },
    'GET /api/positions': () => ({ items: [{ account: 'Demo', symbol: 'MSFT', direction: 'long', quantity: '100', averagePrice: '416.89', costBasis: 41689, openFees: 1, openedAt: '2026-11-26T14:50:00+00:00', tradeId: 'x' }] }),
  });
  const { ctx, root, queries } = context('#trades?account=Demo&basis=gross&sort=net_pnl&order=asc&offset=50&limit=25', client);
  const view = trades.mount(ctx);
  await flush();
  const list = client.paths().find((p) => p.startsWith('/api/trades?'));
  assert.equal(list, '/api/trades?account=Demo&limit=25&offset=50&order=asc&sort=net_pnl&tz=UTC', 'no basis: /api/trades forbids it');
  assert.ok(client.paths().includes('/api/positions?account=Demo'));
  assert.equal(root.querySelector('a[download]').getAttribute('href'), '/api/trades.csv?account=Demo&order=asc&sort=net_pnl&tz=UTC');
  assert.match(root.text, /51–51 of 120/, 'page 3 of 25 rows, one row returned');
  assert.match(root.text, /Demo account/);
  assert.match(root.text, /MSFT/);
  assert.equal(root.querySelector('span.tag').textContent, '<b>bold</b>');
  // Sorting is the server's: clicking a header changes the hash query.
  const netHeader = root.querySelectorAll('th').find((th) => th.textContent.startsWith('Net'));
  netHeader.querySelector('button').click();
  assert.deepEqual(queries.at(-1), { sort: 'net_pnl', order: 'desc', offset: null });
  root.querySelectorAll('.pager button').find((b) => b.textContent === 'Next ›').click();
  assert.deepEqual(queries.at(-1), { offset: '75' });
  root.querySelector('tbody tr.clickable').click();
  assert.deepEqual(queries.at(-1), { trade: 'ab118b6f' });
  // The app then updates the view in place with the new route (no list refetch).
  const listCalls = client.paths().filter((p) => p.startsWith('/api/trades?')).length;
  const next = context('#trades?account=Demo&basis=gross&sort=net_pnl&order=asc&offset=50&limit=25&trade=ab118b6f', client).ctx;
  next.root = root;
  assert.equal(view.update(next), true);
  await flush();
  assert.equal(client.paths().filter((p) => p.startsWith('/api/trades?')).length, listCalls);
  assert.match(root.text, /Executions \(1\)/);
  assert.match(root.text, /#1 row 1081/);
  // Edit: tags parsed, empty risk clears (null), PATCH made retryable with a key.
  root.querySelector('#edit-tags').value = ' swing, A+ ,swing ';
  root.querySelector('#edit-notes').value = 'held through <lunch>';
  root.querySelector('#edit-risk').value = '';
  root.querySelector('form.edit-form').dispatchEvent(new Event('submit', { cancelable: true }));
  await flush();
  assert.deepEqual(patched, { tags: ['swing', 'A+'], notes: 'held through <lunch>', risk: null });
  const patchCall = client.calls.find((c) => c.method === 'PATCH');
  assert.equal(patchCall.options.idempotencyKey, true);
  assert.match(root.text, /Saved\./);
  root.querySelector('#edit-risk').value = '-5';
  root.querySelector('form.edit-form').dispatchEvent(new Event('submit', { cancelable: true }));
  await flush();
  assert.match(root.querySelector('.form-status').text, /Not saved: Invalid request.*risk \(body\): Input should be greater than 0/);
  view.destroy();
});

test('trades: a new page or sort reloads only the list, in place; a filter change remounts', async () => {
  const client = new FakeClient({
    'GET /api/trades': (q) => ({ total: 120, limit: 50, offset: Number(q.offset ?? 0), items: [TRADE] }),
    'GET /api/positions': () => ({ items: [] }),
  });
  const { ctx, root } = context('#trades', client);
  const view = trades.mount(ctx);
  await flush();
  assert.equal(root.querySelector('[data-testid="trades-page"]').dataset.offset, '0');
  const count = (prefix) => client.paths().filter((p) => p.startsWith(prefix)).length;
  const next = context('#trades?offset=50', client).ctx;
  next.root = root;
  assert.equal(view.update(next), true);
  await flush();
  assert.equal(count('/api/trades?'), 2);
  assert.equal(count('/api/positions'), 1, 'positions are not refetched per page');
  assert.equal(root.querySelector('[data-testid="trades-page"]').dataset.offset, '50');
  assert.match(root.text, /51–51 of 120/);
  const filtered = context('#trades?offset=50&symbol=SPY', client).ctx;
  assert.equal(view.update(filtered), false, 'filters changed: the app remounts the view');
  view.destroy();
});

test('trades: empty and past-the-end pages', async () => {
  const client = new FakeClient({ 'GET /api/trades': (q) => ({ total: Number(q.offset) ? 60 : 0, limit: 50, offset: Number(q.offset), items: [] }), 'GET /api/positions': () => ({ items: [] }) });
  let { ctx, root } = context('#trades', client);
  trades.mount(ctx);
  await flush();
  assert.match(root.text, /No round trips match these filters/);
  assert.match(root.text, /No open positions/);
  const past = context('#trades?offset=500', client);
  trades.mount(past.ctx);
  await flush();
  assert.deepEqual(past.queries.at(-1), { offset: '50' }, 'jumps to the last page');
});

test('trades helpers: paging from the hash, page labels, tags and PATCH bodies', () => {
  assert.deepEqual(trades.pagingFromQuery({}), { sort: 'exit_time', order: 'desc', limit: 50, offset: 0 });
  assert.deepEqual(trades.pagingFromQuery({ sort: 'drop table', order: 'up', limit: '7', offset: '-3' }), { sort: 'exit_time', order: 'desc', limit: 50, offset: 0 });
  assert.deepEqual(trades.pagingFromQuery({ limit: '100', offset: '250' }), { sort: 'exit_time', order: 'desc', limit: 100, offset: 200 });
  assert.equal(trades.pageLabel(0, 0, 0), '0 of 0');
  assert.equal(trades.pageLabel(1000, 8, 1008), '1,001–1,008 of 1,008');
  assert.deepEqual(trades.parseTags(' a, b ,, a '), ['a', 'b']);
  assert.deepEqual(trades.patchBody({ tags: '', notes: 'n', risk: ' 250.5 ' }), { tags: [], notes: 'n', risk: 250.5 });
});

test('import helpers: preset guesses, OpenAPI presets, progress words, idempotency keys', () => {
  const g = importView.guessPreset;
  assert.equal(g('flex.xml', '<FlexQueryResponse queryName="x">'), 'ibkr_flex_xml');
  assert.equal(g('a.csv', '\uFEFFStatement,Header,Field Name,Field Value\nStatement,Data,BrokerName,IB'), 'ibkr_activity');
  assert.equal(g('h.csv', 'time,coin,dir,px,sz,ntl,fee,closedPnl\n'), 'hyperliquid');
  assert.equal(g('t.csv', 'Date,Type,Sub Type,Action,Symbol,Instrument Type,Description,Value\n'), 'tastytrade');
  assert.equal(g('t.csv', 'Date/Time,Transaction Code,Transaction Subcode,Symbol,Buy/Sell,Account Reference\n'), 'tastytrade');
  assert.equal(g('i.csv', '"Buy/Sell","TradeDate","ISIN","Quantity","TradePrice"\n'), 'ibkr_flex_csv');
  assert.equal(g('fills.xlsx', 'PK\u0003\u0004'), null);
  assert.equal(g('mine.csv', 'when,what,qty,px\n'), null);
  const spec = { paths: { '/api/imports': { post: { requestBody: { content: { 'multipart/form-data': { schema: { properties: { broker: { enum: ['a', 'b'] } } } } } } } } } };
  assert.deepEqual(importView.presetsFromOpenApi(spec), ['a', 'b']);
  assert.equal(importView.presetsFromOpenApi({}), null);
  assert.equal(importView.uploadProgressText({ loaded: 1024 * 1024, total: 4 * 1024 * 1024, attempt: 1 }), 'Uploading 1.0 MB of 4.0 MB (25 %)');
  assert.equal(importView.uploadProgressText({ loaded: 10, total: null, attempt: 2 }), 'Uploading 10 B — attempt 2');
  assert.equal(importView.jobProgressText({ status: 'running', progress: { stage: 'parse', rows: 12000 } }), 'Importing in the background: parse, 12,000 rows…');
  let n = 0;
  const keys = new importView.IdempotencyKeys(() => `key-${++n}`);
  assert.equal(keys.keyFor('file1|opts'), 'key-1');
  assert.equal(keys.keyFor('file1|opts'), 'key-1', 'a retry or second click reuses the key');
  assert.equal(keys.keyFor('file1|other broker'), 'key-2');
});

test('import view: upload with an Idempotency-Key, 202 → job polling → report with rejected rows, undo', async () => {
  let uploads = 0;
  const deleted = [];
  const client = new FakeClient({
    'GET /api/openapi.json': () => ({ paths: { '/api/imports': { post: { requestBody: { content: { 'multipart/form-data': { schema: { properties: { broker: { enum: ['tastytrade', 'generic'] } } } } } } } } } }),
    'GET /api/imports': () => ({ total: 1, items: [REPORT] }),
    'POST /api/imports': (_q, form, options) => {
      uploads += 1;
      options.onProgress?.({ loaded: 50, total: 100, attempt: 1 });
      assert.equal(form.get('account'), 'main');
      assert.equal(form.get('broker'), null, 'auto-detect sends no broker');
      return { __status: 202, body: { id: 'job1', status: 'queued', progress: { stage: 'queued', rows: 0 }, result: null, error: null } };
    },
    'GET /api/imports/jobs/job1': () => ({ id: 'job1', status: 'done', progress: { stage: 'done', rows: 12 }, result: REPORT, error: null }),
    'DELETE /api/imports/7': () => {
      deleted.push(7);
      return { id: 7, deleted: true, instruments_rematched: 3 };
    },
  });
  globalThis.confirm = () => true;
  const { ctx, root } = context('#import', client);
  ctx.accounts = [{ name: 'main', demo: false }];
  const view = importView.mount(ctx);
  await flush();
  assert.deepEqual(root.querySelectorAll('#import-broker option').map((o) => o.value), ['', 'tastytrade', 'generic']);
  assert.match(root.text, /x\.csv/, 'history listed');
  const input = root.querySelector('#import-file');
  input.files = [new File(['Date,Type,Sub Type,Action,Symbol,Instrument Type\n1,2,3,4,5,6\n'], 'tt.csv', { type: 'text/csv', lastModified: 1 })];
  input.dispatchEvent(new Event('change'));
  await flush();
  assert.match(root.text, /looks like Tastytrade transactions/);
  const form = root.querySelector('form.import-form');
  form.dispatchEvent(new Event('submit', { cancelable: true }));
  await flush();
  assert.equal(uploads, 1);
  const post = client.calls.find((c) => c.method === 'POST');
  assert.match(post.options.idempotencyKey, /^[0-9a-f]{32}$/);
  assert.ok(client.paths().includes('/api/imports/jobs/job1'));
  assert.match(root.text, /Imported 10 execution\(s\), 1 duplicate\(s\) skipped, 1 row\(s\) rejected/);
  const rejected = root.querySelectorAll('section.card').find((s) => s.text.startsWith('Import report')).querySelectorAll('tbody tr').at(-1);
  assert.deepEqual(rejected.querySelectorAll('td').map((td) => td.textContent), ['5', 'Date', 'unparseable date "<nope>"']);
  assert.match(root.text, /dividend 2/);
  // The same file and options again: the same key, so the server replays instead of re-importing.
  form.dispatchEvent(new Event('submit', { cancelable: true }));
  await flush();
  const posts = client.calls.filter((c) => c.method === 'POST');
  assert.equal(posts[1].options.idempotencyKey, posts[0].options.idempotencyKey);
  // Undo from the report.
  root.querySelectorAll('button').find((b) => b.textContent === 'Undo this import').click();
  await flush();
  assert.deepEqual(deleted, [7]);
  assert.match(root.text, /Import #7 undone; 3 instrument\(s\) re-matched/);
  view.refresh();
  await flush();
  view.destroy();
});

test('import view: a 422 shows the server detail and the field', async () => {
  const client = new FakeClient({
    'GET /api/openapi.json': () => { throw new ApiError({ kind: 'network', method: 'GET', url: '/api/openapi.json', requestId: 'r' }); },
    'GET /api/imports': () => ({ total: 0, items: [] }),
    'POST /api/imports': () => { throw problem(422, 'ambiguous file: tastytrade or generic', [{ name: 'broker', in: 'body', reason: 'choose one of tastytrade, generic' }]); },
  });
  const { ctx, root } = context('#import', client);
  importView.mount(ctx);
  await flush();
  assert.equal(root.querySelectorAll('#import-broker option').length, 1 + importView.DEFAULT_PRESETS.length, 'static list when OpenAPI is unreachable');
  assert.match(root.text, /Nothing imported yet/);
  const input = root.querySelector('#import-file');
  input.files = [new File(['a,b\n'], 'x.csv')];
  input.dispatchEvent(new Event('change'));
  await flush();
  root.querySelector('form.import-form').dispatchEvent(new Event('submit', { cancelable: true }));
  await flush();
  assert.match(root.querySelector('.state-error').text, /Import failed: Invalid request\s*ambiguous file: tastytrade or generic\s*broker \(body\): choose one of tastytrade, generic/);
});

test('placeholders for #screener and #ticker/<T>; demo detection; filter summary', () => {
  const { ctx, root } = context('#ticker/nvda', new FakeClient({}));
  mountPlaceholder(ctx);
  assert.match(root.text, /Ticker analysis · NVDA/);
  assert.equal(showsDemo({ account: 'main' }, ACCOUNTS), false);
  assert.equal(showsDemo({ account: 'Demo' }, ACCOUNTS), true);
  assert.equal(showsDemo({}, ACCOUNTS), true);
  assert.equal(describeFilters({ symbol: 'SPY', side: 'long', start: '2026-06-01', basis: 'gross' }, 'UTC'), 'SPY · long · 2026-06-01 → … · gross P&L · days in UTC');
});
