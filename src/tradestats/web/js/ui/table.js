// @ts-check
/**
 * Tables: `sortRows` (pure, stable, missing values last in either direction) and
 * `renderTable`, which builds a `<table>` whose sortable headers are buttons with
 * `aria-sort`. Client-side sorting (Performance) uses `SortableTable`; server-side sorting
 * (Trades) passes `onSort` and re-fetches.
 */
import { el } from './dom.js';

/** @typedef {'asc' | 'desc'} SortOrder */

/**
 * @template T
 * @typedef {object} Column
 * @property {string} key
 * @property {string} label
 * @property {boolean} [numeric]                         right-aligned, sorts as a number
 * @property {boolean} [sortable]                        default true
 * @property {(row: T) => unknown} [value]               sort value (default row[key])
 * @property {(row: T) => string | Node} [format]        cell content (default String(value))
 * @property {(row: T) => string} [cellClass]
 * @property {string} [title]                            header tooltip (units, definition)
 */

/**
 * @template T
 * @param {T} row
 * @param {Column<T>} column
 */
export function cellValue(row, column) {
  return column.value ? column.value(row) : /** @type {Record<string, unknown>} */ (row)[column.key];
}

/** @param {unknown} v */
function missing(v) {
  return v === null || v === undefined || v === '' || (typeof v === 'number' && Number.isNaN(v));
}

/**
 * Compare two sort values: numbers (and numeric strings) numerically, other strings
 * case-insensitively with numeric collation ("W2" < "W10").
 * @param {unknown} a
 * @param {unknown} b
 */
export function compareValues(a, b) {
  const na = typeof a === 'number' ? a : typeof a === 'string' && a.trim() !== '' && Number.isFinite(Number(a)) ? Number(a) : null;
  const nb = typeof b === 'number' ? b : typeof b === 'string' && b.trim() !== '' && Number.isFinite(Number(b)) ? Number(b) : null;
  if (na !== null && nb !== null) return na - nb;
  return String(a).localeCompare(String(b), 'en', { numeric: true, sensitivity: 'base' });
}

/**
 * A sorted copy of `rows` (stable: equal rows keep their order). Missing values (null,
 * undefined, '', NaN) sort last in both directions — a profit factor with no losses is
 * not "the best", it is unknown.
 * @template T
 * @param {readonly T[]} rows
 * @param {Column<T> | ((row: T) => unknown)} by
 * @param {SortOrder} order
 * @returns {T[]}
 */
export function sortRows(rows, by, order) {
  const get = typeof by === 'function' ? by : (/** @type {T} */ row) => cellValue(row, by);
  const sign = order === 'desc' ? -1 : 1;
  return rows
    .map((row, index) => ({ row, index, value: get(row) }))
    .sort((x, y) => {
      const mx = missing(x.value);
      const my = missing(y.value);
      if (mx || my) return mx === my ? x.index - y.index : mx ? 1 : -1;
      return sign * compareValues(x.value, y.value) || x.index - y.index;
    })
    .map((entry) => entry.row);
}

/**
 * The order after clicking a header: same column toggles; a new column starts descending
 * for numbers (biggest first) and ascending for text.
 * @param {{key: string, order: SortOrder} | null} current
 * @param {{key: string, numeric?: boolean}} column
 * @returns {{key: string, order: SortOrder}}
 */
export function nextSort(current, column) {
  if (current && current.key === column.key) return { key: column.key, order: current.order === 'asc' ? 'desc' : 'asc' };
  return { key: column.key, order: column.numeric ? 'desc' : 'asc' };
}

/**
 * @template T
 * @typedef {object} TableOptions
 * @property {Column<T>[]} columns
 * @property {readonly T[]} rows
 * @property {{key: string, order: SortOrder} | null} [sort]
 * @property {(column: Column<T>) => void} [onSort]
 * @property {(row: T, tr: HTMLTableRowElement) => void} [onRowClick]   rows become keyboard-focusable
 * @property {string} [caption]
 * @property {string} [label]     accessible name when there is no caption (aria-label)
 * @property {string} [className]
 * @property {(row: T) => string} [rowClass]
 */

/**
 * @template T
 * @param {TableOptions<T>} options
 * @returns {HTMLTableElement}
 */
export function renderTable(options) {
  const { columns, rows, sort = null, onSort, onRowClick } = options;
  const headRow = el('tr');
  for (const column of columns) {
    const sortable = onSort && column.sortable !== false;
    const active = sort?.key === column.key;
    const th = el('th', {
      className: column.numeric ? 'num' : '',
      attrs: { scope: 'col', 'aria-sort': active ? (sort?.order === 'asc' ? 'ascending' : 'descending') : sortable ? 'none' : null, title: column.title },
    });
    if (sortable) {
      const arrow = active ? (sort?.order === 'asc' ? ' ▲' : ' ▼') : '';
      th.append(el('button', { className: 'sort', attrs: { type: 'button' }, on: { click: () => onSort(column) } }, column.label, el('span', { attrs: { 'aria-hidden': 'true' } }, arrow)));
    } else {
      th.append(column.label);
    }
    headRow.append(th);
  }
  const body = el('tbody');
  for (const row of rows) {
    const tr = el('tr', { className: options.rowClass ? options.rowClass(row) : '' });
    for (const column of columns) {
      const value = cellValue(row, column);
      const content = column.format ? column.format(row) : missing(value) ? '–' : String(value);
      const classes = [column.numeric ? 'num' : '', column.cellClass ? column.cellClass(row) : ''].filter(Boolean).join(' ');
      tr.append(el('td', { className: classes }, content));
    }
    if (onRowClick) {
      tr.tabIndex = 0;
      tr.classList.add('clickable');
      tr.addEventListener('click', () => onRowClick(row, tr));
      tr.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          onRowClick(row, tr);
        }
      });
    }
    body.append(tr);
  }
  const table = el('table', { className: `data ${options.className ?? ''}`.trim(), attrs: { 'aria-label': options.caption ? null : options.label } });
  if (options.caption) table.append(el('caption', null, options.caption));
  table.append(el('thead', null, headRow), body);
  return table;
}

/**
 * A table sorted in the browser; clicking a header re-sorts and re-renders in place.
 * `sort: null` keeps the server's order (e.g. weekdays Mon→Sun) until a header is clicked.
 * @template T
 */
export class SortableTable {
  /**
   * @param {Omit<TableOptions<T>, 'onSort'>} options
   */
  constructor(options) {
    this.options = options;
    this.sort = options.sort ?? null;
    this.element = el('div', { className: 'table-wrap' });
    this.render();
  }

  render() {
    const column = this.sort ? this.options.columns.find((c) => c.key === this.sort?.key) : undefined;
    const rows = column && this.sort ? sortRows(this.options.rows, column, this.sort.order) : this.options.rows;
    this.element.replaceChildren(
      renderTable({
        ...this.options,
        rows,
        sort: this.sort,
        onSort: (col) => {
          this.sort = nextSort(this.sort, col);
          this.render();
          /** @type {HTMLElement | null} */ (this.element.querySelector('th[aria-sort="ascending"] button, th[aria-sort="descending"] button'))?.focus();
        },
      }),
    );
  }
}
