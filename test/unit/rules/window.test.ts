// biome-ignore-all lint/suspicious/noThenProperty: a rule's actions are its "then" (SPEC §2), not a thenable.
import { describe, expect, it } from 'vitest';
import { compileRuleSets } from '../../../src/rules/engine.js';
import type { RuleSet, RuleWindow } from '../../../src/rules/types.js';
import {
  nextBoundary,
  parseLocalTime,
  resolveWindow,
  zonedTimeToInstant,
  zoneOffset,
} from '../../../src/rules/window.js';
import { product } from './samples.js';

// Europe/Paris in 2026: clocks go 02:00 → 03:00 on 29 March (01:00Z) and 03:00 → 02:00 on
// 25 October (01:00Z).

function instant(local: string, zone: string): string {
  return new Date(
    zonedTimeToInstant(parseLocalTime(local) as NonNullable<ReturnType<typeof parseLocalTime>>, zone),
  ).toISOString();
}

function windowed(window: RuleWindow): RuleSet {
  return {
    id: 'windowed',
    rules: [{ id: 'zero', when: { all: [] }, then: [{ set: 'quantity', value: 0 }], window }],
  };
}

function openAt(window: RuleWindow, iso: string): boolean {
  const result = compileRuleSets([windowed(window)]).apply(product({ quantity: 5 }), new Date(iso));
  return result.product.fields.quantity === 0;
}

describe('wall-clock times in a time zone', () => {
  it('follows the zone offset on either side of a change', () => {
    expect(zoneOffset('Europe/Paris', Date.parse('2026-03-29T00:59:59Z'))).toBe(3_600_000);
    expect(zoneOffset('Europe/Paris', Date.parse('2026-03-29T01:00:00Z'))).toBe(7_200_000);
    expect(instant('2026-03-29T01:59:59', 'Europe/Paris')).toBe('2026-03-29T00:59:59.000Z');
    expect(instant('2026-03-29T03:00:00', 'Europe/Paris')).toBe('2026-03-29T01:00:00.000Z');
    expect(instant('2026-07-01T12:00', 'Europe/Paris')).toBe('2026-07-01T10:00:00.000Z');
    expect(instant('2026-12-01', 'America/New_York')).toBe('2026-12-01T05:00:00.000Z');
    expect(instant('2026-12-01T00:00:00', 'UTC')).toBe('2026-12-01T00:00:00.000Z');
  });

  it('moves a time skipped in spring forward by the gap (02:30 → 03:30 CEST)', () => {
    expect(instant('2026-03-29T02:00:00', 'Europe/Paris')).toBe('2026-03-29T01:00:00.000Z');
    expect(instant('2026-03-29T02:30:00', 'Europe/Paris')).toBe('2026-03-29T01:30:00.000Z');
    expect(instant('2026-03-08T02:30:00', 'America/New_York')).toBe('2026-03-08T07:30:00.000Z');
  });

  it('takes the first of two repeated times in autumn (02:30 CEST, not CET)', () => {
    expect(instant('2026-10-25T02:30:00', 'Europe/Paris')).toBe('2026-10-25T00:30:00.000Z');
    expect(instant('2026-10-25T03:00:00', 'Europe/Paris')).toBe('2026-10-25T02:00:00.000Z');
    expect(instant('2026-10-25T01:59:59', 'Europe/Paris')).toBe('2026-10-24T23:59:59.000Z');
    expect(instant('2026-11-01T01:30:00', 'America/New_York')).toBe('2026-11-01T05:30:00.000Z');
  });
});

describe('a rule window across a daylight-saving change', () => {
  it('spring: a window of 23 real hours opens and closes at the right instants', () => {
    const w = { start: '2026-03-28T12:00:00', end: '2026-03-29T12:00:00', timezone: 'Europe/Paris' };
    expect(resolveWindow(w)).toMatchObject({
      start: Date.parse('2026-03-28T11:00:00Z'),
      end: Date.parse('2026-03-29T10:00:00Z'),
    });
    expect(openAt(w, '2026-03-28T10:59:59.999Z')).toBe(false);
    expect(openAt(w, '2026-03-28T11:00:00Z')).toBe(true);
    expect(openAt(w, '2026-03-29T01:30:00Z')).toBe(true);
    expect(openAt(w, '2026-03-29T09:59:59.999Z')).toBe(true);
    expect(openAt(w, '2026-03-29T10:00:00Z')).toBe(false);
  });

  it('spring: a window starting in the gap opens when clocks show 03:30', () => {
    const w = { start: '2026-03-29T02:30:00', timezone: 'Europe/Paris' };
    expect(openAt(w, '2026-03-29T01:29:59Z')).toBe(false);
    expect(openAt(w, '2026-03-29T01:30:00Z')).toBe(true);
  });

  it('autumn: a window of 25 real hours; one ending at an ambiguous 02:30 closes at the first', () => {
    const w = { start: '2026-10-24T12:00:00', end: '2026-10-25T12:00:00', timezone: 'Europe/Paris' };
    expect(resolveWindow(w).end - resolveWindow(w).start).toBe(25 * 3_600_000);
    expect(openAt(w, '2026-10-24T09:59:59Z')).toBe(false);
    expect(openAt(w, '2026-10-24T10:00:00Z')).toBe(true);
    expect(openAt(w, '2026-10-25T10:59:59.999Z')).toBe(true);
    expect(openAt(w, '2026-10-25T11:00:00Z')).toBe(false);

    const ambiguous = { start: '2026-10-25T00:00:00', end: '2026-10-25T02:30:00', timezone: 'Europe/Paris' };
    expect(openAt(ambiguous, '2026-10-25T00:29:59Z')).toBe(true);
    expect(openAt(ambiguous, '2026-10-25T00:30:00Z')).toBe(false);
  });

  it('defaults to UTC and may be open on one side', () => {
    expect(openAt({ end: '2026-01-01' }, '2025-12-31T23:59:59Z')).toBe(true);
    expect(openAt({ end: '2026-01-01' }, '2026-01-01T00:00:00Z')).toBe(false);
    expect(openAt({ start: '2026-01-01T08:00' }, '2026-01-01T07:59:59Z')).toBe(false);
    expect(openAt({ start: '2026-01-01T08:00' }, '2099-01-01T00:00:00Z')).toBe(true);
  });
});

describe('nextBoundary', () => {
  const sets: RuleSet[] = [
    windowed({ start: '2026-03-28T12:00:00', end: '2026-03-29T12:00:00', timezone: 'Europe/Paris' }),
    windowed({ start: '2026-10-25T02:30:00', timezone: 'Europe/Paris' }),
    { id: 'none', rules: [{ id: 'always', when: { all: [] }, then: [{ keepActive: true }] }] },
  ];

  it('gives the next opening or closing strictly after the instant, across rule sets', () => {
    const at = (iso: string) => nextBoundary(sets, new Date(iso))?.toISOString() ?? null;
    expect(at('2026-01-01T00:00:00Z')).toBe('2026-03-28T11:00:00.000Z');
    expect(at('2026-03-28T11:00:00Z')).toBe('2026-03-29T10:00:00.000Z');
    expect(at('2026-03-29T10:00:00Z')).toBe('2026-10-25T00:30:00.000Z');
    expect(at('2026-10-25T00:30:00Z')).toBeNull();
    expect(compileRuleSets(sets).nextBoundary(new Date('2026-03-28T12:00:00Z'))?.toISOString()).toBe(
      '2026-03-29T10:00:00.000Z',
    );
    expect(nextBoundary(sets[2] as RuleSet, new Date())).toBeNull();
  });
});
