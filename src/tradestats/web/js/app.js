// @ts-check
/**
 * The page's entry point: connection indicator, stale banner, the hash router, the shared
 * filter bar and the views. Everything that loads data refetches when the HealthMonitor
 * reports `recovered`.
 */
import { apiClient } from './api/client.js';
import { HealthMonitor } from './api/health.js';
import { ConnectionIndicator, StaleBanner, demoBadge } from './ui/connection.js';
import { FilterBar } from './ui/filters.js';
import { PanelRecovery } from './ui/recovery.js';
import { rethemeCharts } from './ui/plotly.js';
import { ThemeToggle } from './ui/theme.js';
import { HashRouter, browserZone, buildHash, filtersFromQuery, usableZone, withQuery } from './router.js';
import * as summaryView from './views/summary.js';
import * as performanceView from './views/performance.js';
import * as tradesView from './views/trades.js';
import * as importView from './views/import.js';
import * as screenerView from './views/screener.js';
import * as tickerView from './views/ticker.js';
import * as settingsView from './views/settings.js';
import { mountNotFound } from './views/placeholder.js';

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const monitor = new HealthMonitor({ client: apiClient });
new ConnectionIndicator(byId('connection'), monitor);
const banner = new StaleBanner(byId('banner'));
const details = byId('service-health');
const badges = byId('badges');
const root = byId('view');
// Panels whose load failed for a transient reason reload themselves (ui/recovery.js).
const recovery = new PanelRecovery({ root });
recovery.observe();
const browser = browserZone();
/** The default zone of the journal views: the saved setting, else the browser's. */
let zone = browser;
/** @type {import('./views/common.js').UserSettings | null} */
let userSettings = null;

// The theme was applied before the first paint (theme-init.js); this binds the switch and
// redraws the charts when the theme changes.
new ThemeToggle(/** @type {HTMLSelectElement} */ (byId('theme')), { onChange: () => void rethemeCharts() });

// "Skip to content" moves focus to the view without changing the route (the hash is the route).
byId('skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  root.focus();
});
// The view links act like tabs: Space follows a focused link too, as Enter does.
document.querySelector('.topbar nav')?.addEventListener('keydown', (event) => {
  const e = /** @type {KeyboardEvent} */ (event);
  const link = /** @type {Element | null} */ (e.target);
  if (e.key === ' ' && link instanceof HTMLAnchorElement) {
    e.preventDefault();
    link.click();
  }
});

/** @typedef {import('./views/common.js').ViewContext} ViewContext */
/** @typedef {import('./views/common.js').ViewInstance & {update?: (ctx: ViewContext) => boolean}} MountedView */

/** @type {Record<string, (ctx: ViewContext) => MountedView>} */
const VIEWS = {
  summary: summaryView.mount,
  performance: performanceView.mount,
  trades: tradesView.mount,
  import: importView.mount,
  screener: screenerView.mount,
  ticker: tickerView.mount,
  settings: settingsView.mount,
  'not-found': mountNotFound,
};
const JOURNAL_VIEWS = new Set(['summary', 'performance', 'trades']);
const TITLES = /** @type {Record<string, string>} */ ({ summary: 'Summary', performance: 'Performance', trades: 'Trades', import: 'Import', screener: 'Screener', ticker: 'Ticker', settings: 'Settings' });

/** @type {import('./views/common.js').AccountInfo[]} */
let accounts = [];
/** @type {{view: string, instance: MountedView} | null} */
let current = null;

const router = new HashRouter(show);
const filterBar = new FilterBar(/** @type {HTMLFormElement} */ (byId('filters')), setQuery);

/** @param {Record<string, string | null>} changes */
function setQuery(changes) {
  const route = router.current();
  const view = route.view === 'not-found' ? 'summary' : route.view;
  const hash = buildHash(view, route.param, withQuery(route.query, changes));
  // Enter and then leaving a text filter both report the same values: navigate once.
  if (hash !== buildHash(view, route.param, route.query)) router.navigate(hash);
}

/**
 * @param {import('./router.js').Route} route
 * @param {boolean} [force]   remount the view even if it could update in place (settings changed)
 */
