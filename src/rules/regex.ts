import safeRegex from 'safe-regex2';
import { RULE_LIMITS } from './limits.js';

/** A `matches` value: a pattern and its flags (`i`, `m`, `s`, `u`). */
export interface MatchPattern {
  pattern: string;
  flags: string;
}

/** Flags a pattern may carry; `g` and `y` are left out because they make `test` stateful. */
export const PATTERN_FLAGS = /^(?!.*(.).*\1)[imsu]*$/;

/**
 * Reads a `matches` value as written: a pattern string, or `{ "pattern": "…", "flags": "i" }`.
 * Undefined when it is neither.
 */
export function readMatchPattern(value: unknown): MatchPattern | undefined {
  if (typeof value === 'string') return { pattern: value, flags: '' };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const { pattern, flags } = value as { pattern?: unknown; flags?: unknown };
    if (typeof pattern === 'string' && (flags === undefined || typeof flags === 'string')) {
      return { pattern, flags: flags ?? '' };
    }
  }
  return undefined;
}

/**
 * What is wrong with a pattern, or undefined when it is usable: too long, bad flags, not a
 * regular expression, or one whose nested repetition can backtrack catastrophically
 * (checked with safe-regex2, which also refuses syntax it cannot analyse, e.g. lookbehind).
 */
export function patternProblem(p: MatchPattern): string | undefined {
  if (p.pattern.length > RULE_LIMITS.patternLength) {
    return `the pattern is longer than ${RULE_LIMITS.patternLength} characters`;
  }
  if (!PATTERN_FLAGS.test(p.flags)) return `flags "${p.flags}" must be some of i, m, s, u, each once`;
  let re: RegExp;
  try {
    re = new RegExp(p.pattern, p.flags);
  } catch (err) {
    return `not a valid regular expression: ${(err as Error).message}`;
  }
  let safe: boolean;
  try {
    safe = safeRegex(re);
  } catch {
    safe = false;
  }
  if (!safe) {
    return `the regular expression /${p.pattern}/ can backtrack catastrophically (nested repetition) or uses syntax that cannot be checked; simplify it`;
  }
  return undefined;
}

/** Compiles a checked pattern once, for every product. */
export function compilePattern(p: MatchPattern): RegExp {
  return new RegExp(p.pattern, p.flags);
}
