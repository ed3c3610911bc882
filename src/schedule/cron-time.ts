import cron from 'node-cron';
import { isTimeZone, type WallClock, wallClock } from '../time/zone.js';

/** The time zone of a schedule that names none. */
export const DEFAULT_TIME_ZONE = 'UTC';

export { isTimeZone };

/**
 * The first firing of `expression` in `timeZone` strictly after `after`, as node-cron
 * computes it (so that every process names a firing by the same slot). Null when the
 * expression never fires within the search range (years).
 */
export function nextFiring(expression: string, timeZone: string, after: Date): Date | null {
  return walk(expression, timeZone, after, 1);
}

/**
 * The last firing of `expression` in `timeZone` at or before `at`: the firing a process
 * that was down at that moment missed. Null when there is none within the search range.
 */
export function previousFiring(expression: string, timeZone: string, at: Date): Date | null {
  return walk(expression, timeZone, at, -1);
}

// A day-of-month rule such as "29 2" fires once in four (sometimes eight) years.
const MAX_DAYS = 366 * 9;

type LocalParts = WallClock;

/**
 * Walks the local days of `timeZone` from `from` in direction `dir`, and on each day the
 * allowed times in the same direction. The first candidate time of a day that exists
 * locally (not in a DST gap) decides the day: node-cron's own matcher accepts it exactly
 * when the day-of-month, month and weekday fields accept the day, since the time fields
 * accept it by construction.
 */
function walk(expression: string, timeZone: string, from: Date, dir: 1 | -1): Date | null {
  const fields = cron.parse(expression);
  const order = (values: number[]) => [...values].sort((a, b) => (a - b) * dir);
  const hours = order(fields.hour);
  const minutes = order(fields.minute);
  const seconds = order(fields.second);
  const fromMs = Math.floor(from.getTime() / 1000) * 1000;
  // Inclusive at `at` when walking back, exclusive of `after` when walking forward.
  const accepts = (ts: number) => (dir === 1 ? ts > from.getTime() : ts <= fromMs);
  const start = wallClock(fromMs, timeZone);
  const startClock = clock(start.hour, start.minute, start.second);
  const matcher = cron.createTask(expression, () => {}, { timezone: timeZone });
  try {
    let { year, month, day } = start;
    for (let i = 0; i < MAX_DAYS; i++) {
      if (fields.month.includes(month)) {
        const found = firstOnDay(i === 0);
        if (found !== undefined) return new Date(found);
      }
      ({ year, month, day } = shiftDay(year, month, day, dir));
    }
    return null;

    /** The firing on the current day nearest to `from`, if the day has one. */
    function firstOnDay(firstDay: boolean): number | undefined {
      for (const hour of hours) {
        for (const minute of minutes) {
          for (const second of seconds) {
            // On the first day, skip the times on the wrong side of `from` without converting.
            if (firstDay && (clock(hour, minute, second) - startClock) * dir < 0) continue;
            const ts = toTimestamp({ year, month, day, hour, minute, second }, timeZone);
            if (ts === null || !accepts(ts)) continue;
            return matcher.match(new Date(ts)) ? ts : undefined;
          }
        }
      }
      return undefined;
    }
  } finally {
    void matcher.destroy();
  }
}

const clock = (h: number, m: number, s: number) => h * 3600 + m * 60 + s;

function shiftDay(year: number, month: number, day: number, dir: 1 | -1) {
  const d = new Date(Date.UTC(year, month - 1, day + dir));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

const utcOf = (p: LocalParts) => Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);

/**
 * The instant a wall-clock time names in a time zone; null when it does not exist there
 * (skipped by a DST change). Of a time that occurs twice, the occurrence node-cron picks.
 */
function toTimestamp(p: LocalParts, timeZone: string): number | null {
  const guess = utcOf(p);
  const offsetAt = (ts: number) => utcOf(wallClock(ts, timeZone)) - ts;
  const readsBack = (ts: number) => utcOf(wallClock(ts, timeZone)) === guess;
  const first = guess - offsetAt(guess);
  const second = guess - offsetAt(first);
  if (second === first || readsBack(first)) return first;
  return readsBack(second) ? second : null;
}