function show(route, force = false) {
  const filters = filtersFromQuery(route.query);
  filterBar.show(filters, JOURNAL_VIEWS.has(route.view));
  for (const link of Array.from(document.querySelectorAll('.topbar nav a'))) {
    const target = /** @type {HTMLAnchorElement} */ (link).hash.slice(1);
    if (target === route.view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  // Keep the filters when moving between journal views.
  for (const link of Array.from(document.querySelectorAll('.topbar nav a[data-journal]'))) {
    const a = /** @type {HTMLAnchorElement} */ (link);
    const keep = Object.fromEntries(Object.entries(route.query).filter(([k]) => ['account', 'symbol', 'side', 'asset_class', 'tag', 'start', 'end', 'tz', 'basis', 'capital'].includes(k)));
    a.href = buildHash(a.dataset.journal ?? 'summary', null, keep);
  }
  document.title = `${TITLES[route.view] ?? 'Not found'}${route.param ? ` · ${route.param}` : ''} · tradestats`;
  /** @type {ViewContext} */
  const ctx = { root, route, filters, client: apiClient, zone, accounts, settings: userSettings, applySettings, setQuery, navigate: (hash) => router.navigate(hash) };
  if (!force && current && current.view === route.view && current.instance.update?.(ctx)) return;
  const firstView = current === null;
  const changedView = current?.view !== route.view;
  current?.instance.destroy();
  root.replaceChildren();
  current = { view: route.view, instance: (VIEWS[route.view] ?? mountNotFound)(ctx) };
  recovery.attach(() => current?.instance.refresh());
  if (changedView) {
    root.focus({ preventScroll: true });
    // An import or undo can add or remove accounts; re-read them when the view changes.
    if (!firstView) void loadAccounts();
  }
}

/** @param {Record<string, string>} rows */
function renderDetails(rows) {
  details.replaceChildren();
  for (const [key, value] of Object.entries(rows)) {
    const dt = document.createElement('dt');
    dt.textContent = key;
    const dd = document.createElement('dd');
    dd.textContent = value;
    details.append(dt, dd);
  }
}

/** The service panel shows the last /api/ready document (kept while the server is down). */
/** @param {import('./api/health.js').ConnectionSnapshot} snapshot */
function renderService(snapshot) {
  const ready = snapshot.ready;
  if (!ready) return;
  /** @type {Record<string, string>} */
  const rows = { version: ready.releaseId ?? '?', status: ready.status };
  for (const [key, entries] of Object.entries(ready.checks ?? {})) {
    const entry = entries[0];
    if (!entry) continue;
    const observed = entry.observedValue !== undefined && entry.observedValue !== null ? ` (${entry.observedValue} ${entry.observedUnit ?? ''})`.replace(' )', ')') : '';
    rows[key] = `${entry.status}${observed}${entry.output ? ` — ${entry.output}` : ''}`;
  }
  renderDetails(rows);
}

monitor.addEventListener('update', (event) => {
  const snapshot = /** @type {CustomEvent<import('./api/health.js').ConnectionSnapshot>} */ (event).detail;
  renderService(snapshot);
  const down = snapshot.state === 'reconnecting' || snapshot.state === 'offline';
  if (down && snapshot.readyAt !== null) {
    banner.show(snapshot.readyAt, snapshot.networkOffline ? 'This device is offline.' : 'The server is unreachable; reconnecting…');
  } else {
    banner.hide();
  }
});

/** Service facts: label the page as demo when it serves the synthetic market. */
async function loadInfo() {
  try {
    const { body } = await apiClient.getJson('/api/info');
    badges.replaceChildren(...(body?.demo ? [demoBadge()] : []));
  } catch {
    // The connection indicator already says why; the next `recovered` refetches.
  }
}

/** Accounts for the filter bar and the demo-account badge. */
async function loadAccounts() {
  try {
    const { body } = await apiClient.getJson('/api/accounts');
    const next = /** @type {import('./views/common.js').AccountInfo[]} */ (body?.items ?? []);
    const changed = JSON.stringify(next) !== JSON.stringify(accounts);
    accounts = next;
    filterBar.setAccounts(accounts);
    filterBar.show(filtersFromQuery(router.current().query), JOURNAL_VIEWS.has(router.current().view));
    return changed;
  } catch {
    return false;
  }
}

/**
 * Use new user settings (loaded, or saved by the Settings view): the default zone and
 * capital of the journal views. Returns whether anything the journal views use changed.
 * @param {import('./views/common.js').UserSettings} next
 */
function applySettings(next) {
  const before = `${zone}|${userSettings?.capital ?? ''}`;
  userSettings = next;
  zone = usableZone(next.timezone, browser);
  return before !== `${zone}|${next.capital}`;
}

/** The saved settings; a journal view already showing is redrawn when they differ. */
async function loadSettings() {
  try {
    const { body } = await apiClient.getJson('/api/settings');
    if (applySettings(body) && started && JOURNAL_VIEWS.has(router.current().view)) show(router.current(), true);
  } catch {
    // Offline: the browser's zone and the server's default capital until `recovered`.
  }
}

let started = false;

monitor.addEventListener('recovered', () => {
  void loadInfo();
  void loadAccounts();
  void loadSettings();
  current?.instance.refresh();
});

monitor.start();
void loadInfo();
// Views need the accounts (demo badge) and the saved settings (zone, capital); wait
// briefly for them, never for long.
void Promise.race([Promise.all([loadAccounts(), loadSettings()]), new Promise((resolve) => setTimeout(resolve, 1500))]).then(() => {
  started = true;
  router.start();
});
