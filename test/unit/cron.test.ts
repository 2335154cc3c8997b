// Cron schedules as the daemon reads them: field counts, validation
// messages, and next fire times in non-UTC zones across DST changes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextFireTime, schedule, timezone } from '../../src/store/cron.js';
import { StoreError } from '../../src/store/errors.js';

const at = (iso: string) => new Date(iso);
const next = (expr: string, tz: string | null, after: string) => nextFireTime(expr, tz, at(after))?.toISOString() ?? null;

describe('cron schedules', () => {
  it('6 fields (seconds first), 5 fields, 7 with a year, nicknames and ?', () => {
    assert.equal(next('30 15 9 * * *', null, '2026-04-01T00:00:00.000Z'), '2026-04-01T09:15:30.000Z');
    assert.equal(next('15 9 * * *', null, '2026-04-01T00:00:00.000Z'), '2026-04-01T09:15:00.000Z');
    assert.equal(next('0 0 9 * * * 2028', null, '2026-04-01T00:00:00.000Z'), '2028-01-01T09:00:00.000Z');
    assert.equal(next('@daily', null, '2026-04-01T10:00:00.000Z'), '2026-04-02T00:00:00.000Z');
    assert.equal(next('0 0 9 ? * MON', null, '2026-04-01T00:00:00.000Z'), '2026-04-06T09:00:00.000Z'); // 2026-04-01 is a Wednesday
    assert.equal(next('0 9 * * 0', null, '2026-04-01T00:00:00.000Z'), '2026-04-05T09:00:00.000Z'); // 0 = Sunday
    assert.equal(next('0 9 * * 7', null, '2026-04-01T00:00:00.000Z'), '2026-04-05T09:00:00.000Z'); // 7 = Sunday
  });

  it('the next fire time is strictly after the given instant', () => {
    assert.equal(next('0 0 9 * * *', null, '2026-04-01T09:00:00.000Z'), '2026-04-02T09:00:00.000Z');
    assert.equal(next('*/10 * * * * *', null, '2026-04-01T09:00:00.500Z'), '2026-04-01T09:00:10.000Z');
  });

  it('spring forward in Europe/Berlin: a time in the gap fires at the first instant after it', () => {
    // 2026-03-29: 02:00 CET → 03:00 CEST.
    assert.equal(next('0 30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00.000Z'), '2026-03-29T01:00:00.000Z'); // 03:00 CEST
    assert.equal(next('0 30 2 * * *', 'Europe/Berlin', '2026-03-29T12:00:00.000Z'), '2026-03-30T00:30:00.000Z'); // 02:30 CEST
    // A fixed local time keeps its wall-clock hour across the change.
    assert.equal(next('0 0 9 * * *', 'Europe/Berlin', '2026-03-28T09:00:00.000Z'), '2026-03-29T07:00:00.000Z'); // 09:00 CEST
    assert.equal(next('0 0 9 * * *', 'Europe/Berlin', '2026-03-27T12:00:00.000Z'), '2026-03-28T08:00:00.000Z'); // 09:00 CET
  });

  it('fall back in America/New_York: a repeated local time fires once', () => {
    // 2026-11-01: 02:00 EDT → 01:00 EST; 01:30 happens twice.
    const first = next('0 30 1 * * *', 'America/New_York', '2026-11-01T00:00:00.000Z');
    assert.equal(first, '2026-11-01T05:30:00.000Z'); // 01:30 EDT
    assert.equal(next('0 30 1 * * *', 'America/New_York', first!), '2026-11-02T06:30:00.000Z'); // next day, 01:30 EST
    // An hourly schedule keeps firing every real hour through the change.
    assert.equal(next('0 0 * * * *', 'America/New_York', '2026-11-01T05:00:00.000Z'), '2026-11-01T06:00:00.000Z');
    assert.equal(next('0 0 * * * *', 'America/New_York', '2026-11-01T06:00:00.000Z'), '2026-11-01T07:00:00.000Z');
  });

  it('validation names the field; zones are canonicalised', () => {
    const now = at('2026-04-01T00:00:00.000Z');
    for (const bad of ['', '* * * *', '61 * * * *', '0 0 25 * * *', 'nonsense', '0 0 0 30 2 *', '0 0 9 * * * 2020']) {
      assert.throws(
        () => schedule('trigger.schedule', bad, null, now),
        (e: unknown) => e instanceof StoreError && e.kind === 'invalid_argument' && e.message.startsWith('trigger.schedule:'),
        bad,
      );
    }
    assert.equal(schedule('trigger.schedule', '0 0 9 * * MON-FRI', 'Europe/Berlin', now), '0 0 9 * * MON-FRI');
    assert.equal(timezone('trigger.timezone', 'europe/berlin'), 'Europe/Berlin');
    assert.equal(timezone('trigger.timezone', 'UTC'), 'UTC');
    for (const bad of ['Mars/Olympus', '', '+01:00', 42]) {
      assert.throws(
        () => timezone('trigger.timezone', bad),
        (e: unknown) => e instanceof StoreError && e.kind === 'invalid_argument' && e.message.startsWith('trigger.timezone:'),
      );
    }
  });
});
