// @ts-check
/**
 * Import: pick or drop a broker export, choose the preset (the server detects it; the
 * page shows its own guess and lets you override), upload with progress, then the import
 * report with every rejected row (row, column, reason). Large files answer 202 and are
 * polled at `/api/imports/jobs/{id}`. The history lists past imports with Undo (DELETE).
 *
 * Every upload carries an `Idempotency-Key`, fixed for one file + options, so a retried
 * or re-clicked upload is answered with the first result instead of importing twice.
 */
import { newRequestId } from '../api/retry.js';
import { ApiError } from '../api/errors.js';
import { card, el, emptyState, errorState, isAbort, renderInto } from '../ui/dom.js';
import { renderTable } from '../ui/table.js';
import { formatBytes, formatCount, formatDateTime, formatPercent } from '../format.js';
import { LoadScope, fetchBody, viewHeader } from './common.js';
import { sleep, systemClock } from '../api/clock.js';

/** Fallback when the OpenAPI document cannot be read (same order as the server's). */
export const DEFAULT_PRESETS = [
  'ibkr_flex_xml', 'ibkr_flex_csv', 'ibkr_activity', 'ibkr_transactions', 'tastytrade', 'hyperliquid',
  'schwab', 'fidelity', 'webull', 'robinhood', 'binance_futures', 'bybit', 'tradovate', 'thinkorswim',
  'tradezero', 'metatrader5', 'generic',
];

/** @type {Record<string, string>} (tests/api/test_static_vendor.py checks it covers every server preset) */
export const PRESET_LABELS = {
  ibkr_flex_xml: 'IBKR Flex Query (XML)',
  ibkr_flex_csv: 'IBKR Flex Query (CSV)',
  ibkr_activity: 'IBKR Activity Statement (CSV)',
  ibkr_transactions: 'IBKR Transaction History (CSV)',
  tastytrade: 'Tastytrade transactions (CSV)',
  hyperliquid: 'Hyperliquid trade history (CSV)',
  schwab: 'Charles Schwab transactions (CSV)',
  fidelity: 'Fidelity account history (CSV)',
  webull: 'Webull orders records (CSV)',
  robinhood: 'Robinhood account activity (CSV)',
  binance_futures: 'Binance USDⓈ-M futures trade history',
  bybit: 'Bybit derivatives trade history (CSV)',
  tradovate: 'Tradovate position history / orders / fills (CSV)',
  thinkorswim: 'thinkorswim statement / TD Ameritrade transactions (CSV)',
  tradezero: 'TradeZero trades (CSV)',
  metatrader5: 'MetaTrader 5 trade history report (XLSX)',
  generic: 'Generic CSV / XLSX (one fill per row)',
};

export const POLL_INTERVAL_MS = 1000;

/**
 * The broker presets the server accepts, from its OpenAPI document.
 * @param {any} spec
 * @returns {string[] | null}
 */
export function presetsFromOpenApi(spec) {
  const schema = spec?.paths?.['/api/imports']?.post?.requestBody?.content?.['multipart/form-data']?.schema;
  const values = schema?.properties?.broker?.enum;
  return Array.isArray(values) && values.every((v) => typeof v === 'string') && values.length > 0 ? values : null;
}

/**
 * The page's guess at a file's preset from its name and first bytes — a hint shown next
 * to "Auto-detect"; the server's detection decides (and refuses ambiguous files).
 * @param {string} name
 * @param {string} head   the first few KB as text
 * @returns {string | null}
 */
export function guessPreset(name, head) {
  const lower = name.toLowerCase();
  if (lower.endsWith('.xlsx') || lower.endsWith('.xls')) return null;
  const text = head.replace(/^\uFEFF/, '');
  if (/^\s*</.test(text) && /<FlexQueryResponse|<FlexStatement/i.test(text)) return 'ibkr_flex_xml';
  const lines = text.split(/\r?\n/, 50);
  if (lines.some((l) => /^"?(Trades|Statement)"?,"?Header"?,/.test(l))) return 'ibkr_activity';
  const header = (lines[0] ?? '').split(',').map((h) => h.trim().replace(/^"|"$/g, '').toLowerCase());
  const has = (/** @type {string[]} */ ...names) => names.every((n) => header.includes(n.toLowerCase()));
  if (has('time', 'coin', 'dir', 'px', 'sz')) return 'hyperliquid';
  if (has('date', 'type', 'sub type', 'action', 'instrument type') || has('date/time', 'transaction code', 'account reference')) return 'tastytrade';
  if (has('buy/sell', 'tradeprice') || has('buy/sell', 'tradedate', 'quantity')) return 'ibkr_flex_csv';
  return null;
}

