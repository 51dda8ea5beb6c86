import { test } from 'node:test';
import assert from 'node:assert/strict';

import { installDocument } from './fakedom.mjs';
import { calendarLayout, compactMoney, pnlLevel, renderCalendar } from '../../src/tradestats/web/js/ui/calendar.js';

test('calendarLayout: Monday-first weeks, every month in range, totals per month', () => {
  const months = calendarLayout([
    { date: '2026-06-05', pnl: 385.25, trades: 3 },
    { date: '2026-06-09', pnl: -1850.88, trades: 6 },
    { date: '2026-08-31', pnl: 100, trades: 1 },
  ]);
  assert.deepEqual(months.map((m) => m.key), ['2026-06', '2026-07', '2026-08'], 'July has no trades but is shown');
  const june = months[0];
  assert.equal(june.label, 'June 2026');
  // 2026-06-01 is a Monday: no leading blanks; 30 days → 5 weeks, the last with 2 days.
  assert.equal(june.weeks[0][0].date, '2026-06-01');
  assert.equal(june.weeks.length, 5);
  assert.ok(june.weeks.every((w) => w.length === 7));
  assert.deepEqual(june.weeks[4].map((c) => c?.day ?? null), [29, 30, null, null, null, null, null]);
  const fri = june.weeks[0][4];
  assert.deepEqual([fri.date, fri.pnl, fri.trades], ['2026-06-05', 385.25, 3]);
  assert.equal(june.weeks[0][1].pnl, null, 'no trades that day');
  assert.equal(june.pnl, -1465.63);
  assert.equal(june.trades, 9);
  assert.equal(months[1].pnl, 0);
  // 2026-08-01 is a Saturday: five leading blanks.
  assert.deepEqual(months[2].weeks[0].map((c) => c?.day ?? null), [null, null, null, null, null, 1, 2]);
  assert.equal(months[2].weeks.at(-1)[0].date, '2026-08-31');
});

test('calendarLayout across a year boundary and with no data', () => {
  const months = calendarLayout([{ date: '2026-12-31', pnl: 1, trades: 1 }, { date: '2027-01-02', pnl: 1, trades: 1 }]);
  assert.deepEqual(months.map((m) => m.key), ['2026-12', '2027-01']);
  assert.deepEqual(calendarLayout([]), []);
  assert.deepEqual(calendarLayout([{ date: 'garbage', pnl: 1, trades: 1 }]), []);
});

test('pnlLevel: sign and sqrt-scaled size, flat days are 0', () => {
  assert.equal(pnlLevel(null, 100), 0);
  assert.equal(pnlLevel(0.001, 100), 0);
  assert.equal(pnlLevel(100, 100), 4);
  assert.equal(pnlLevel(-100, 100), -4);
  assert.equal(pnlLevel(1, 10000), 1);
  assert.equal(pnlLevel(2500, 10000), 2, 'sqrt(0.25) = 0.5 → level 2');
  assert.equal(pnlLevel(5, 0), 0);
});

test('compactMoney', () => {
  assert.equal(compactMoney(1234.5), '+1.2k');
  assert.equal(compactMoney(-85), '−85');
  assert.equal(compactMoney(0), '0');
  assert.equal(compactMoney(2_500_000), '+2.5M');
});

test('renderCalendar: trading days are labelled buttons; a click selects the day', () => {
  installDocument();
  const picked = [];
  const months = calendarLayout([{ date: '2026-06-05', pnl: 385.25, trades: 3 }]);
  const view = renderCalendar(months, { onSelect: (d) => picked.push(d), selected: '2026-06-05' });
  const buttons = view.querySelectorAll('button.cal-btn');
  assert.equal(buttons.length, 1);
  assert.equal(buttons[0].getAttribute('aria-label'), '2026-06-05: +385.25, 3 trades');
  assert.equal(buttons[0].getAttribute('aria-pressed'), 'true');
  assert.equal(buttons[0].parentNode.dataset.level, '4');
  buttons[0].click();
  assert.deepEqual(picked, ['2026-06-05']);
  assert.equal(view.querySelectorAll('td.cal-none').length, 29);
  assert.match(view.querySelector('caption').textContent, /^June 2026 \+385/);
});
