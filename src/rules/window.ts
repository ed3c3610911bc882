import { isTimeZone, type WallClock, wallClock } from '../time/zone.js';
import type { RuleSet, RuleWindow } from './types.js';

/** A window bound as written: a local date-time without offset, or a date (midnight). */
export const LOCAL_TIME_PATTERN = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/** An IANA zone name as written (`Europe/Paris`, `UTC`, `Etc/GMT+1`); offsets are refused. */
export const TIME_ZONE_PATTERN = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

/** The zone of a window that names none. */
export const DEFAULT_TIME_ZONE = 'UTC';

const DAY = 86_400_000;

/** Reads `2026-12-01T00:00:00` (or `2026-12-01`); undefined when it is not a real date-time. */
export function parseLocalTime(text: string): WallClock | undefined {
  const m = LOCAL_TIME_PATTERN.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m
    .slice(1)
    .map((x) => (x === undefined ? 0 : Number(x))) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59 || day < 1) return undefined;
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (probe.getUTCDate() !== day || probe.getUTCMonth() !== month - 1) return undefined;
  return { year, month, day, hour, minute, second };
}

/** Whether the runtime knows an IANA zone by this name. */
export function isValidTimeZone(timeZone: string): boolean {
  return TIME_ZONE_PATTERN.test(timeZone) && isTimeZone(timeZone);
}

/** The zone's offset from UTC at instant `t`, in milliseconds (Paris in summer: +7,200,000). */
export function zoneOffset(timeZone: string, t: number): number {
  const w = wallClock(t, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(t / 1000) * 1000;
}

/**
 * The instant (epoch ms) at which clocks in `timeZone` show `local`. Daylight-saving
 * changes are resolved as RFC 5545 and Temporal's "compatible" disambiguation do:
 * - a time skipped by a spring change (02:30 in Paris on 2026-03-29) does not exist; it is
 *   read with the offset in force before the change, i.e. moved forward by the gap
 *   (02:30 → 03:30 CEST, 01:30Z);
 * - a time repeated by an autumn change (02:30 in Paris on 2026-10-25) is its first
 *   occurrence, still in summer time (00:30Z, not 01:30Z).
 */
export function zonedTimeToInstant(local: WallClock, timeZone: string): number {
  const wall = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second);
  const before = zoneOffset(timeZone, wall - DAY);
  const after = zoneOffset(timeZone, wall + DAY);
  const candidates = [wall - before, wall - after].filter((t) => zoneOffset(timeZone, t) === wall - t);
  if (candidates.length > 0) return Math.min(...candidates);
  return wall - before;
}

/** A window with its bounds as instants; an open side is ±Infinity. */
export interface ResolvedWindow {
  start: number;
  end: number;
  timezone: string;
}

/** Resolves a validated window to instants. */
export function resolveWindow(window: RuleWindow): ResolvedWindow {
  const timezone = window.timezone ?? DEFAULT_TIME_ZONE;
  const instant = (text: string | undefined, open: number) => {
    if (text === undefined) return open;
    const local = parseLocalTime(text);
    if (!local) throw new Error(`"${text}" is not a local date-time`);
    return zonedTimeToInstant(local, timezone);
  };
  return {
    start: instant(window.start, Number.NEGATIVE_INFINITY),
    end: instant(window.end, Number.POSITIVE_INFINITY),
    timezone,
  };
}

/** Whether instant `t` (epoch ms) is inside `[start, end)`. */
export function isWindowOpen(window: ResolvedWindow, t: number): boolean {
  return t >= window.start && t < window.end;
}

/**
 * The first instant strictly after `at` at which a window of these rule sets opens or
 * closes, or null when none will: when to rebuild the feeds that use them.
 */
export function nextBoundary(ruleSets: RuleSet | readonly RuleSet[], at: Date): Date | null {
  const sets = Array.isArray(ruleSets) ? ruleSets : [ruleSets as RuleSet];
  const windows: ResolvedWindow[] = [];
  for (const set of sets)
    for (const rule of set.rules) if (rule.window) windows.push(resolveWindow(rule.window));
  return nextWindowBoundary(windows, at.getTime());
}

/** The first finite window bound strictly after `t`, or null. */
export function nextWindowBoundary(windows: readonly ResolvedWindow[], t: number): Date | null {
  let next = Number.POSITIVE_INFINITY;
  for (const w of windows) {
    if (w.start > t && w.start < next) next = w.start;
    if (w.end > t && w.end < next) next = w.end;
  }
  return Number.isFinite(next) ? new Date(next) : null;
}
