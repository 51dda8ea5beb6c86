// @ts-check
/**
 * Pure formatters for numbers, money, ratios, durations and dates. Every view formats
 * through these, so "−1,234.50" and "54.9 %" look the same everywhere. `null`/`undefined`/
 * NaN render as an en dash: a missing statistic (e.g. profit factor with no losses) is
 * shown as missing, never as 0.
 */

export const MISSING = '–';
const MINUS = '−';

/** @param {unknown} value @returns {value is number} */
export function isNumber(value) {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * Coerce API numbers (some are decimal strings, e.g. prices and quantities) to a number.
 * @param {unknown} value
 * @returns {number | null}
 */
export function toNumber(value) {
  if (isNumber(value)) return value;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

// Intl formatters are costly to build (a table page formats hundreds of cells): one per
// distinct option set, built on first use.
/** @type {Map<string, Intl.NumberFormat>} */
const numberFormats = new Map();
/** @type {Map<string, Intl.DateTimeFormat>} */
const dateTimeFormats = new Map();

/** @param {number | null} digits  null: the locale's default (integers here) */
function numberFormat(digits) {
  const key = String(digits);
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat('en-US', digits === null ? {} : { minimumFractionDigits: digits, maximumFractionDigits: digits });
    numberFormats.set(key, format);
  }
  return format;
}

/** @param {string | undefined} timeZone */
function dateTimeFormat(timeZone) {
  const key = timeZone ?? '';
  let format = dateTimeFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    dateTimeFormats.set(key, format);
  }
  return format;
}

/**
 * Grouped fixed-point number with a real minus sign: 1234.5 → "1,234.50".
 * @param {unknown} value
 * @param {number} [digits]
 */
export function formatNumber(value, digits = 2) {
  const n = toNumber(value);
  if (n === null) return MISSING;
  const text = numberFormat(digits).format(Math.abs(n));
  return (n < 0 && text.replace(/[0.,]/g, '') !== '' ? MINUS : '') + text;
}

/**
 * Money without a currency symbol (accounts may differ): "1,234.50", "−392.34".
 * @param {unknown} value
 * @param {{signed?: boolean, digits?: number}} [options]  signed: "+" on gains
 */
export function formatMoney(value, options = {}) {
  const n = toNumber(value);
  if (n === null) return MISSING;
  const text = formatNumber(n, options.digits ?? 2);
  return options.signed && n > 0 && text.replace(/[0.,]/g, '') !== '' ? `+${text}` : text;
}

/**
 * A fraction as a percentage: 0.54902 → "54.9 %".
 * @param {unknown} fraction
 * @param {number} [digits]
 */
export function formatPercent(fraction, digits = 1) {
  const n = toNumber(fraction);
  if (n === null) return MISSING;
  return `${formatNumber(n * 100, digits)} %`;
}

/**
 * A plain ratio (profit factor, Sharpe): 1.515946 → "1.52".
 * @param {unknown} value
 * @param {number} [digits]
 */
export function formatRatio(value, digits = 2) {
  return formatNumber(value, digits);
}

/**
 * Integer count: 1085 → "1,085".
 * @param {unknown} value
 */
export function formatCount(value) {
  return formatNumber(value, 0);
}

/**
 * A quantity or price as sent by the server (decimal string): trims trailing zeros but
 * keeps the digits the broker reported. "100" → "100", "607.3650" → "607.365".
 * @param {unknown} value
 */
export function formatDecimal(value) {
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) {
    const [int, frac = ''] = value.trim().replace(/^-/, '').split('.');
    const trimmed = frac.replace(/0+$/, '');
    const grouped = numberFormat(null).format(Number(int));
    const sign = value.trim().startsWith('-') && /[1-9]/.test(value) ? MINUS : '';
    return sign + grouped + (trimmed ? `.${trimmed}` : '');
  }
  const n = toNumber(value);
  return n === null ? MISSING : formatNumber(n, Number.isInteger(n) ? 0 : 4).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

/**
 * Holding time in seconds: the largest unit and, if not zero, the next one down.
 * 45 → "45 s", 2760 → "46 min", 3700 → "1 h 1 min", 88200 → "1 d" (units floor). The
 * server sends `holdingSeconds` — seconds, not milliseconds.
 * @param {unknown} seconds
 */
export function formatDuration(seconds) {
  const n = toNumber(seconds);
  if (n === null || n < 0) return MISSING;
  const s = Math.round(n);
  /** @type {[number, string][]} */
  const units = [
    [86400, 'd'],
    [3600, 'h'],
    [60, 'min'],
    [1, 's'],
  ];
  const i = units.findIndex(([size]) => s >= size);
  if (i === -1) return '0 s';
  const [size, label] = units[i];
  const major = Math.floor(s / size);
  const next = units[i + 1];
  const minor = next ? Math.floor((s - major * size) / next[0]) : 0;
  return minor > 0 && next ? `${major} ${label} ${minor} ${next[1]}` : `${major} ${label}`;
}

/**
 * An ISO timestamp in the viewer's zone (or `timeZone`): "2026-11-25 19:05".
 * @param {unknown} iso
 * @param {string} [timeZone]
 */
export function formatDateTime(iso, timeZone) {
  if (typeof iso !== 'string' || iso === '') return MISSING;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return MISSING;
  const parts = dateTimeFormat(timeZone).formatToParts(date);
  /** @param {string} type */
  const get = (type) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`;
}

/**
 * Label of a breakdown key: snake_case asset classes read as words.
 * @param {string} key
 */
export function formatKey(key) {
  return ASSET_CLASS_LABELS[key] ?? key;
}

/** @type {Record<string, string>} */
export const ASSET_CLASS_LABELS = {
  stock: 'Stock',
  option: 'Option',
  future: 'Future',
  future_option: 'Future option',
  crypto_spot: 'Crypto spot',
  crypto_perp: 'Crypto perp',
  forex: 'Forex',
};

/**
 * The sign class of a P&L value, for colouring: "pos" | "neg" | "zero" | "".
 * @param {unknown} value
 */
export function signClass(value) {
  const n = toNumber(value);
  if (n === null) return '';
  if (n > 0.005) return 'pos';
  if (n < -0.005) return 'neg';
  return 'zero';
}

/**
 * Bytes in words: 5242880 → "5.0 MB".
 * @param {number} bytes
 */
export function formatBytes(bytes) {
  if (!isNumber(bytes) || bytes < 0) return MISSING;
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
