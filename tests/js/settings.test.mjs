// The Settings view on the fake DOM (load, save, field errors, defaults, lot method), the
// saved settings reaching the journal requests, the theme choice (pre-paint script and
// toggle) and the chart re-theming.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

import { installDocument, FakeEvent } from './fakedom.mjs';
import { flush } from './fakes.mjs';
import { ApiError } from '../../src/tradestats/web/js/api/errors.js';
import { apiParams, filtersFromQuery, parseHash, usableZone } from '../../src/tradestats/web/js/router.js';
import * as settingsView from '../../src/tradestats/web/js/views/settings.js';
import * as summary from '../../src/tradestats/web/js/views/summary.js';
import { THEME_KEY, ThemeToggle, applyThemeChoice, currentTheme, effectiveTheme, readThemeChoice, saveThemeChoice } from '../../src/tradestats/web/js/ui/theme.js';
import { CHART_THEMES, drawChart, equityFigure, rethemeCharts, themedFigure } from '../../src/tradestats/web/js/ui/plotly.js';
import { renderTable } from '../../src/tradestats/web/js/ui/table.js';

const DEFAULTS = { timezone: null, capital: 10000, thresholds: { min_avg_volume: 1500000, min_iv30_rv30: 1.25, max_slope: -0.00406 } };
const SAVED = {
  timezone: 'America/New_York', capital: 25000, thresholds: { min_avg_volume: 250000, min_iv30_rv30: 1.1, max_slope: -0.001 },
  marketData: 'demo', marketFallback: 'none', defaults: DEFAULTS, updatedAt: '2026-11-26T05:00:00+00:00',
};
const ACCOUNTS = [{ name: 'Demo', baseCurrency: 'USD', lotMethod: 'fifo', demo: true }, { name: 'main & co', baseCurrency: 'USD', lotMethod: 'average', demo: false }];

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
    return { status: 200, body: result, headers: { get: () => null }, requestId: 'r', attempts: 1 };
  }

  getJson(path, options) { return this._answer('GET', path, options); }
  putJson(path, data, options) { return this._answer('PUT', path, options, data); }
  patchJson(path, data, options) { return this._answer('PATCH', path, options, data); }
}

function badRequest(errors) {
  return new ApiError({ kind: 'http', method: 'PUT', url: '/api/settings', requestId: 'req-9', status: 400, body: { title: 'Invalid request', status: 400, detail: `Invalid body parameter(s): ${errors.map((e) => e.name).join(', ')}`, errors } });
}

function context(hash, client, extra = {}) {
  const root = globalThis.document.createElement('main');
  globalThis.document.body.replaceChildren(root);
  const route = parseHash(hash);
  const applied = [];
  const ctx = { root, route, filters: filtersFromQuery(route.query), client, zone: 'UTC', accounts: ACCOUNTS, settings: null, applySettings: (s) => applied.push(s), setQuery: () => {}, navigate: () => {}, ...extra };
  return { ctx, root, applied };
}

const value = (root, id) => root.querySelector(`#${id}`).value;

let plotted;
beforeEach(() => {
  installDocument();
  plotted = [];
  globalThis.Plotly = {
    react: async (el, data, layout) => {
      el.figure = { data, layout };
      el.classList.add('js-plotly-plot');
      plotted.push(el);
    },
    purge: () => {},
  };
});

