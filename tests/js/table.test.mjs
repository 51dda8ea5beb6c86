import { test } from 'node:test';
import assert from 'node:assert/strict';

import { installDocument } from './fakedom.mjs';
import { SortableTable, compareValues, nextSort, renderTable, sortRows } from '../../src/tradestats/web/js/ui/table.js';

const rows = [
  { key: 'AAPL', net: 600.35, pf: 1.06 },
  { key: 'AMD', net: 2384, pf: null },
  { key: 'TSLA', net: -1200, pf: 0.7 },
  { key: 'W10', net: 2384, pf: 2.5 },
  { key: 'W2', net: 5, pf: undefined },
];

test('sortRows: numeric, stable, missing values last in both directions', () => {
  const byNet = (r) => r.net;
  assert.deepEqual(sortRows(rows, byNet, 'desc').map((r) => r.key), ['AMD', 'W10', 'AAPL', 'W2', 'TSLA'], 'ties keep input order');
  assert.deepEqual(sortRows(rows, byNet, 'asc').map((r) => r.key), ['TSLA', 'W2', 'AAPL', 'AMD', 'W10']);
  const byPf = { key: 'pf', label: 'PF', numeric: true };
  assert.deepEqual(sortRows(rows, byPf, 'desc').map((r) => r.key), ['W10', 'AAPL', 'TSLA', 'AMD', 'W2']);
  assert.deepEqual(sortRows(rows, byPf, 'asc').map((r) => r.key), ['TSLA', 'AAPL', 'W10', 'AMD', 'W2']);
  assert.deepEqual(sortRows(rows, { key: 'key', label: 'K' }, 'asc').map((r) => r.key), ['AAPL', 'AMD', 'TSLA', 'W2', 'W10'], 'numeric collation');
  assert.notEqual(sortRows(rows, byNet, 'asc'), rows, 'a copy');
});

test('compareValues: numeric strings as numbers', () => {
  assert.ok(compareValues('9', '10') < 0);
  assert.ok(compareValues('b', 'A') > 0);
  assert.equal(compareValues(2, 2), 0);
});

test('nextSort toggles the same column; new numeric columns start descending', () => {
  assert.deepEqual(nextSort(null, { key: 'net', numeric: true }), { key: 'net', order: 'desc' });
  assert.deepEqual(nextSort({ key: 'net', order: 'desc' }, { key: 'net', numeric: true }), { key: 'net', order: 'asc' });
  assert.deepEqual(nextSort({ key: 'net', order: 'asc' }, { key: 'key' }), { key: 'key', order: 'asc' });
});

test('renderTable escapes data, marks aria-sort and makes rows keyboard-clickable', () => {
  installDocument();
  const clicked = [];
  const table = renderTable({
    columns: [{ key: 'key', label: 'Symbol' }, { key: 'net', label: 'Net', numeric: true }],
    rows: [{ key: '<img src=x onerror=alert(1)>', net: 1 }],
    sort: { key: 'net', order: 'asc' },
    onSort: () => {},
    onRowClick: (row) => clicked.push(row.key),
  });
  const cell = table.querySelector('tbody td');
  assert.equal(cell.childNodes.length, 1);
  assert.equal(cell.childNodes[0].constructor.name, 'FakeText', 'data is a text node, never markup');
  assert.equal(cell.textContent, '<img src=x onerror=alert(1)>');
  const ths = table.querySelectorAll('th');
  assert.deepEqual(ths.map((th) => th.getAttribute('aria-sort')), ['none', 'ascending']);
  assert.equal(table.querySelector('td.num').textContent, '1');
  const tr = table.querySelector('tbody tr');
  assert.equal(tr.tabIndex, 0);
  tr.dispatchEvent(Object.assign(new Event('keydown'), { key: 'Enter' }));
  tr.click();
  assert.deepEqual(clicked, ['<img src=x onerror=alert(1)>', '<img src=x onerror=alert(1)>']);
});

test('SortableTable keeps the server order until a header is clicked, then sorts in place', () => {
  installDocument();
  const table = new SortableTable({ columns: [{ key: 'key', label: 'Key' }, { key: 'net', label: 'Net', numeric: true }], rows, sort: null });
  const keys = () => table.element.querySelectorAll('tbody tr').map((tr) => tr.querySelector('td').textContent);
  assert.deepEqual(keys(), rows.map((r) => r.key));
  const netButton = () => table.element.querySelectorAll('th button')[1];
  netButton().click();
  assert.deepEqual(keys(), ['AMD', 'W10', 'AAPL', 'W2', 'TSLA']);
  assert.equal(table.element.querySelectorAll('th')[1].getAttribute('aria-sort'), 'descending');
  netButton().click();
  assert.deepEqual(keys(), ['TSLA', 'W2', 'AAPL', 'AMD', 'W10']);
});
