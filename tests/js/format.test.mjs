import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  MISSING, formatBytes, formatCount, formatDateTime, formatDecimal, formatDuration, formatKey, formatMoney, formatNumber,
  formatPercent, formatRatio, signClass, toNumber,
} from '../../src/tradestats/web/js/format.js';

test('numbers and money: grouping, a real minus sign, signed gains, missing as an en dash', () => {
  assert.equal(formatNumber(1234.5), '1,234.50');
  assert.equal(formatNumber(-392.34), '−392.34');
  assert.equal(formatNumber(-0.001), '0.00', 'no "−0.00"');
  assert.equal(formatMoney(37246.52, { signed: true }), '+37,246.52');
  assert.equal(formatMoney(-5074, { signed: true }), '−5,074.00');
  assert.equal(formatMoney(0, { signed: true }), '0.00');
  assert.equal(formatMoney(1429.82, { digits: 0 }), '1,430');
  assert.equal(formatMoney('12.5'), '12.50', 'decimal strings from the API');
  for (const value of [null, undefined, NaN, Infinity, '', 'abc']) assert.equal(formatMoney(value), MISSING);
  assert.equal(formatCount(1085), '1,085');
  assert.equal(toNumber(' 7 '), 7);
  assert.equal(toNumber('x'), null);
});

test('percent and ratio: fractions in, missing statistics stay missing', () => {
  assert.equal(formatPercent(0.54902), '54.9 %');
  assert.equal(formatPercent(1), '100.0 %');
  assert.equal(formatPercent(0.178807, 0), '18 %');
  assert.equal(formatRatio(1.515946), '1.52');
  assert.equal(formatRatio(null), MISSING, 'profit factor with no losses is unknown, not 0');
});

test('decimals keep the broker digits and trim trailing zeros', () => {
  assert.equal(formatDecimal('100'), '100');
  assert.equal(formatDecimal('607.3650'), '607.365');
  assert.equal(formatDecimal('12000.50'), '12,000.5');
  assert.equal(formatDecimal('-0.5'), '−0.5');
  assert.equal(formatDecimal(2.25), '2.25');
  assert.equal(formatDecimal(null), MISSING);
});

test('durations are seconds (not milliseconds): largest unit plus the next', () => {
  assert.equal(formatDuration(45), '45 s');
  assert.equal(formatDuration(0), '0 s');
  assert.equal(formatDuration(2760), '46 min');
  assert.equal(formatDuration(3700), '1 h 1 min');
  assert.equal(formatDuration(88200), '1 d');
  assert.equal(formatDuration(90061), '1 d 1 h');
  assert.equal(formatDuration(26385.147), '7 h 19 min');
  assert.equal(formatDuration(-1), MISSING);
  assert.equal(formatDuration(null), MISSING);
});

test('date-times in a given zone, sign classes, keys, bytes', () => {
  assert.equal(formatDateTime('2026-11-25T19:05:00+00:00', 'UTC'), '2026-11-25 19:05');
  assert.equal(formatDateTime('2026-11-25T19:05:00+00:00', 'America/New_York'), '2026-11-25 14:05');
  assert.equal(formatDateTime('2026-07-01T00:30:00Z', 'Europe/Berlin'), '2026-07-01 02:30');
  assert.equal(formatDateTime('nope', 'UTC'), MISSING);
  assert.equal(signClass(5), 'pos');
  assert.equal(signClass(-0.01), 'neg');
  assert.equal(signClass(0.004), 'zero');
  assert.equal(signClass(null), '');
  assert.equal(formatKey('crypto_spot'), 'Crypto spot');
  assert.equal(formatKey('AAPL'), 'AAPL');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(5 * 1024 * 1024), '5.0 MB');
});
