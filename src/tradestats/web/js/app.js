// @ts-check
import { apiClient } from './api/client.js';
import { HealthMonitor } from './api/health.js';
import { ConnectionIndicator, StaleBanner, demoBadge } from './ui/connection.js';

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const monitor = new HealthMonitor({ client: apiClient });
new ConnectionIndicator(byId('connection'), monitor);
const banner = new StaleBanner(byId('banner'));
const details = byId('service-health');
const badges = byId('badges');

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

/** Everything that loads data registers here, so it refetches when the backend is back. */
const views = [loadInfo];
function refreshViews() {
  for (const load of views) void load();
}

monitor.addEventListener('recovered', refreshViews);
monitor.start();
refreshViews();
