import fc from 'fast-check';
import cron from 'node-cron';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isTimeZone, nextFiring, previousFiring } from '../../../src/schedule/cron-time.js';

// Europe/Paris in 2026: clocks go 02:00 → 03:00 on 29 March (01:00Z) and 03:00 → 02:00 on
// 25 October (01:00Z).

const iso = (d: Date | null) => d?.toISOString() ?? null;
const next = (expr: string, tz: string, after: string) => iso(nextFiring(expr, tz, new Date(after)));
const prev = (expr: string, tz: string, at: string) => iso(previousFiring(expr, tz, new Date(at)));

describe('the next firing of a schedule', () => {
  it('reads the expression in the time zone: 09:00 in Paris is 08:00Z in winter, 07:00Z in summer', () => {
    expect(next('0 9 * * *', 'Europe/Paris', '2026-01-15T00:00:00Z')).toBe('2026-01-15T08:00:00.000Z');
    expect(next('0 9 * * *', 'Europe/Paris', '2026-07-15T00:00:00Z')).toBe('2026-07-15T07:00:00.000Z');
    expect(next('0 9 * * *', 'UTC', '2026-01-15T00:00:00Z')).toBe('2026-01-15T09:00:00.000Z');
    expect(next('0 9 * * *', 'America/New_York', '2026-01-15T00:00:00Z')).toBe('2026-01-15T14:00:00.000Z');
  });

  it('is strictly after the given time', () => {
    expect(next('0 9 * * *', 'Europe/Paris', '2026-01-15T08:00:00Z')).toBe('2026-01-16T08:00:00.000Z');
    expect(next('* * * * * *', 'UTC', '2026-01-15T08:00:00.400Z')).toBe('2026-01-15T08:00:01.000Z');
  });

  it('crosses a change of offset: the day after the change fires at the new offset', () => {
    expect(next('0 9 * * *', 'Europe/Paris', '2026-03-28T09:00:00Z')).toBe('2026-03-29T07:00:00.000Z');
    expect(next('0 9 * * *', 'Europe/Paris', '2026-10-24T08:00:00Z')).toBe('2026-10-25T08:00:00.000Z');
  });

  it('skips a time that the spring change removes', () => {
    // 02:30 does not exist in Paris on 29 March 2026.
    expect(next('30 2 * * *', 'Europe/Paris', '2026-03-28T02:00:00Z')).toBe('2026-03-30T00:30:00.000Z');
  });

  it('honours weekdays, months and the last day of the month', () => {
    expect(next('0 6 * * 1', 'UTC', '2026-01-15T00:00:00Z')).toBe('2026-01-19T06:00:00.000Z');
    expect(next('0 0 1 */3 *', 'UTC', '2026-01-15T00:00:00Z')).toBe('2026-04-01T00:00:00.000Z');
    expect(next('0 0 L * *', 'UTC', '2026-02-02T00:00:00Z')).toBe('2026-02-28T00:00:00.000Z');
    expect(next('@hourly', 'UTC', '2026-02-02T10:59:59Z')).toBe('2026-02-02T11:00:00.000Z');
  });

  it('agrees with the next runs node-cron schedules', () => {
    vi.useFakeTimers({ now: new Date('2026-03-27T21:17:43Z'), toFake: ['Date'] });
    const cases: [string, string][] = [
      ['0 9 * * *', 'Europe/Paris'],
      ['*/20 * * * *', 'Asia/Kolkata'],
      ['30 2 * * *', 'Europe/Paris'],
      ['0 0 * * 0', 'America/New_York'],
      ['15 4 1,15 * *', 'Australia/Sydney'],
    ];
    for (const [expr, tz] of cases) {
      const task = cron.createTask(expr, () => {}, { timezone: tz });
      try {
        const runs = task.getNextRuns(4);
        const ours: Date[] = [];
        let from = new Date();
        for (let i = 0; i < 4; i++) {
          from = nextFiring(expr, tz, from) as Date;
          ours.push(from);
        }
        expect(ours.map(iso), `${expr} in ${tz}`).toEqual(runs.map(iso));
      } finally {
        void task.destroy();
      }
    }
  });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('the previous firing of a schedule', () => {
  it('is the firing at or before the given time', () => {
    expect(prev('0 9 * * *', 'Europe/Paris', '2026-01-15T08:00:00Z')).toBe('2026-01-15T08:00:00.000Z');
    expect(prev('0 9 * * *', 'Europe/Paris', '2026-01-15T07:59:59Z')).toBe('2026-01-14T08:00:00.000Z');
    expect(prev('0 * * * *', 'UTC', '2026-01-15T07:59:59.900Z')).toBe('2026-01-15T07:00:00.000Z');
  });

  it('finds rare firings years back', () => {
    expect(prev('0 0 29 2 *', 'UTC', '2027-01-15T00:00:00Z')).toBe('2024-02-29T00:00:00.000Z');
  });

  it('is consistent with the next firing, for any instant', () => {
    const cases: [string, string][] = [
      ['0 9 * * *', 'Europe/Paris'],
      ['30 2 * * *', 'Europe/Paris'],
      ['*/15 * * * *', 'America/New_York'],
      ['0 6 * * 1-5', 'Asia/Tokyo'],
      ['0 0 L * *', 'UTC'],
      ['45 23 * * 0', 'Pacific/Auckland'],
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...cases),
        fc.date({
          min: new Date('2024-01-01T00:00:00Z'),
          max: new Date('2030-12-31T00:00:00Z'),
          noInvalidDate: true,
        }),
        ([expr, tz], at) => {
          const p = previousFiring(expr, tz, at) as Date;
          const n = nextFiring(expr, tz, at) as Date;
          expect(p.getTime()).toBeLessThanOrEqual(at.getTime());
          expect(n.getTime()).toBeGreaterThan(at.getTime());
          // Nothing fires between the two: the firing after the previous one is the next one.
          expect(iso(nextFiring(expr, tz, p))).toBe(iso(n));
          expect(iso(previousFiring(expr, tz, n))).toBe(iso(n));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('time zone names', () => {
  it('knows IANA zones and refuses others', () => {
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});