test('settings: pure helpers build the PUT body and read field errors', () => {
  assert.deepEqual(settingsView.settingsBody({ timezone: ' Europe/Berlin ', capital: '25000', minVolume: '1e6', minRatio: '1.3', maxSlope: '-0.005' }), {
    timezone: 'Europe/Berlin', capital: 25000, thresholds: { min_avg_volume: 1e6, min_iv30_rv30: 1.3, max_slope: -0.005 },
  });
  // Blank zone: the browser's; blank or non-numbers go as typed so the server names them.
  assert.deepEqual(settingsView.settingsBody({ timezone: '  ', capital: '', minVolume: 'lots', minRatio: '1', maxSlope: '0' }), {
    timezone: null, capital: null, thresholds: { min_avg_volume: 'lots', min_iv30_rv30: 1, max_slope: 0 },
  });
  assert.deepEqual(settingsView.formValues(SAVED), { timezone: 'America/New_York', capital: '25000', minVolume: '250000', minRatio: '1.1', maxSlope: '-0.001' });
  assert.deepEqual(settingsView.formValues(DEFAULTS).timezone, '');
  assert.deepEqual(settingsView.invalidFields(badRequest([{ name: 'capital', in: 'body', reason: 'x' }, { name: 'thresholds.max_slope', in: 'body', reason: 'y' }, { name: 'Content-Type', in: 'header' }])), ['capital', 'thresholds.max_slope']);
  assert.deepEqual(settingsView.invalidFields(new Error('boom')), []);
  for (const name of ['timezone', 'capital', 'thresholds.min_avg_volume', 'thresholds.min_iv30_rv30', 'thresholds.max_slope']) assert.ok(settingsView.FIELD_IDS[name], name);
  assert.ok(settingsView.zoneSuggestions().includes('UTC'));
  assert.match(settingsView.providerLabel('demo'), /Demo/);
  assert.match(settingsView.providerLabel('yahoo'), /Yahoo/);
});

