import { RE2JS } from 're2js';
import { RULE_LIMITS } from './limits.js';

/** A `matches` value: a pattern and its flags (`i`, `m`, `s`, `u`). */
export interface MatchPattern {
  pattern: string;
  flags: string;
}

/** A compiled pattern: whether it matches somewhere in a text. */
export interface CompiledPattern {
  test(text: string): boolean;
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
 * Compiles a pattern with RE2 (re2js, a port of Google's RE2): its time is linear in the
 * text whatever the pattern, so no pattern can freeze a preview or a build. The pattern is
 * written as in JavaScript (`(?<name>…)`, `\u{…}` are translated); `u` changes nothing,
 * RE2 being Unicode-aware. Throws on what RE2 cannot express (backreferences, lookaround).
 */
function compileRe2(p: MatchPattern): RE2JS {
  let flags = 0;
  if (p.flags.includes('i')) flags |= RE2JS.CASE_INSENSITIVE;
  if (p.flags.includes('m')) flags |= RE2JS.MULTILINE;
  if (p.flags.includes('s')) flags |= RE2JS.DOTALL;
  return RE2JS.compile(RE2JS.translateRegExp(p.pattern), flags);
}

/**
 * What is wrong with a pattern, or undefined when it is usable: too long, bad flags, or not a
 * regular expression RE2 can run in linear time (a backreference or a lookaround, which only
 * backtracking engines have, is refused here rather than run slowly later).
 */
export function patternProblem(p: MatchPattern): string | undefined {
  if (p.pattern.length > RULE_LIMITS.patternLength) {
    return `the pattern is longer than ${RULE_LIMITS.patternLength} characters`;
  }
  if (!PATTERN_FLAGS.test(p.flags)) return `flags "${p.flags}" must be some of i, m, s, u, each once`;
  try {
    compileRe2(p);
  } catch (err) {
    const reason = (err as Error).message;
    const unsupported = /\\[1-9]|\(\?[=!<][^>]?/.test(p.pattern);
    return unsupported
      ? `the regular expression /${p.pattern}/ uses a backreference or a lookaround, which cannot run in linear time: ${reason}`
      : `not a valid regular expression: ${reason}`;
  }
  return undefined;
}

/** Compiles a checked pattern once, for every product. */
export function compilePattern(p: MatchPattern): CompiledPattern {
  const re = compileRe2(p);
  return { test: (text) => re.test(text) };
}