/**
 * Upload progress in words: "Uploading 1.2 MB of 6.0 MB (20 %)", with the attempt when
 * retrying.
 * @param {{loaded: number, total: number | null, attempt: number}} p
 */
export function uploadProgressText(p) {
  const retry = p.attempt > 1 ? ` — attempt ${p.attempt}` : '';
  if (p.total) return `Uploading ${formatBytes(p.loaded)} of ${formatBytes(p.total)} (${formatPercent(p.loaded / p.total, 0)})${retry}`;
  return `Uploading ${formatBytes(p.loaded)}${retry}`;
}

/**
 * A background job's progress in words.
 * @param {{status: string, progress?: {stage?: string, rows?: number}}} job
 */
export function jobProgressText(job) {
  const stage = job.progress?.stage ?? job.status;
  const rows = job.progress?.rows ?? 0;
  if (job.status === 'queued') return 'Queued for import…';
  if (job.status === 'running') return `Importing in the background: ${stage}${rows ? `, ${formatCount(rows)} rows` : ''}…`;
  if (job.status === 'done') return 'Import finished.';
  return `Import ${job.status}.`;
}

/**
 * Same file and options → same key (a retry or second click replays the first import);
 * anything changed → a new key.
 */
export class IdempotencyKeys {
  /** @param {() => string} [generate] */
  constructor(generate = newRequestId) {
    this.generate = generate;
    /** @type {string | null} */
    this.signature = null;
    /** @type {string} */
    this.key = '';
  }

  /** @param {string} signature  identifies the file selection and options */
  keyFor(signature) {
    if (signature !== this.signature) {
      this.signature = signature;
      this.key = this.generate();
    }
    return this.key;
  }
}

/**
 * @param {import('./common.js').ViewContext} ctx
 * @returns {import('./common.js').ViewInstance}
 */
