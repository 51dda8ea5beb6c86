// @ts-check
/**
 * The colour theme: System / Light / Dark, chosen in the header, kept in localStorage and
 * applied as `<html data-theme="light|dark">` (no attribute: follow the system's
 * `prefers-color-scheme`). `/static/js/theme-init.js` applies the stored choice before the
 * first paint; this module owns the toggle afterwards and tells the charts to re-theme.
 *
 * The choice logic is pure (unit-tested); `ThemeToggle` is the thin DOM part.
 */

/** The localStorage key (theme-init.js reads the same one). */
export const THEME_KEY = 'tradestats.theme';
export const THEME_CHOICES = /** @type {const} */ (['system', 'light', 'dark']);
/** @typedef {typeof THEME_CHOICES[number]} ThemeChoice */
/** @typedef {'light' | 'dark'} Theme */

export const DARK_QUERY = '(prefers-color-scheme: dark)';

/**
 * @typedef {object} ThemeStorage
 * @property {(key: string) => string | null} getItem
 * @property {(key: string, value: string) => void} setItem
 * @property {(key: string) => void} removeItem
 */

/**
 * The stored choice; anything unknown (or unreadable storage) is "system".
 * @param {ThemeStorage | null | undefined} storage
 * @returns {ThemeChoice}
 */
export function readThemeChoice(storage) {
  try {
    const value = storage?.getItem(THEME_KEY);
    return value === 'light' || value === 'dark' ? value : 'system';
  } catch {
    return 'system';
  }
}

/**
 * Store a choice ("system" removes the key). Storage errors are ignored: the choice then
 * lasts for this page only.
 * @param {ThemeStorage | null | undefined} storage
 * @param {ThemeChoice} choice
 */
export function saveThemeChoice(storage, choice) {
  try {
    if (choice === 'system') storage?.removeItem(THEME_KEY);
    else storage?.setItem(THEME_KEY, choice);
  } catch {
    // private mode / quota: keep going
  }
}

/**
 * The theme shown for a choice.
 * @param {ThemeChoice} choice
 * @param {boolean} systemPrefersDark
 * @returns {Theme}
 */
export function effectiveTheme(choice, systemPrefersDark) {
  if (choice === 'light' || choice === 'dark') return choice;
  return systemPrefersDark ? 'dark' : 'light';
}

/**
 * Set or clear the data attribute on the root element.
 * @param {HTMLElement} root   document.documentElement
 * @param {ThemeChoice} choice
 */
export function applyThemeChoice(root, choice) {
  if (choice === 'system') root.removeAttribute('data-theme');
  else root.setAttribute('data-theme', choice);
}

/**
 * @param {{matchMedia?: (query: string) => {matches: boolean}}} [win]
 */
function systemPrefersDark(win = globalThis) {
  try {
    return Boolean(win.matchMedia?.(DARK_QUERY).matches);
  } catch {
    return false;
  }
}

/**
 * The theme the page shows now (from the root's attribute, else the system's preference).
 * @param {Document} [doc]
 * @returns {Theme}
 */
export function currentTheme(doc = globalThis.document) {
  const value = doc?.documentElement?.getAttribute('data-theme');
  if (value === 'light' || value === 'dark') return value;
  return systemPrefersDark() ? 'dark' : 'light';
}

/**
 * Binds the header's `<select id="theme">`: shows the stored choice, applies and stores a
 * new one, and reports the effective theme whenever it changes (the user's choice, or the
 * system's preference while the choice is "system").
 */
export class ThemeToggle {
  /**
   * @param {HTMLSelectElement} select
   * @param {{storage?: ThemeStorage | null, root?: HTMLElement, media?: MediaQueryList | null, onChange?: (theme: Theme) => void}} [options]
   */
  constructor(select, options = {}) {
    this.select = select;
    this.storage = options.storage === undefined ? safeLocalStorage() : options.storage;
    this.root = options.root ?? document.documentElement;
    this.media = options.media === undefined ? (globalThis.matchMedia?.(DARK_QUERY) ?? null) : options.media;
    this.onChange = options.onChange ?? (() => {});
    this.choice = readThemeChoice(this.storage);
    applyThemeChoice(this.root, this.choice);
    this.select.value = this.choice;
    this.theme = this.effective();
    this._onSelect = () => this.set(/** @type {ThemeChoice} */ (THEME_CHOICES.find((c) => c === this.select.value) ?? 'system'));
    this._onSystem = () => this._report();
    select.addEventListener('change', this._onSelect);
    this.media?.addEventListener?.('change', this._onSystem);
  }

  /** @returns {Theme} */
  effective() {
    return effectiveTheme(this.choice, Boolean(this.media?.matches));
  }

  /** @param {ThemeChoice} choice */
  set(choice) {
    this.choice = choice;
    saveThemeChoice(this.storage, choice);
    applyThemeChoice(this.root, choice);
    if (this.select.value !== choice) this.select.value = choice;
    this._report();
  }

  _report() {
    const theme = this.effective();
    if (theme === this.theme) return;
    this.theme = theme;
    this.onChange(theme);
  }

  destroy() {
    this.select.removeEventListener('change', this._onSelect);
    this.media?.removeEventListener?.('change', this._onSystem);
  }
}

/** localStorage, or null where reading it throws (sandboxed frames, some privacy modes). */
function safeLocalStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}
