// @ts-check
/**
 * The shared journal filter bar (account, symbol, side, asset class, tag, date range,
 * net/gross). It owns no state: it shows the filters parsed from the hash and reports
 * changes, which the app writes back into the hash; every journal view reads them from
 * there.
 */
import { el } from './dom.js';
import { ASSET_CLASSES } from '../router.js';
import { ASSET_CLASS_LABELS } from '../format.js';

/** @typedef {import('../router.js').Filters} Filters */
/** @typedef {import('../views/common.js').AccountInfo} AccountInfo */

export class FilterBar {
  /**
   * @param {HTMLFormElement} form   the `#filters` element
   * @param {(changes: Record<string, string | null>) => void} onChange
   */
  constructor(form, onChange) {
    this.form = form;
    this.onChange = onChange;
    /** @param {string} id @param {string} label @param {HTMLElement} control */
    const field = (id, label, control) => {
      control.id = id;
      return el('div', { className: 'filter' }, el('label', { attrs: { for: id } }, label), control);
    };
    this.account = el('select', { attrs: { name: 'account' } });
    this.symbol = el('input', { attrs: { name: 'symbol', type: 'search', size: 8, maxlength: 100, placeholder: 'any', autocomplete: 'off', spellcheck: 'false' } });
    this.side = el('select', { attrs: { name: 'side' } }, option('', 'Both'), option('long', 'Long'), option('short', 'Short'));
    this.assetClass = el('select', { attrs: { name: 'asset_class' } }, option('', 'All'), ASSET_CLASSES.map((c) => option(c, ASSET_CLASS_LABELS[c] ?? c)));
    this.tag = el('input', { attrs: { name: 'tag', type: 'search', size: 8, maxlength: 50, placeholder: 'any', autocomplete: 'off' } });
    this.start = el('input', { attrs: { name: 'start', type: 'date' } });
    this.end = el('input', { attrs: { name: 'end', type: 'date' } });
    this.basis = el('select', { attrs: { name: 'basis', title: 'Statistics on net (after fees) or gross P&L' } }, option('', 'Net'), option('gross', 'Gross'));
    const clear = el('button', { className: 'btn btn-small', attrs: { type: 'button' }, on: { click: () => this.clear() } }, 'Clear');
    form.replaceChildren(
      field('f-account', 'Account', this.account),
      field('f-symbol', 'Symbol', this.symbol),
      field('f-side', 'Side', this.side),
      field('f-asset', 'Asset class', this.assetClass),
      field('f-tag', 'Tag', this.tag),
      field('f-start', 'From', this.start),
      field('f-end', 'To', this.end),
      field('f-basis', 'P&L', this.basis),
      el('div', { className: 'filter filter-actions' }, clear),
    );
    this.setAccounts([]);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.emit();
    });
    // Selects and dates apply at once; text applies on Enter or when the field is left.
    form.addEventListener('change', () => this.emit());
  }

  /** @returns {Record<string, string | null>} */
  values() {
    return {
      account: this.account.value || null,
      symbol: this.symbol.value.trim().toUpperCase() || null,
      side: this.side.value || null,
      asset_class: this.assetClass.value || null,
      tag: this.tag.value.trim() || null,
      start: this.start.value || null,
      end: this.end.value || null,
      basis: this.basis.value || null,
    };
  }

  emit() {
    this.onChange(this.values());
  }

  clear() {
    this.onChange({ account: null, symbol: null, side: null, asset_class: null, tag: null, start: null, end: null, basis: null });
  }

  /**
   * @param {readonly AccountInfo[]} accounts
   */
  setAccounts(accounts) {
    const current = this.account.value;
    this.account.replaceChildren(option('', 'All accounts'), ...accounts.map((a) => option(a.name, a.demo ? `${a.name} (demo)` : a.name)));
    this.accounts = accounts;
    this.account.value = current;
  }

  /**
   * Show `filters` (from the hash); `visible` false hides the bar (views it does not apply to).
   * @param {Filters} filters
   * @param {boolean} visible
   */
  show(filters, visible) {
    this.form.hidden = !visible;
    if (filters.account && !Array.from(this.account.options).some((o) => o.value === filters.account)) {
      // An account not (yet) in the list, e.g. from a bookmark while offline: still show it.
      this.account.append(option(filters.account, filters.account));
    }
    this.account.value = filters.account ?? '';
    this.symbol.value = filters.symbol ?? '';
    this.side.value = filters.side ?? '';
    this.assetClass.value = filters.asset_class ?? '';
    this.tag.value = filters.tag ?? '';
    this.start.value = filters.start ?? '';
    this.end.value = filters.end ?? '';
    this.basis.value = filters.basis === 'gross' ? 'gross' : '';
  }
}

/** @param {string} value @param {string} label */
function option(value, label) {
  return el('option', { attrs: { value } }, label);
}
