// @ts-check
/**
 * Settings (`#settings`): the user settings the server keeps (`GET`/`PUT /api/settings`):
 * the time zone calendar days of the statistics are counted in, the starting capital of
 * the drawdown percentages and the screener verdict's thresholds; the market-data
 * provider, read-only (server configuration); and each account's lot-matching method
 * (`PATCH /api/accounts/{name}`, which re-matches that account's trades).
 *
 * Saving hands the new settings to the app (`ctx.applySettings`), so the journal views
 * use them at once; the server applies the thresholds to analyses and scans.
 */
import { ApiError } from '../api/errors.js';
import { browserZone } from '../router.js';
import { card, el, emptyState, errorState, isAbort, renderInto } from '../ui/dom.js';
import { LoadScope, fetchBody } from './common.js';

/** @typedef {import('./common.js').UserSettings} UserSettings */
/** @typedef {import('./common.js').AccountInfo} AccountInfo */

export const LOT_METHODS = /** @type {const} */ ([
  ['fifo', 'FIFO (first in, first out)'],
  ['lifo', 'LIFO (last in, first out)'],
  ['average', 'Average cost'],
]);

/** The form control of each field the API names in its errors. */
export const FIELD_IDS = /** @type {Record<string, string>} */ ({
  timezone: 'set-timezone',
  capital: 'set-capital',
  'thresholds.min_avg_volume': 'set-min-volume',
  'thresholds.min_iv30_rv30': 'set-min-ratio',
  'thresholds.max_slope': 'set-max-slope',
});

/**
 * @typedef {object} SettingsForm   the form's text values
 * @property {string} timezone
 * @property {string} capital
 * @property {string} minVolume
 * @property {string} minRatio
 * @property {string} maxSlope
 */

/**
 * The PUT body from the form (pure). A blank zone means "the browser's zone" (null).
 * Numbers go as numbers; anything else as typed (blank as null), so the server's 400
 * names the field it refuses rather than the page guessing.
 * @param {SettingsForm} form
 */
export function settingsBody(form) {
  /** @param {string} text */
  const number = (text) => {
    const t = text.trim();
    if (t === '') return null;
    const n = Number(t);
    return Number.isFinite(n) ? n : t;
  };
  return {
    timezone: form.timezone.trim() || null,
    capital: number(form.capital),
    thresholds: { min_avg_volume: number(form.minVolume), min_iv30_rv30: number(form.minRatio), max_slope: number(form.maxSlope) },
  };
}

/**
 * The form's text values for saved settings (pure).
 * @param {UserSettings} s
 * @returns {SettingsForm}
 */
export function formValues(s) {
  return {
    timezone: s.timezone ?? '',
    capital: String(s.capital),
    minVolume: String(s.thresholds.min_avg_volume),
    minRatio: String(s.thresholds.min_iv30_rv30),
    maxSlope: String(s.thresholds.max_slope),
  };
}

/**
 * The body fields a 400 problem names (e.g. `thresholds.max_slope`).
 * @param {unknown} error
 * @returns {string[]}
 */
export function invalidFields(error) {
  if (!(error instanceof ApiError) || error.status !== 400) return [];
  return error.errors.filter((e) => (e.in ?? 'body') === 'body' && typeof e.name === 'string').map((e) => /** @type {string} */ (e.name));
}

/**
 * IANA zones the browser knows, for the zone field's suggestions (the server decides what
 * is valid).
 * @returns {string[]}
 */
export function zoneSuggestions() {
  try {
    const intl = /** @type {{supportedValuesOf?: (key: string) => string[]}} */ (/** @type {unknown} */ (Intl));
    const zones = intl.supportedValuesOf?.('timeZone') ?? [];
    return zones.includes('UTC') ? zones : ['UTC', ...zones];
  } catch {
    return ['UTC'];
  }
}

/** Words for the read-only market-data provider. @param {string | undefined} source */
export function providerLabel(source) {
  if (source === 'demo') return 'Demo (synthetic, offline market data)';
  if (source === 'yahoo') return 'Yahoo Finance (quotes, bars, option chains) and Nasdaq (earnings calendar)';
  return source ?? '–';
}

/**
 * @param {import('./common.js').ViewContext} ctx
 * @returns {import('./common.js').ViewInstance}
 */