test('settings view: loads into labelled fields, saves through the client, hands the result to the app', async () => {
  let stored = SAVED;
  const client = new FakeClient({
    'GET /api/settings': () => stored,
    'GET /api/accounts': () => ({ items: ACCOUNTS }),
    'PUT /api/settings': (_q, body) => {
      stored = { ...SAVED, ...body, updatedAt: '2026-11-26T06:00:00+00:00' };
      return stored;
    },
  });
  const { ctx, root, applied } = context('#settings', client);
  const view = settingsView.mount(ctx);
  await flush();
  assert.equal(value(root, 'set-timezone'), 'America/New_York');
  assert.equal(value(root, 'set-capital'), '25000');
  assert.equal(value(root, 'set-min-volume'), '250000');
  assert.equal(value(root, 'set-min-ratio'), '1.1');
  assert.equal(value(root, 'set-max-slope'), '-0.001');
  // Every input has a label and help text.
  for (const input of root.querySelectorAll('form input')) {
    const id = input.getAttribute('id');
    assert.ok(root.querySelector(`label[for="${id}"]`), `label for ${id}`);
    assert.ok(root.querySelector(`#${input.getAttribute('aria-describedby')}`), `help for ${id}`);
  }
  assert.match(root.querySelector('[data-field="marketData"]').text, /Demo \(synthetic/);
  assert.match(root.text, /read-only/);
  assert.match(root.text, /Last saved 2026-11-26 05:00:00 UTC/);

  root.querySelector('#set-capital').value = '50000';
  root.querySelector('#set-timezone').value = '';
  root.querySelector('form').dispatchEvent(new FakeEvent('submit'));
  await flush();
  const put = client.calls.find((c) => c.method === 'PUT');
  assert.equal(put.path, '/api/settings');
  assert.deepEqual(put.body, { timezone: null, capital: 50000, thresholds: SAVED.thresholds });
  assert.equal(applied.length, 1);
  assert.equal(applied[0].capital, 50000);
  assert.equal(applied[0].timezone, null);
  assert.match(root.querySelector('.settings-actions [role="status"]').text, /^Saved\.$/);

  // "Restore defaults" fills the form, saving is still explicit.
  root.querySelectorAll('.settings-actions button')[1].click();
  assert.equal(value(root, 'set-capital'), '10000');
  assert.equal(value(root, 'set-min-volume'), '1500000');
  assert.equal(client.calls.filter((c) => c.method === 'PUT').length, 1);
  assert.match(root.text, /save to keep them/);

  // A refetch after reconnecting does not overwrite unsaved edits.
  root.querySelector('form').dispatchEvent(new FakeEvent('input'));
  view.refresh();
  await flush();
  assert.equal(value(root, 'set-capital'), '10000');
  view.destroy();
});

test('settings view: a refused value is marked invalid, focused and explained; nothing is applied', async () => {
  const client = new FakeClient({
    'GET /api/settings': () => SAVED,
    'GET /api/accounts': () => ({ items: [] }),
    'PUT /api/settings': () => { throw badRequest([{ name: 'thresholds.max_slope', in: 'body', reason: 'Input should be less than or equal to 0.1' }]); },
  });
  const { ctx, root, applied } = context('#settings', client);
  settingsView.mount(ctx);
  await flush();
  root.querySelector('#set-max-slope').value = '5';
  root.querySelector('form').dispatchEvent(new FakeEvent('submit'));
  await flush();
  const slope = root.querySelector('#set-max-slope');
  assert.equal(slope.getAttribute('aria-invalid'), 'true');
  assert.equal(slope.focused, true);
  assert.equal(root.querySelector('#set-capital').getAttribute('aria-invalid'), null);
  const alert = root.querySelector('.settings-actions .state-error');
  assert.match(alert.text, /Not saved: Invalid request/);
  assert.match(alert.text, /thresholds\.max_slope \(body\): Input should be less than or equal to 0\.1/);
  assert.equal(applied.length, 0);
  assert.equal(root.querySelector('.settings-actions button[type="submit"]').disabled, false);
  assert.match(root.text, /No accounts yet/);
});

test('settings view: the lot method is applied per account with an explicit button', async () => {
  const client = new FakeClient({
    'GET /api/settings': () => SAVED,
    'GET /api/accounts': () => ({ items: ACCOUNTS }),
    'PATCH /api/accounts/main%20%26%20co': (_q, body) => ({ name: 'main & co', lotMethod: body.lot_method }),
  });
  const { ctx, root } = context('#settings', client);
  settingsView.mount(ctx);
  await flush();
  const table = root.querySelector('table.lot-table');
  assert.equal(table.querySelector('caption').text, 'Matching method per account');
  const rows = table.querySelectorAll('tbody tr');
  assert.deepEqual(rows.map((r) => r.querySelector('label').text), ['Demo (demo)', 'main & co']);
  const select = rows[1].querySelector('select');
  assert.equal(select.value, 'average');
  assert.ok(rows[1].querySelector(`label[for="${select.getAttribute('id')}"]`));
  const apply = rows[1].querySelector('button');
  assert.equal(apply.disabled, true, 'nothing to apply yet');
  select.value = 'lifo';
  select.dispatchEvent(new FakeEvent('change'));
  assert.equal(apply.disabled, false);
  assert.match(rows[1].text, /Not applied yet/);
  assert.equal(client.calls.filter((c) => c.method === 'PATCH').length, 0, 'changing the select alone writes nothing');
  apply.click();
  await flush();
  const patch = client.calls.find((c) => c.method === 'PATCH');
  assert.deepEqual(patch.body, { lot_method: 'lifo' });
  assert.equal(patch.options.idempotencyKey, true);
  assert.match(rows[1].text, /Applied: LIFO/);
  assert.equal(apply.disabled, true);
});

test('journal requests carry the saved zone and capital unless the URL names them', async () => {
  assert.deepEqual(apiParams({}, 'stats', 'Asia/Tokyo', 25000), { tz: 'Asia/Tokyo', basis: 'net', capital: '25000' });
  assert.deepEqual(apiParams({ capital: '5000', tz: 'UTC' }, 'stats', 'Asia/Tokyo', 25000), { tz: 'UTC', basis: 'net', capital: '5000' });
  assert.deepEqual(apiParams({ capital: '5000' }, 'trades', 'Asia/Tokyo', 25000), { tz: 'Asia/Tokyo' }, '/api/trades refuses capital');
  assert.deepEqual(apiParams({}, 'stats', 'UTC'), { tz: 'UTC', basis: 'net' }, 'nothing saved: the server default');
  assert.equal(usableZone('Asia/Tokyo', 'UTC'), 'Asia/Tokyo');
  assert.equal(usableZone(null, 'Europe/Berlin'), 'Europe/Berlin', 'no saved zone: the browser\'s');
  assert.equal(usableZone('Not/AZone', 'Europe/Berlin'), 'Europe/Berlin', 'a zone this browser cannot format');
  assert.equal(filtersFromQuery({ capital: '2500.50' }).capital, '2500.50');
  for (const bad of ['0', '-5', '1e9', 'abc', '12345678901234']) assert.equal(filtersFromQuery({ capital: bad }).capital, undefined, bad);

  const seen = [];
  const client = new FakeClient({
    'GET /api/stats': (q) => { seen.push(q); return { basis: 'net', kpis: { count: 0 }, daily: {}, breakdowns: { month: [] } }; },
    'GET /api/stats/equity': (q) => { seen.push(q); return { basis: 'net', points: [] }; },
    'GET /api/stats/calendar': (q) => { seen.push(q); return { days: [] }; },
  });
  const saved = { ...SAVED, capital: 25000 };
  const first = context('#summary', client, { zone: 'America/New_York', settings: saved });
  summary.mount(first.ctx);
  await flush();
  assert.equal(seen.length, 3);
  assert.ok(seen.every((q) => q.capital === '25000' && q.tz === 'America/New_York'), JSON.stringify(seen));
  assert.match(first.root.text, /days in America\/New_York/);
  seen.length = 0;
  const second = context('#summary?capital=5000&tz=Europe/Berlin', client, { zone: 'America/New_York', settings: saved });
  summary.mount(second.ctx);
  await flush();
  assert.ok(seen.every((q) => q.capital === '5000' && q.tz === 'Europe/Berlin'), JSON.stringify(seen));
});

class MemoryStorage {
  constructor(entries = {}) { this.map = new Map(Object.entries(entries)); }
  getItem(k) { return this.map.has(k) ? this.map.get(k) : null; }
  setItem(k, v) { this.map.set(k, String(v)); }
  removeItem(k) { this.map.delete(k); }
}

test('theme: stored choice, effective theme, data attribute', () => {
  assert.equal(readThemeChoice(new MemoryStorage({ [THEME_KEY]: 'dark' })), 'dark');
  assert.equal(readThemeChoice(new MemoryStorage({ [THEME_KEY]: 'purple' })), 'system');
  assert.equal(readThemeChoice(null), 'system');
  assert.equal(readThemeChoice({ getItem() { throw new Error('denied'); } }), 'system');
  const storage = new MemoryStorage();
  saveThemeChoice(storage, 'light');
  assert.equal(storage.getItem(THEME_KEY), 'light');
  saveThemeChoice(storage, 'system');
  assert.equal(storage.getItem(THEME_KEY), null);
  saveThemeChoice({ setItem() { throw new Error('quota'); }, removeItem() {} }, 'dark'); // does not throw
  assert.deepEqual([effectiveTheme('system', true), effectiveTheme('system', false), effectiveTheme('light', true), effectiveTheme('dark', false)], ['dark', 'light', 'light', 'dark']);
  const root = globalThis.document.documentElement;
  applyThemeChoice(root, 'dark');
  assert.equal(root.getAttribute('data-theme'), 'dark');
  assert.equal(currentTheme(globalThis.document), 'dark');
  applyThemeChoice(root, 'system');
  assert.equal(root.getAttribute('data-theme'), null);
});

test('theme-init.js (the pre-paint script) applies only an explicit stored choice', () => {
  const code = readFileSync(new URL('../../src/tradestats/web/js/theme-init.js', import.meta.url), 'utf8');
  const run = (storage) => {
    const attrs = {};
    vm.runInNewContext(code, { window: { localStorage: storage }, document: { documentElement: { setAttribute: (k, v) => { attrs[k] = v; } } } });
    return attrs;
  };
  assert.deepEqual(run(new MemoryStorage({ [THEME_KEY]: 'light' })), { 'data-theme': 'light' });
  assert.deepEqual(run(new MemoryStorage({ [THEME_KEY]: 'dark' })), { 'data-theme': 'dark' });
  assert.deepEqual(run(new MemoryStorage({ [THEME_KEY]: '"><x' })), {});
  assert.deepEqual(run(new MemoryStorage()), {});
  assert.deepEqual(run({ getItem() { throw new Error('SecurityError'); } }), {}, 'storage blocked: no exception');
});

class FakeMedia extends EventTarget {
  constructor(matches) { super(); this.matches = matches; }
  flip(matches) { this.matches = matches; this.dispatchEvent(new Event('change')); }
}

function themeSelect() {
  const doc = globalThis.document;
  const select = doc.createElement('select');
  for (const v of ['system', 'light', 'dark']) {
    const o = doc.createElement('option');
    o.setAttribute('value', v);
    select.append(o);
  }
  return select;
}

test('ThemeToggle: shows the stored choice, stores a new one, reports effective changes (system too)', () => {
  const storage = new MemoryStorage({ [THEME_KEY]: 'dark' });
  const media = new FakeMedia(false);
  const root = globalThis.document.documentElement;
  const select = themeSelect();
  const seen = [];
  const toggle = new ThemeToggle(select, { storage, root, media, onChange: (t) => seen.push(t) });
  assert.equal(select.value, 'dark');
  assert.equal(root.getAttribute('data-theme'), 'dark');
  media.flip(true);
  media.flip(false);
  assert.deepEqual(seen, [], 'an explicit choice ignores the system');

  select.value = 'system';
  select.dispatchEvent(new FakeEvent('change'));
  assert.equal(storage.getItem(THEME_KEY), null);
  assert.equal(root.getAttribute('data-theme'), null);
  assert.deepEqual(seen, ['light'], 'system is light here');
  media.flip(true);
  assert.deepEqual(seen, ['light', 'dark'], 'following the system');

  select.value = 'light';
  select.dispatchEvent(new FakeEvent('change'));
  assert.equal(storage.getItem(THEME_KEY), 'light');
  assert.deepEqual(seen, ['light', 'dark', 'light']);
  toggle.destroy();
  media.flip(false);
  assert.equal(seen.length, 3);
});

test('charts: drawn in the theme shown, redrawn when it changes; the figure itself is not changed', async () => {
  const figure = equityFigure([{ date: '2026-06-05', pnl: 1, equity: 10001, drawdown: 0 }], 'net');
  const light = themedFigure(figure, 'light');
  assert.equal(light.layout.font.color, CHART_THEMES.light.fg);
  assert.equal(light.layout.yaxis2.gridcolor, CHART_THEMES.light.grid);
  assert.equal(light.data[0].line.color, CHART_THEMES.light.line);
  assert.equal(light.data[1].fillcolor, CHART_THEMES.light.ddFill);
  assert.equal(figure.data[0].line.color, CHART_THEMES.dark.line, 'input untouched');
  const bars = themedFigure({ data: [{ type: 'bar', marker: { color: ['#2ecc71', '#e74c3c', 'teal'] } }], layout: {} }, 'light');
  assert.deepEqual(bars.data[0].marker.color, [CHART_THEMES.light.pos, CHART_THEMES.light.neg, 'teal']);
  assert.deepEqual(themedFigure(figure, 'dark').data, figure.data);

  const doc = globalThis.document;
  const chart = doc.createElement('div');
  doc.body.append(chart);
  doc.documentElement.setAttribute('data-theme', 'dark');
  await drawChart(chart, figure);
  assert.equal(chart.figure.layout.font.color, CHART_THEMES.dark.fg);
  doc.documentElement.setAttribute('data-theme', 'light');
  await rethemeCharts(doc);
  assert.equal(chart.figure.layout.font.color, CHART_THEMES.light.fg);
  assert.equal(chart.figure.data[0].line.color, CHART_THEMES.light.line);
  assert.equal(plotted.length, 2);
});

test('tables without a caption get an accessible name', () => {
  const columns = [{ key: 'a', label: 'A' }];
  assert.equal(renderTable({ columns, rows: [{ a: 1 }], label: 'Round trips' }).getAttribute('aria-label'), 'Round trips');
  const captioned = renderTable({ columns, rows: [], caption: 'Executions (0)', label: 'ignored' });
  assert.equal(captioned.getAttribute('aria-label'), null);
  assert.equal(captioned.querySelector('caption').text, 'Executions (0)');
});