export function mount(ctx) {
  const historyScope = new LoadScope();
  const jobScope = new LoadScope();
  const keys = new IdempotencyKeys();
  /** @type {File | null} */
  let file = null;
  let selection = 0; // bumps per chosen file: the same bytes picked again are a new import attempt
  /** @type {string | null} */
  let activeJob = null;
  let uploading = false;

  const fileInput = el('input', { attrs: { id: 'import-file', type: 'file', accept: '.csv,.txt,.xml,.xlsx' } });
  fileInput.className = 'visually-hidden';
  const fileLabel = el('span', { className: 'drop-file muted' }, 'No file chosen');
  const drop = el(
    'label',
    { className: 'dropzone', attrs: { for: 'import-file' } },
    el('strong', null, 'Drop a broker export here'),
    el('span', { className: 'muted' }, ' or click to choose a file (CSV, XLSX, IBKR Flex XML)'),
    fileLabel,
  );
  const broker = el('select', { attrs: { id: 'import-broker' } }, el('option', { attrs: { value: '' } }, 'Auto-detect'));
  const hint = el('span', { className: 'muted small', attrs: { 'aria-live': 'polite' } });
  const account = el('input', { attrs: { id: 'import-account', type: 'text', maxlength: 100, list: 'import-accounts', value: ctx.filters.account ?? (ctx.accounts.find((a) => !a.demo)?.name ?? 'default'), required: true } });
  const accountList = el('datalist', { attrs: { id: 'import-accounts' } }, ctx.accounts.map((a) => el('option', { attrs: { value: a.name } })));
  const timezone = el('input', { attrs: { id: 'import-tz', type: 'text', maxlength: 64, placeholder: 'preset default, e.g. America/New_York' } });
  const strict = el('input', { attrs: { id: 'import-strict', type: 'checkbox' } });
  const submit = el('button', { className: 'btn btn-primary', attrs: { type: 'submit', disabled: true } }, 'Import');
  const progress = el('progress', { attrs: { max: 1, value: 0, hidden: true } });
  const progressText = el('span', { className: 'muted', attrs: { role: 'status' } });
  const reportRegion = el('div', { className: 'region', attrs: { 'aria-live': 'polite' } });
  const historyRegion = el('div', { className: 'region' });

  const form = el(
    'form',
    { className: 'import-form', attrs: { novalidate: true } },
    fileInput,
    drop,
    el(
      'div',
      { className: 'form-grid' },
      el('label', { attrs: { for: 'import-broker' } }, 'Broker preset'),
      el('div', null, broker, ' ', hint),
      el('label', { attrs: { for: 'import-account' } }, 'Account'),
      el('div', null, account, accountList),
      el('label', { attrs: { for: 'import-tz' } }, 'Time zone of naive timestamps'),
      timezone,
      el('label', { attrs: { for: 'import-strict' } }, 'Strict'),
      el('div', null, strict, el('span', { className: 'muted small' }, ' store nothing if any row is rejected')),
    ),
    el('div', { className: 'form-actions' }, submit, progress, progressText),
  );

  ctx.root.replaceChildren(viewHeader(ctx, 'Import'), card('Upload a broker export', form), reportRegion, card('Import history', historyRegion));

  /** @param {File | null} chosen */
  async function choose(chosen) {
    file = chosen;
    selection += 1;
    submit.disabled = !file || uploading;
    fileLabel.textContent = file ? `${file.name} · ${formatBytes(file.size)}` : 'No file chosen';
    hint.textContent = '';
    if (!file) return;
    try {
      const head = await file.slice(0, 8192).text();
      const guess = guessPreset(file.name, head);
      hint.textContent = guess ? `looks like ${PRESET_LABELS[guess] ?? guess}` : '';
    } catch {
      // Unreadable here; the server will say why.
    }
  }

  fileInput.addEventListener('change', () => void choose(fileInput.files?.[0] ?? null));
  for (const type of ['dragenter', 'dragover']) {
    drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add('dragging');
    });
  }
  for (const type of ['dragleave', 'drop']) drop.addEventListener(type, () => drop.classList.remove('dragging'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    const dropped = /** @type {DragEvent} */ (event).dataTransfer?.files?.[0];
    if (dropped) void choose(dropped);
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (file && !uploading) void startUpload(file);
  });

  /** @param {File} chosen */
  async function startUpload(chosen) {
    uploading = true;
    submit.disabled = true;
    const data = new FormData();
    data.append('file', chosen, chosen.name);
    if (broker.value) data.append('broker', broker.value);
    data.append('account', account.value.trim() || 'default');
    if (strict.checked) data.append('strict', 'true');
    if (timezone.value.trim()) data.append('timezone', timezone.value.trim());
    const key = keys.keyFor(JSON.stringify([selection, chosen.name, chosen.size, chosen.lastModified, broker.value, account.value.trim(), strict.checked, timezone.value.trim()]));
    progress.hidden = false;
    progress.value = 0;
    progressText.textContent = 'Uploading…';
    reportRegion.replaceChildren();
    try {
      const response = await ctx.client.upload('/api/imports', data, {
        idempotencyKey: key,
        onProgress: (p) => {
          if (p.total) progress.value = p.loaded / p.total;
          else progress.removeAttribute('value');
          progressText.textContent = uploadProgressText({ ...p, attempt: p.attempt });
        },
      });
      progress.value = 1;
      if (response.status === 202) {
        activeJob = response.body.id;
        progressText.textContent = jobProgressText(response.body);
        await pollJob();
      } else {
        progress.hidden = true;
        progressText.textContent = response.status === 200 ? 'Already imported with this upload; showing its report.' : '';
        showReport(response.body);
        void loadHistory();
      }
    } catch (error) {
      progress.hidden = true;
      progressText.textContent = '';
      if (!isAbort(error)) reportRegion.replaceChildren(errorState(error, { context: 'Import failed' }));
    } finally {
      uploading = false;
      submit.disabled = !file;
    }
  }

  /** Poll the background job until it finishes; resumes after reconnecting. */
  async function pollJob() {
    const jobId = activeJob;
    if (!jobId) return;
    const signal = jobScope.next();
    progress.hidden = false;
    progress.removeAttribute('value'); // indeterminate: the server reports rows, not a total
    try {
      for (;;) {
        const job = await fetchBody(ctx, `/api/imports/jobs/${encodeURIComponent(jobId)}`, {}, signal);
        progressText.textContent = jobProgressText(job);
        if (job.status === 'done') {
          activeJob = null;
          progress.hidden = true;
          showReport(job.result);
          void loadHistory();
          return;
        }
        if (job.status === 'failed') {
          activeJob = null;
          progress.hidden = true;
          reportRegion.replaceChildren(errorState(new Error(job.error || 'the background import failed'), { context: 'Import failed' }));
          return;
        }
        await sleep(POLL_INTERVAL_MS, systemClock, signal);
      }
    } catch (error) {
      if (isAbort(error)) return;
      // Keep activeJob: the job keeps running server-side; `refresh` resumes polling.
      progressText.textContent = 'Lost contact while importing in the background; will check again when the server is back.';
      if (!(error instanceof ApiError && (error.isNetwork || error.isCircuitOpen || error.isOffline || error.isTimeout))) {
        activeJob = null;
        reportRegion.replaceChildren(errorState(error, { context: 'Import status' }));
      }
    }
  }

  /** @param {any} report */
  function showReport(report) {
    reportRegion.replaceChildren(renderReport(report, { onUndo: undo }));
  }

  /** @param {any} item */
  async function undo(item) {
    const ok = globalThis.confirm?.(`Undo import #${item.id} (${item.file_name})? Its ${item.imported} executions are removed and the trades they touched re-matched.`) ?? true;
    if (!ok) return;
    try {
      const { body } = await ctx.client.del(`/api/imports/${encodeURIComponent(item.id)}`);
      reportRegion.replaceChildren(el('div', { className: 'state state-ok', attrs: { role: 'status' } }, `Import #${body.id} undone; ${formatCount(body.instruments_rematched)} instrument(s) re-matched.`));
    } catch (error) {
      // 404: already undone (e.g. the first attempt succeeded but its answer was lost).
      if (error instanceof ApiError && error.status === 404) reportRegion.replaceChildren(emptyState(`Import #${item.id} no longer exists (already undone).`));
      else reportRegion.replaceChildren(errorState(error, { context: `Undo #${item.id}` }));
    }
    void loadHistory();
  }

  function loadHistory() {
    const signal = historyScope.next();
    return renderInto(historyRegion, async () => {
      const { items, total } = await fetchBody(ctx, '/api/imports', { limit: 100 }, signal);
      if (items.length === 0) return emptyState('Nothing imported yet.');
      const table = renderTable({
        columns: [
          { key: 'id', label: '#', numeric: true },
          { key: 'created_at', label: 'When', format: (/** @type {any} */ r) => formatDateTime(r.created_at, ctx.filters.tz || ctx.zone) },
          { key: 'file_name', label: 'File' },
          { key: 'broker', label: 'Preset', format: (/** @type {any} */ r) => PRESET_LABELS[r.broker] ?? r.broker },
          { key: 'account', label: 'Account' },
          { key: 'rows_read', label: 'Rows', numeric: true, format: (/** @type {any} */ r) => formatCount(r.rows_read) },
          { key: 'imported', label: 'Imported', numeric: true, format: (/** @type {any} */ r) => formatCount(r.imported) },
          { key: 'duplicates', label: 'Duplicates', numeric: true, format: (/** @type {any} */ r) => formatCount(r.duplicates) },
          { key: 'rejected', label: 'Rejected', numeric: true, format: (/** @type {any} */ r) => formatCount(r.rejected), cellClass: (/** @type {any} */ r) => (r.rejected ? 'neg' : '') },
          { key: 'status', label: 'Status' },
          {
            key: 'actions',
            label: '',
            sortable: false,
            format: (/** @type {any} */ r) =>
              el(
                'span',
                { className: 'row-actions' },
                el('button', { className: 'btn btn-small', attrs: { type: 'button' }, on: { click: () => showReport(r) } }, 'Report'),
                r.status === 'imported' ? el('button', { className: 'btn btn-small btn-danger', attrs: { type: 'button' }, on: { click: () => void undo(r) } }, 'Undo') : null,
              ),
          },
        ],
        rows: items,
        label: 'Import history',
      });
      const more = total > items.length ? el('p', { className: 'muted small' }, `Showing the latest ${items.length} of ${formatCount(total)}.`) : null;
      return [el('div', { className: 'table-wrap' }, table), more].filter((n) => n !== null);
    }, { context: 'Import history', keepContent: true });
  }

  async function loadPresets() {
    let presets = DEFAULT_PRESETS;
    try {
      const { body } = await ctx.client.getJson('/api/openapi.json', { retry: { retries: 1 } });
      presets = presetsFromOpenApi(body) ?? DEFAULT_PRESETS;
    } catch {
      // The static list is the server's list at the time of writing.
    }
    const chosen = broker.value;
    broker.replaceChildren(el('option', { attrs: { value: '' } }, 'Auto-detect'), ...presets.map((p) => el('option', { attrs: { value: p } }, PRESET_LABELS[p] ?? p)));
    broker.value = presets.includes(chosen) ? chosen : '';
  }

  function refresh() {
    void loadHistory();
    if (activeJob) void pollJob();
  }

  void loadPresets();
  refresh();
  return {
    refresh,
    destroy() {
      historyScope.destroy();
      jobScope.destroy();
    },
  };
}