export function mount(ctx) {
  const scope = new LoadScope();
  const accountsScope = new LoadScope();
  const browser = browserZone();
  /** @type {UserSettings | null} */
  let loaded = null;
  let dirty = false;

  /**
   * A labelled input with its help text (`aria-describedby`).
   * @param {string} id @param {string} label @param {string} help
   * @param {Record<string, string | number | boolean>} attrs
   */
  function field(id, label, help, attrs) {
    const input = el('input', { attrs: { id, name: id.replace(/^set-/, ''), 'aria-describedby': `${id}-help`, ...attrs } });
    const row = el('div', { className: 'setting' }, el('label', { attrs: { for: id } }, label), input, el('p', { className: 'muted small setting-help', attrs: { id: `${id}-help` } }, help));
    return { input, row };
  }

  const tz = field('set-timezone', 'Time zone', `Calendar days of the statistics (daily P&L, calendar, drawdown dates) are counted in this zone. Empty: this browser's zone (${browser}).`, {
    type: 'text', list: 'set-timezones', autocomplete: 'off', spellcheck: 'false', maxlength: 64, placeholder: `Browser default (${browser})`,
  });
  const zones = el('datalist', { attrs: { id: 'set-timezones' } }, zoneSuggestions().map((z) => el('option', { attrs: { value: z } })));
  const capital = field('set-capital', 'Starting capital', 'Equity, drawdown % and return ratios are taken over this amount. A journal link can still override it with ?capital=.', {
    type: 'number', min: 0.01, step: 'any', inputmode: 'decimal', required: true,
  });
  const minVolume = field('set-min-volume', 'Minimum average volume', 'Mean share volume of the last 30 sessions a ticker needs (scans also pre-filter on it). Reference: 1,500,000.', {
    type: 'number', min: 0, step: 'any', inputmode: 'numeric', required: true,
  });
  const minRatio = field('set-min-ratio', 'Minimum IV30 / RV30', '30-day implied over 30-day realized volatility a ticker needs. Reference: 1.25.', {
    type: 'number', min: 0, max: 10, step: 'any', inputmode: 'decimal', required: true,
  });
  const maxSlope = field('set-max-slope', 'Maximum term-structure slope', 'Highest slope of implied volatility per day of expiry (0 to 45 days) that passes; negative means the front month is bid up. Reference: −0.00406.', {
    type: 'number', min: -0.1, max: 0.1, step: 'any', inputmode: 'decimal', required: true,
  });
  const inputs = { timezone: tz.input, capital: capital.input, minVolume: minVolume.input, minRatio: minRatio.input, maxSlope: maxSlope.input };

  const status = el('div', { className: 'form-status', attrs: { role: 'status', 'aria-live': 'polite' } });
  const save = el('button', { className: 'btn btn-primary', attrs: { type: 'submit', disabled: true } }, 'Save settings');
  const restore = el('button', { className: 'btn', attrs: { type: 'button', disabled: true }, on: { click: () => restoreDefaults() } }, 'Restore defaults');
  const form = el(
    'form',
    { className: 'settings-form', attrs: { novalidate: true, 'aria-label': 'Settings' }, on: { submit: (e) => { e.preventDefault(); void submit(); }, input: () => { dirty = true; } } },
    el('fieldset', null, el('legend', null, 'Journal statistics'), tz.row, zones, capital.row),
    el('fieldset', null, el('legend', null, 'Screener verdict'), el('p', { className: 'muted small' }, 'Recommended: all three pass. Consider: the slope and exactly one other pass. Avoid: otherwise.'), minVolume.row, minRatio.row, maxSlope.row),
    el('div', { className: 'settings-actions' }, save, restore, status),
  );
  const market = el('dl', { className: 'kv' });
  const accountsRegion = el('div', { className: 'region' });

  ctx.root.replaceChildren(
    el('div', { className: 'view-header' }, el('h2', { attrs: { id: 'settings-title' } }, 'Settings')),
    card('Saved on the server', form),
    card('Market data', market, el('p', { className: 'muted small' }, 'Set by the server configuration (TRADESTATS_MARKET_DATA, TRADESTATS_MARKET_FALLBACK); read-only here.')),
    card('Lot matching per account', el('p', { className: 'muted small' }, 'Decides when partial exits realize P&L (daily P&L, equity curve) and the cost basis of open positions; a round trip’s total does not depend on it. Applying re-matches that account’s trades.'), accountsRegion),
  );

  /** @param {UserSettings} s */
  function fill(s) {
    const values = formValues(s);
    for (const [key, input] of Object.entries(inputs)) {
      input.value = values[/** @type {keyof SettingsForm} */ (key)];
      input.removeAttribute('aria-invalid');
    }
    market.replaceChildren(
      el('dt', null, 'Provider'), el('dd', { attrs: { 'data-field': 'marketData' } }, providerLabel(s.marketData)),
      el('dt', null, 'Fallback'), el('dd', null, s.marketFallback === 'demo' ? 'Demo market while the upstream is unavailable (labelled)' : 'None'),
    );
    dirty = false;
  }

  async function load() {
    const signal = scope.next();
    save.disabled = true;
    try {
      const body = /** @type {UserSettings} */ (await fetchBody(ctx, '/api/settings', {}, signal));
      loaded = body;
      if (!dirty) fill(body);
      save.disabled = false;
      restore.disabled = false;
      status.replaceChildren(body.updatedAt ? `Last saved ${body.updatedAt.replace('T', ' ').replace(/\+00:00$/, ' UTC')}.` : 'Showing the defaults: nothing saved yet.');
    } catch (error) {
      if (isAbort(error)) return;
      status.replaceChildren(errorState(error, { context: 'Loading the settings', retry: () => void load() }));
    }
  }

  function restoreDefaults() {
    const defaults = loaded?.defaults;
    if (!defaults) return;
    fill({ ...defaults, marketData: loaded?.marketData, marketFallback: loaded?.marketFallback });
    dirty = true;
    status.replaceChildren('Defaults restored in the form; save to keep them.');
  }

  async function submit() {
    const body = settingsBody({ timezone: inputs.timezone.value, capital: inputs.capital.value, minVolume: inputs.minVolume.value, minRatio: inputs.minRatio.value, maxSlope: inputs.maxSlope.value });
    for (const input of Object.values(inputs)) input.removeAttribute('aria-invalid');
    save.disabled = true;
    status.replaceChildren('Saving…');
    try {
      const { body: saved } = await ctx.client.putJson('/api/settings', body);
      loaded = saved;
      fill(saved);
      ctx.applySettings?.(saved);
      status.replaceChildren('Saved.');
    } catch (error) {
      const names = invalidFields(error);
      /** @type {HTMLElement | null} */
      let first = null;
      for (const name of names) {
        const id = FIELD_IDS[name];
        const input = id ? /** @type {HTMLElement | null} */ (form.querySelector(`#${id}`)) : null;
        if (!input) continue;
        input.setAttribute('aria-invalid', 'true');
        first ??= input;
      }
      status.replaceChildren(errorState(error, { context: 'Not saved' }));
      first?.focus();
    } finally {
      save.disabled = false;
    }
  }

  function loadAccounts() {
    const signal = accountsScope.next();
    return renderInto(accountsRegion, async () => {
      const { items } = await fetchBody(ctx, '/api/accounts', {}, signal);
      /** @type {AccountInfo[]} */
      const accounts = items ?? [];
      if (accounts.length === 0) return emptyState('No accounts yet: import a broker export first.', el('a', { attrs: { href: '#import' } }, 'Import'));
      return el(
        'table',
        { className: 'data lot-table' },
        el('caption', null, 'Matching method per account'),
        el('thead', null, el('tr', null, el('th', { attrs: { scope: 'col' } }, 'Account'), el('th', { attrs: { scope: 'col' } }, 'Method'), el('th', { attrs: { scope: 'col' } }, el('span', { className: 'visually-hidden' }, 'Action')))),
        el('tbody', null, accounts.map((a, i) => accountRow(a, i))),
      );
    }, { context: 'Accounts', keepContent: true });
  }

  /** @param {AccountInfo} account @param {number} index */
  function accountRow(account, index) {
    const id = `lot-method-${index}`;
    let current = account.lotMethod;
    const select = el('select', { attrs: { id, name: 'lot_method' } }, LOT_METHODS.map(([value, label]) => el('option', { attrs: { value, selected: value === current } }, label)));
    const note = el('span', { className: 'muted small', attrs: { role: 'status' } });
    // An explicit button: re-matching is a heavy write, and arrow keys on a focused
    // select change its value without the user meaning to apply anything.
    const apply = el('button', { className: 'btn btn-small', attrs: { type: 'button', disabled: true, 'aria-describedby': `${id}-note` } }, 'Apply');
    note.id = `${id}-note`;
    select.addEventListener('change', () => {
      apply.disabled = select.value === current;
      note.textContent = select.value === current ? '' : 'Not applied yet.';
    });
    apply.addEventListener('click', async () => {
      const method = select.value;
      apply.disabled = true;
      select.disabled = true;
      note.textContent = 'Re-matching trades…';
      try {
        // Setting the same method twice is harmless: the key only makes the PATCH retryable.
        await ctx.client.patchJson(`/api/accounts/${encodeURIComponent(account.name)}`, { lot_method: method }, { idempotencyKey: true, timeoutMs: 120000 });
        current = method;
        note.textContent = `Applied: ${LOT_METHODS.find(([v]) => v === method)?.[1] ?? method}.`;
      } catch (error) {
        note.replaceChildren(errorState(error, { context: 'Not applied' }));
        apply.disabled = false;
      } finally {
        select.disabled = false;
      }
    });
    return el(
      'tr',
      null,
      el('th', { attrs: { scope: 'row' } }, el('label', { attrs: { for: id } }, account.demo ? `${account.name} (demo)` : account.name)),
      el('td', null, select),
      el('td', null, apply, ' ', note),
    );
  }

  function refresh() {
    void load();
    void loadAccounts();
  }

  refresh();
  return {
    refresh,
    destroy() {
      scope.destroy();
      accountsScope.destroy();
    },
  };
}
