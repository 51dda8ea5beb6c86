// @ts-check
import { getJson } from './api/client.js';

const indicator = /** @type {HTMLElement} */ (document.getElementById('connection'));
const details = /** @type {HTMLElement} */ (document.getElementById('service-health'));

/** @param {string} state @param {string} label */
function setConnection(state, label) {
  indicator.dataset.state = state;
  indicator.textContent = label;
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

async function poll() {
  try {
    const { body } = await getJson('/api/ready', { timeoutMs: 5000 });
    const label = body.status === 'pass' ? 'Connected' : body.status === 'warn' ? 'Degraded' : 'Backend not ready';
    setConnection(body.status === 'pass' ? 'connected' : body.status === 'warn' ? 'degraded' : 'offline', label);
    /** @type {Record<string, string>} */
    const rows = { version: body.releaseId, status: body.status };
    for (const [key, entries] of Object.entries(body.checks ?? {})) {
      const entry = entries[0];
      rows[key] = `${entry.status}${entry.observedValue !== undefined ? ` (${entry.observedValue} ${entry.observedUnit ?? ''})` : ''}`;
    }
    renderDetails(rows);
  } catch (err) {
    setConnection('offline', 'Offline');
  }
}

poll();
setInterval(poll, 15000);