/**
 * The import report: counts, skipped non-trade rows by kind and the rejected rows.
 * @param {any} report
 * @param {{onUndo?: (report: any) => void}} [options]
 */
export function renderReport(report, options = {}) {
  const strictRejected = report.status === 'rejected';
  const headline = strictRejected
    ? `Nothing stored: ${formatCount(report.rejected)} row(s) rejected in strict mode.`
    : `Imported ${formatCount(report.imported)} execution(s)${report.duplicates ? `, ${formatCount(report.duplicates)} duplicate(s) skipped` : ''}${report.rejected ? `, ${formatCount(report.rejected)} row(s) rejected` : ''}.`;
  const facts = el(
    'dl',
    { className: 'kv kv-wide' },
    [
      ['Import', report.id ? `#${report.id}` : '–'],
      ['File', report.file_name],
      ['Preset', PRESET_LABELS[report.broker] ?? report.broker],
      ['Account', report.account],
      ['Rows read', formatCount(report.rows_read)],
      ['Imported', formatCount(report.imported)],
      ['Duplicates', formatCount(report.duplicates)],
      ['Rejected', formatCount(report.rejected)],
      ['Strict', report.strict ? 'yes' : 'no'],
    ].flatMap(([k, v]) => [el('dt', null, k), el('dd', null, v)]),
  );
  const skipped = Object.entries(report.skipped ?? {});
  /** @type {(Node | null)[]} */
  const parts = [
    el('p', { className: strictRejected || report.rejected ? 'warn' : 'ok' }, headline),
    report.replayed ? el('p', { className: 'muted' }, 'This is the report of the earlier upload with the same Idempotency-Key; nothing was imported again.') : null,
    facts,
    skipped.length ? el('p', { className: 'muted' }, `Non-trade rows counted apart: ${skipped.map(([kind, n]) => `${kind} ${formatCount(n)}`).join(', ')}.`) : null,
  ];
  const rejections = report.rejections ?? [];
  if (rejections.length) {
    parts.push(
      el('h3', null, `Rejected rows (${formatCount(report.rejected)})`),
      el(
        'div',
        { className: 'table-wrap table-scroll' },
        renderTable({
          columns: [
            { key: 'row', label: 'Row', numeric: true },
            { key: 'column', label: 'Column', format: (/** @type {any} */ r) => r.column ?? '–' },
            { key: 'reason', label: 'Reason' },
          ],
          rows: rejections,
          label: 'Rejected rows',
        }),
      ),
      rejections.length < report.rejected ? el('p', { className: 'muted small' }, `First ${formatCount(rejections.length)} shown.`) : null,
    );
  }
  if (options.onUndo && report.id && report.status === 'imported') {
    const onUndo = options.onUndo;
    parts.push(el('button', { className: 'btn btn-danger', attrs: { type: 'button' }, on: { click: () => onUndo(report) } }, 'Undo this import'));
  }
  return card('Import report', parts);
}
