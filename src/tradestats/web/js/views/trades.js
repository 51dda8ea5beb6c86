// @ts-check
/**
 * Trades: the round-trip table with server-side paging, sorting and the shared filters
 * (`/api/trades`), a trade's executions and its editable tags / notes / risk
 * (`/api/trades/{id}`, PATCH), the CSV export of the same selection (`/api/trades.csv`)
 * and the open positions (`/api/positions`). Page, sort and the open trade live in the
 * hash (`#trades?sort=net_pnl&order=asc&offset=50&trade=<id>`).
 */
import { card, el, emptyState, errorState, isAbort, renderInto } from '../ui/dom.js';
import { renderTable } from '../ui/table.js';
import { formatCount, formatDateTime, formatDecimal, formatDuration, formatKey, formatMoney, formatRatio, signClass } from '../format.js';
import { LoadScope, fetchBody, tradeColumns, tradesParams, viewHeader, withParams } from './common.js';

export const SORT_KEYS = ['exit_time', 'entry_time', 'net_pnl', 'holding_seconds', 'symbol', 'quantity'];
export const PAGE_SIZES = [25, 50, 100, 200];
/** Hash keys that choose the page of the list (not which trades are in it). */
export const PAGING_KEYS = ['sort', 'order', 'limit', 'offset'];

/**
 * Paging and sort from the hash query, clamped to what the API accepts.
 * @param {Record<string, string>} query
 * @returns {{sort: string, order: 'asc' | 'desc', limit: number, offset: number}}
 */
export function pagingFromQuery(query) {
  const sort = SORT_KEYS.includes(query.sort) ? query.sort : 'exit_time';
  const order = query.order === 'asc' ? 'asc' : 'desc';
  const limit = PAGE_SIZES.includes(Number(query.limit)) ? Number(query.limit) : 50;
  const offset = Math.max(0, Math.floor(Number(query.offset) || 0));
  return { sort, order, limit, offset: offset - (offset % limit) };
}

/**
 * "51–100 of 408".
 * @param {number} offset
 * @param {number} count   rows on this page
 * @param {number} total
 */
export function pageLabel(offset, count, total) {
  if (total === 0 || count === 0) return `0 of ${formatCount(total)}`;
  return `${formatCount(offset + 1)}–${formatCount(offset + count)} of ${formatCount(total)}`;
}

/**
 * Tags typed as "a, b,  a" → ["a", "b"] (trimmed, de-duplicated, order kept).
 * @param {string} text
 */
export function parseTags(text) {
  /** @type {string[]} */
  const tags = [];
  for (const part of text.split(',')) {
    const tag = part.trim();
    if (tag && !tags.includes(tag)) tags.push(tag);
  }
  return tags;
}

/**
 * The PATCH body for the edit form: risk "" clears it (null).
 * @param {{tags: string, notes: string, risk: string}} form
 * @returns {{tags: string[], notes: string, risk: number | string | null}}
 */
export function patchBody(form) {
  const risk = form.risk.trim();
  return { tags: parseTags(form.tags), notes: form.notes, risk: risk === '' ? null : Number.isFinite(Number(risk)) ? Number(risk) : risk };
}

/**
 * @param {import('./common.js').ViewContext} initial
 * @returns {import('./common.js').ViewInstance & {update: (ctx: import('./common.js').ViewContext) => boolean}}
 */
