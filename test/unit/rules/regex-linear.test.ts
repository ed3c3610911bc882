import { describe, expect, it } from 'vitest';
import { compileRuleSets } from '../../../src/rules/engine.js';
import { compilePattern } from '../../../src/rules/regex.js';
import type { RuleSet } from '../../../src/rules/types.js';
import { validateRuleSet } from '../../../src/rules/validate.js';
import { product } from './samples.js';

// No pattern can freeze the process (issue 16, point 1): `matches` runs on RE2, in time linear
// in the text. Each pattern below takes a backtracking engine (V8's) seconds on these titles,
// doubling with every character.
const PATTERNS = ['^(\\w|\\d)+$', '^(a|a)*$', '^([a-z]|[a-z0-9])+$', '^(a+)+$', '^(\\d+)*x$'];
const TITLE = (c: string) => `${c.repeat(25)}!`;
/** Far above what RE2 needs here (well under a millisecond), far below what backtracking needs. */
const BOUND_MS = 250;

function timed(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

describe('user patterns run in linear time', () => {
  it('evaluates patterns that backtrack catastrophically within a bound', () => {
    for (const pattern of PATTERNS) {
      const re = compilePattern({ pattern, flags: '' });
      for (const text of [TITLE('1'), TITLE('a'), `${'a'.repeat(5000)}!`]) {
        let matched: boolean | undefined;
        const ms = timed(() => {
          matched = re.test(text);
        });
        expect(ms, `${pattern} on ${text.length} characters`).toBeLessThan(BOUND_MS);
        expect(matched).toBe(false);
      }
    }
    // And they still match what they should.
    expect(compilePattern({ pattern: '^(\\w|\\d)+$', flags: '' }).test('abc123')).toBe(true);
    expect(compilePattern({ pattern: 'TSHIRT', flags: 'i' }).test('Blue tshirt')).toBe(true);
    expect(compilePattern({ pattern: '^b', flags: 'm' }).test('a\nb')).toBe(true);
    expect(compilePattern({ pattern: 'a.b', flags: 's' }).test('a\nb')).toBe(true);
    expect(compilePattern({ pattern: '(?<size>\\d+) ml', flags: 'u' }).test('Bottle 500 ml')).toBe(true);
  });

  it('accepts such a pattern in a rule set, and the rules apply it within the bound', () => {
    const set = {
      id: 'greedy',
      rules: [
        {
          id: 'digits-only',
          when: { all: [{ fact: 'title', operator: 'matches', value: '^(\\w|\\d)+$' }] },
          then: [{ exclude: true }],
        },
      ],
    };
    expect(validateRuleSet(set)).toEqual([]);
    const rules = compileRuleSets([set as unknown as RuleSet]);
    const p = product({ title: TITLE('2') });
    let included: boolean | undefined;
    const ms = timed(() => {
      included = rules.apply(p, new Date()).included;
    });
    expect(ms).toBeLessThan(BOUND_MS);
    expect(included).toBe(true);
    expect(rules.apply(product({ title: 'ABC123' }), new Date()).included).toBe(false);
  });
});
