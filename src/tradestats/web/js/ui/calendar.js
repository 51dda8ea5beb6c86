// @ts-check
/**
 * The daily P&L calendar heatmap: `calendarLayout` (pure: days → month grids of
 * Monday-first weeks with a colour level per day) and `renderCalendar` (DOM: one table per
 * month, each trading day a button). Dates are the server's calendar days (already in the
 * chosen zone), handled as UTC dates so the browser's own zone never shifts them.
 */
import { el } from './dom.js';
import { formatCount, formatMoney } from '../format.js';

/** @typedef {{date: string, pnl: number, trades: number}} CalendarDay */

/**
 * @typedef {object} CalendarCell
 * @property {string} date     YYYY-MM-DD
 * @property {number} day      1..31
 * @property {number | null} pnl     null: no closed trades that day
 * @property {number} trades
 * @property {number} level    -4..4: sign and size of the P&L relative to the biggest day
 */

/**
 * @typedef {object} CalendarMonth
 * @property {string} key      YYYY-MM
 * @property {string} label    "June 2026"
 * @property {(CalendarCell | null)[][]} weeks   7 slots each, Monday first; null outside the month
 * @property {number} pnl      the month's total
 * @property {number} trades
 */

export const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/**
 * Colour level of a day's P&L: 0 for flat/none, else ±1..4 by |pnl| / max|pnl| in
 * quarters (so one outlier day does not wash every other day out to level 1, the scale is
 * the square root of the ratio).
 * @param {number | null} pnl
 * @param {number} maxAbs
 */
export function pnlLevel(pnl, maxAbs) {
  if (pnl === null || maxAbs <= 0 || Math.abs(pnl) <= 0.005) return 0;
  const ratio = Math.sqrt(Math.min(1, Math.abs(pnl) / maxAbs));
  const level = Math.max(1, Math.ceil(ratio * 4));
  return pnl > 0 ? level : -level;
}

/**
 * Month grids covering every month from the first to the last day with data.
 * @param {readonly CalendarDay[]} days
 * @returns {CalendarMonth[]}
 */
export function calendarLayout(days) {
  const valid = days.filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d.date)).slice().sort((a, b) => (a.date < b.date ? -1 : 1));
  if (valid.length === 0) return [];
  /** @type {Map<string, CalendarDay>} */
  const byDate = new Map(valid.map((d) => [d.date, d]));
  const maxAbs = Math.max(...valid.map((d) => Math.abs(d.pnl)));
  const [fy, fm] = valid[0].date.split('-').map(Number);
  const [ly, lm] = valid[valid.length - 1].date.split('-').map(Number);
  /** @type {CalendarMonth[]} */
  const months = [];
  for (let y = fy, m = fm; y < ly || (y === ly && m <= lm); m === 12 ? ((y += 1), (m = 1)) : (m += 1)) {
    const daysInMonth = new Date(Date.UTC(y, m, 0)).getUTCDate();
    const firstWeekday = (new Date(Date.UTC(y, m - 1, 1)).getUTCDay() + 6) % 7; // Monday = 0
    /** @type {(CalendarCell | null)[][]} */
    const weeks = [];
    /** @type {(CalendarCell | null)[]} */
    let week = new Array(firstWeekday).fill(null);
    let pnl = 0;
    let trades = 0;
    for (let d = 1; d <= daysInMonth; d += 1) {
      const date = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
      const entry = byDate.get(date);
      const cellPnl = entry ? entry.pnl : null;
      if (entry) {
        pnl += entry.pnl;
        trades += entry.trades;
      }
      week.push({ date, day: d, pnl: cellPnl, trades: entry?.trades ?? 0, level: pnlLevel(cellPnl, maxAbs) });
      if (week.length === 7) {
        weeks.push(week);
        week = [];
      }
    }
    if (week.length > 0) weeks.push([...week, ...new Array(7 - week.length).fill(null)]);
    months.push({ key: `${y}-${String(m).padStart(2, '0')}`, label: `${MONTHS[m - 1]} ${y}`, weeks, pnl: Math.round(pnl * 100) / 100, trades });
  }
  return months;
}

/**
 * @param {CalendarMonth[]} months
 * @param {{onSelect: (date: string) => void, selected?: string | null}} options
 */
export function renderCalendar(months, options) {
  const wrap = el('div', { className: 'calendar' });
  for (const month of months) {
    const head = el('tr', null, WEEKDAYS.map((d) => el('th', { attrs: { scope: 'col', abbr: d } }, d.slice(0, 2))));
    const body = el('tbody');
    for (const week of month.weeks) {
      const tr = el('tr');
      for (const cell of week) {
        if (!cell) {
          tr.append(el('td', { className: 'cal-out' }));
          continue;
        }
        const td = el('td', { dataset: { level: String(cell.level) } });
        if (cell.pnl === null) {
          td.className = 'cal-none';
          td.append(el('span', { className: 'cal-day' }, String(cell.day)));
        } else {
          const label = `${cell.date}: ${formatMoney(cell.pnl, { signed: true })}, ${formatCount(cell.trades)} trade${cell.trades === 1 ? '' : 's'}`;
          td.append(
            el(
              'button',
              {
                className: 'cal-btn',
                attrs: { type: 'button', title: label, 'aria-label': label, 'aria-pressed': options.selected === cell.date ? 'true' : 'false' },
                on: { click: () => options.onSelect(cell.date) },
              },
              el('span', { className: 'cal-day' }, String(cell.day)),
              el('span', { className: 'cal-pnl' }, compactMoney(cell.pnl)),
            ),
          );
        }
        tr.append(td);
      }
      body.append(tr);
    }
    const caption = el('caption', null, month.label, ' ', el('span', { className: month.pnl >= 0 ? 'pos' : 'neg' }, formatMoney(month.pnl, { signed: true, digits: 0 })));
    wrap.append(el('table', { className: 'cal-month' }, caption, el('thead', null, head), body));
  }
  return wrap;
}

/**
 * Short money for a calendar cell: 1234.5 → "+1.2k", -85 → "−85".
 * @param {number} value
 */
export function compactMoney(value) {
  const abs = Math.abs(value);
  const sign = value > 0.005 ? '+' : value < -0.005 ? '−' : '';
  if (abs >= 1e6) return `${sign}${(abs / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${sign}${(abs / 1e3).toFixed(1)}k`;
  return `${sign}${Math.round(abs)}`;
}