export function mount(initial) {
  let ctx = initial;
  const listScope = new LoadScope();
  const detailScope = new LoadScope();
  const positionsScope = new LoadScope();
  const listRegion = el('div', { className: 'region' });
  const detailRegion = el('div', { className: 'region detail', attrs: { 'aria-live': 'polite' } });
  const positionsRegion = el('div', { className: 'region' });
  const exportLink = el('a', { className: 'btn', attrs: { download: 'trades.csv' } }, 'Export CSV');

  function render() {
    ctx.root.replaceChildren(viewHeader(ctx, 'Trades', exportLink), detailRegion, card('Round trips', listRegion), card('Open positions', positionsRegion));
  }

  function zone() {
    return ctx.filters.tz || ctx.zone;
  }

  function loadList() {
    const signal = listScope.next();
    const paging = pagingFromQuery(ctx.route.query);
    const params = { ...tradesParams(ctx), ...paging };
    exportLink.href = withParams('/api/trades.csv', { ...tradesParams(ctx), sort: paging.sort, order: paging.order });
    return renderInto(listRegion, async () => {
      const page = await fetchBody(ctx, '/api/trades', params, signal);
      if (page.total === 0) return emptyState('No round trips match these filters.', el('a', { attrs: { href: '#import' } }, 'Import a broker export'));
      if (page.items.length === 0 && paging.offset > 0) {
        // Past the end (trades were deleted, or a stale bookmark): go to the last page.
        ctx.setQuery({ offset: String(Math.max(0, Math.floor((page.total - 1) / paging.limit) * paging.limit)) });
        return emptyState('…');
      }
      const columns = tradeColumns(zone());
      const selected = ctx.route.query.trade;
      const table = renderTable({
        columns,
        rows: page.items,
        label: 'Round trips',
        sort: { key: columns.find((c) => c.sortKey === paging.sort)?.key ?? 'exitTime', order: paging.order },
        onSort: (column) => {
          const key = /** @type {{sortKey?: string}} */ (column).sortKey;
          if (!key) return;
          const order = key === paging.sort ? (paging.order === 'asc' ? 'desc' : 'asc') : column.numeric ? 'desc' : 'asc';
          ctx.setQuery({ sort: key, order, offset: null });
        },
        onRowClick: (trade, tr) => {
          for (const row of Array.from(listRegion.querySelectorAll('tbody tr.selected'))) row.classList.remove('selected');
          tr.classList.add('selected');
          ctx.setQuery({ trade: trade.id });
        },
        rowClass: (trade) => (trade.id === selected ? 'selected' : ''),
      });
      // data-testid / data-offset: stable hooks for the browser tests and bench/frontend.py
      return [el('div', { className: 'table-wrap', dataset: { testid: 'trades-page', offset: String(paging.offset) } }, table), pager(page.total, page.items.length, paging)];
    }, { context: 'Trades', keepContent: true });
  }

  /**
   * @param {number} total
   * @param {number} count
   * @param {{limit: number, offset: number}} paging
   */
  function pager(total, count, paging) {
    const { limit, offset } = paging;
    const sizes = el(
      'select',
      { attrs: { 'aria-label': 'Rows per page' }, on: { change: (e) => ctx.setQuery({ limit: /** @type {HTMLSelectElement} */ (e.target).value, offset: null }) } },
      PAGE_SIZES.map((n) => el('option', { attrs: { value: n, selected: n === limit } }, `${n} / page`)),
    );
    /** @param {string} label @param {number} target @param {boolean} enabled @param {string} testid */
    const button = (label, target, enabled, testid) => el('button', { className: 'btn', attrs: { type: 'button', disabled: !enabled }, dataset: { testid }, on: { click: () => ctx.setQuery({ offset: target ? String(target) : null }) } }, label);
    const last = Math.max(0, Math.floor((total - 1) / limit) * limit);
    return el(
      'div',
      { className: 'pager' },
      button('« First', 0, offset > 0, 'first-page'),
      button('‹ Prev', Math.max(0, offset - limit), offset > 0, 'prev-page'),
      el('span', { className: 'muted' }, pageLabel(offset, count, total)),
      button('Next ›', offset + limit, offset + limit < total, 'next-page'),
      button('Last »', last, offset < last, 'last-page'),
      sizes,
    );
  }

  function loadDetail() {
    const id = ctx.route.query.trade;
    const signal = detailScope.next();
    if (!id) {
      detailRegion.replaceChildren();
      return Promise.resolve();
    }
    return renderInto(detailRegion, async () => renderDetail(await fetchBody(ctx, `/api/trades/${encodeURIComponent(id)}`, {}, signal)), { context: 'Trade' });
  }

  /** @param {any} trade */
  function renderDetail(trade) {
    const close = el('button', { className: 'btn', attrs: { type: 'button', 'aria-label': 'Close trade details' }, on: { click: () => ctx.setQuery({ trade: null }) } }, 'Close');
    const facts = el(
      'dl',
      { className: 'kv kv-wide' },
      [
        ['Account', trade.account],
        ['Instrument', `${trade.symbol} · ${formatKey(trade.assetClass)} · ×${formatDecimal(trade.multiplier)}`],
        ['Side', trade.direction],
        ['Quantity', formatDecimal(trade.quantity)],
        ['Entry → exit', `${formatDecimal(trade.entryPrice)} → ${formatDecimal(trade.exitPrice)}`],
        ['Opened', formatDateTime(trade.entryTime, zone())],
        ['Closed', formatDateTime(trade.exitTime, zone())],
        ['Held', formatDuration(trade.holdingSeconds)],
        ['Gross P&L', formatMoney(trade.grossPnl, { signed: true })],
        ['Fees', formatMoney(trade.fees)],
        ['Net P&L', formatMoney(trade.netPnl, { signed: true })],
        ['R multiple', formatRatio(trade.rMultiple)],
      ].flatMap(([k, v]) => [el('dt', null, k), el('dd', { className: k.includes('P&L') ? signClass(k.startsWith('Net') ? trade.netPnl : trade.grossPnl) : '' }, v)]),
    );
    const executions = renderTable({
      caption: `Executions (${trade.executionList.length})`,
      columns: [
        { key: 'time', label: 'Time', format: (/** @type {any} */ x) => formatDateTime(x.time, zone()) },
        { key: 'side', label: 'Side' },
        { key: 'quantity', label: 'Qty', numeric: true, format: (/** @type {any} */ x) => formatDecimal(x.quantity) },
        { key: 'price', label: 'Price', numeric: true, format: (/** @type {any} */ x) => formatDecimal(x.price) },
        { key: 'fees', label: 'Fees', numeric: true, format: (/** @type {any} */ x) => formatDecimal(x.fees) },
        { key: 'currency', label: 'Ccy' },
        { key: 'broker', label: 'Broker' },
        { key: 'brokerExecutionId', label: 'Execution id' },
        { key: 'orderId', label: 'Order id' },
        { key: 'importId', label: 'Import', format: (/** @type {any} */ x) => (x.importId ? `#${x.importId} row ${x.sourceRow ?? '?'}` : '–') },
      ],
      rows: trade.executionList,
    });
    return card(`Trade ${trade.symbol} ${trade.direction}`, el('div', { className: 'detail-actions' }, close), facts, el('div', { className: 'table-wrap' }, executions), editForm(trade));
  }

  /** @param {any} trade */
  function editForm(trade) {
    const tags = el('input', { attrs: { id: 'edit-tags', type: 'text', value: trade.tags.join(', '), maxlength: 1100, placeholder: 'breakout, A+ setup' } });
    const notes = el('textarea', { attrs: { id: 'edit-notes', rows: 3, maxlength: 5000 } });
    notes.value = trade.notes;
    const risk = el('input', { attrs: { id: 'edit-risk', type: 'number', min: 0, step: 'any', value: trade.risk ?? '', placeholder: 'money at risk' } });
    const status = el('div', { className: 'form-status', attrs: { role: 'status' } });
    const save = el('button', { className: 'btn btn-primary', attrs: { type: 'submit' } }, 'Save');
    const form = el(
      'form',
      { className: 'edit-form', attrs: { novalidate: true } },
      el('label', { attrs: { for: 'edit-tags' } }, 'Tags (comma-separated)'),
      tags,
      el('label', { attrs: { for: 'edit-risk' } }, 'Risk (for R multiples; empty clears)'),
      risk,
      el('label', { attrs: { for: 'edit-notes' } }, 'Notes'),
      notes,
      el('div', { className: 'form-actions' }, save, status),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      save.disabled = true;
      status.replaceChildren('Saving…');
      try {
        const body = patchBody({ tags: tags.value, notes: notes.value, risk: risk.value });
        // Setting the same values twice is harmless, so the key only makes PATCH retryable.
        const response = await ctx.client.patchJson(`/api/trades/${encodeURIComponent(trade.id)}`, body, { idempotencyKey: true });
        detailRegion.replaceChildren(renderDetail(response.body));
        const saved = detailRegion.querySelector('.form-status');
        saved?.replaceChildren('Saved.');
        void loadList();
      } catch (error) {
        if (!isAbort(error)) status.replaceChildren(errorState(error, { context: 'Not saved' }));
      } finally {
        save.disabled = false;
      }
    });
    return el('section', { className: 'edit' }, el('h3', null, 'Journal'), form);
  }

  function loadPositions() {
    const signal = positionsScope.next();
    const account = ctx.filters.account;
    return renderInto(positionsRegion, async () => {
      const { items } = await fetchBody(ctx, '/api/positions', account ? { account } : {}, signal);
      if (items.length === 0) return emptyState('No open positions.');
      return el(
        'div',
        { className: 'table-wrap' },
        renderTable({
          columns: [
            { key: 'account', label: 'Account' },
            { key: 'symbol', label: 'Symbol' },
            { key: 'direction', label: 'Side' },
            { key: 'quantity', label: 'Qty', numeric: true, format: (/** @type {any} */ p) => formatDecimal(p.quantity) },
            { key: 'averagePrice', label: 'Avg price', numeric: true, format: (/** @type {any} */ p) => formatDecimal(p.averagePrice) },
            { key: 'costBasis', label: 'Cost basis', numeric: true, format: (/** @type {any} */ p) => formatMoney(p.costBasis) },
            { key: 'openFees', label: 'Open fees', numeric: true, format: (/** @type {any} */ p) => formatMoney(p.openFees) },
            { key: 'openedAt', label: 'Opened', format: (/** @type {any} */ p) => formatDateTime(p.openedAt, zone()) },
          ],
          rows: items,
          label: 'Open positions',
        }),
      );
    }, { context: 'Open positions', keepContent: true });
  }

  function refresh() {
    void loadList();
    void loadDetail();
    void loadPositions();
  }

  /**
   * The query without some keys, as a comparable string.
   * @param {Record<string, string>} query
   * @param {readonly string[]} ignored
   */
  const queryKey = (query, ignored) => JSON.stringify(Object.entries(query).filter(([k]) => !ignored.includes(k)).sort());

  render();
  refresh();
  return {
    refresh,
    /**
     * Same view, new hash. Filters changed → remount (false). Otherwise only what changed
     * reloads: a new page or sort → just the list, in place (the positions and the
     * header stay; on 1M executions a remount per page cost a positions fetch and a
     * table rebuild); a new open trade → just the detail.
     */
    update(next) {
      const previous = ctx;
      if (queryKey(previous.route.query, [...PAGING_KEYS, 'trade']) !== queryKey(next.route.query, [...PAGING_KEYS, 'trade'])) return false;
      ctx = next;
      if (queryKey(previous.route.query, ['trade']) !== queryKey(next.route.query, ['trade'])) void loadList();
      if ((previous.route.query.trade ?? '') === (next.route.query.trade ?? '')) return true;
      if (!next.route.query.trade) {
        for (const row of Array.from(listRegion.querySelectorAll('tbody tr.selected'))) row.classList.remove('selected');
      }
      void loadDetail().then(() => {
        if (next.route.query.trade) detailRegion.scrollIntoView?.({ block: 'nearest' });
      });
      return true;
    },
    destroy() {
      listScope.destroy();
      detailScope.destroy();
      positionsScope.destroy();
    },
  };
}
