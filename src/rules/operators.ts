import { compilePattern, patternProblem, readMatchPattern } from './regex.js';

/** An operator's test: the fact value on the left, the condition's value on the right. */
export type OperatorTest = (factValue: unknown, value: unknown) => boolean;

/**
 * What a literal `value` must be for an operator (checked by validation):
 * `primitive` a string, number, boolean or null; `list` an array of those; `none` no value
 * needed (any is ignored).
 */
export type ValueKind = 'primitive' | 'number' | 'list' | 'string' | 'pattern' | 'none';

/** One operator: its test and what its literal value must be. */
export interface OperatorDef {
  test: OperatorTest;
  value: ValueKind;
  /** What the fact side must be for the test to pass at all (used when `swap` puts a literal there). */
  fact: 'any' | 'number' | 'array' | 'string';
}

// json-rules-engine's numberValidator: Number.parseFloat(x).toString() !== 'NaN'. So "12abc"
// and [5] pass it, and the comparison itself then follows JavaScript (`"10" < 20` is true).
/** json-rules-engine's check that a fact can be compared as a number. */
export function passesNumberCheck(a: unknown): boolean {
  if (typeof a === 'number') return !Number.isNaN(a);
  if (typeof a === 'string') return !Number.isNaN(Number.parseFloat(a));
  if (a === null || typeof a !== 'object') return false;
  try {
    return !Number.isNaN(Number.parseFloat(a as unknown as string));
  } catch {
    return false;
  }
}

function indexable(b: unknown): b is string | unknown[] {
  return Array.isArray(b) || typeof b === 'string';
}

/** Whether a value is empty for isEmpty: undefined, null, '' or []. */
export function isEmptyValue(a: unknown): boolean {
  return a === undefined || a === null || a === '' || (Array.isArray(a) && a.length === 0);
}

/**
 * json-rules-engine's built-in operators (engine-default-operators.js, 7.3), with the same
 * semantics, and feedwright's added ones. Where json-rules-engine would throw (an `in` list
 * that is neither an array nor a string), the test is false instead: evaluation never throws.
 */
export const OPERATORS: Readonly<Record<string, OperatorDef>> = {
  equal: { test: (a, b) => a === b, value: 'primitive', fact: 'any' },
  notEqual: { test: (a, b) => a !== b, value: 'primitive', fact: 'any' },
  in: { test: (a, b) => indexable(b) && b.indexOf(a as string) > -1, value: 'list', fact: 'any' },
  notIn: { test: (a, b) => indexable(b) && b.indexOf(a as string) === -1, value: 'list', fact: 'any' },
  contains: { test: (a, b) => Array.isArray(a) && a.indexOf(b) > -1, value: 'primitive', fact: 'array' },
  doesNotContain: {
    test: (a, b) => Array.isArray(a) && a.indexOf(b) === -1,
    value: 'primitive',
    fact: 'array',
  },
  lessThan: {
    test: (a, b) => passesNumberCheck(a) && (a as number) < (b as number),
    value: 'number',
    fact: 'number',
  },
  lessThanInclusive: {
    test: (a, b) => passesNumberCheck(a) && (a as number) <= (b as number),
    value: 'number',
    fact: 'number',
  },
  greaterThan: {
    test: (a, b) => passesNumberCheck(a) && (a as number) > (b as number),
    value: 'number',
    fact: 'number',
  },
  greaterThanInclusive: {
    test: (a, b) => passesNumberCheck(a) && (a as number) >= (b as number),
    value: 'number',
    fact: 'number',
  },
  startsWith: {
    test: (a, b) => typeof a === 'string' && typeof b === 'string' && a.startsWith(b),
    value: 'string',
    fact: 'string',
  },
  endsWith: {
    test: (a, b) => typeof a === 'string' && typeof b === 'string' && a.endsWith(b),
    value: 'string',
    fact: 'string',
  },
  // The pattern is compiled once per condition: see operatorTest.
  matches: { test: () => false, value: 'pattern', fact: 'string' },
  isEmpty: { test: (a) => isEmptyValue(a), value: 'none', fact: 'any' },
  isNotEmpty: { test: (a) => !isEmptyValue(a), value: 'none', fact: 'any' },
};

/** The operators json-rules-engine has built in (the others are feedwright's). */
export const ENGINE_OPERATORS = [
  'equal',
  'notEqual',
  'in',
  'notIn',
  'contains',
  'doesNotContain',
  'lessThan',
  'lessThanInclusive',
  'greaterThan',
  'greaterThanInclusive',
] as const;

/** Operators feedwright adds to json-rules-engine's. */
export const ADDED_OPERATORS = ['startsWith', 'endsWith', 'matches', 'isEmpty', 'isNotEmpty'] as const;

type Decorate = (next: OperatorTest) => OperatorTest;

/**
 * json-rules-engine's operator decorators (engine-default-operator-decorators.js):
 * `someFact:equal`, `not:in`, `swap:contains`… Applied outermost first, as its OperatorMap does.
 */
export const DECORATORS: Readonly<Record<string, Decorate>> = {
  someFact: (next) => (a, b) => Array.isArray(a) && a.some((x) => next(x, b)),
  someValue: (next) => (a, b) => Array.isArray(b) && b.some((y) => next(a, y)),
  everyFact: (next) => (a, b) => Array.isArray(a) && a.every((x) => next(x, b)),
  everyValue: (next) => (a, b) => Array.isArray(b) && b.every((y) => next(a, y)),
  swap: (next) => (a, b) => next(b, a),
  not: (next) => (a, b) => !next(a, b),
};

/** An operator name split into its decorators (outermost first) and its base operator. */
export interface ParsedOperator {
  decorators: string[];
  base: string;
}

/** Splits `not:someFact:equal`; undefined when a part is not a known decorator or operator. */
export function parseOperator(name: string): ParsedOperator | undefined {
  const parts = name.split(':');
  const base = parts.pop() as string;
  if (!Object.hasOwn(OPERATORS, base)) return undefined;
  if (!parts.every((d) => Object.hasOwn(DECORATORS, d))) return undefined;
  return { decorators: parts, base };
}

/**
 * What is wrong with an operator name and its literal value, or undefined. `value` is
 * the condition's value when it is a literal; `hasValue` false when the condition has none.
 */
export function operatorProblem(
  name: string,
  value: { literal: unknown } | { fact: true } | undefined,
): { at: 'operator' | 'value'; message: string } | undefined {
  const parsed = parseOperator(name);
  if (!parsed) return { at: 'operator', message: unknownOperatorMessage(name) };
  const { decorators, base } = parsed;
  if (base === 'matches') {
    if (decorators.some((d) => d === 'swap' || d === 'someValue' || d === 'everyValue')) {
      return { at: 'operator', message: 'matches can be decorated only with not, someFact or everyFact' };
    }
    if (value !== undefined && 'fact' in value) {
      return { at: 'value', message: 'matches needs a literal pattern, not a fact' };
    }
  }
  if (value === undefined) {
    const valueFree = decorators.every((d) => d === 'not' || d === 'someFact' || d === 'everyFact');
    return OPERATORS[base]?.value === 'none' && valueFree
      ? undefined
      : { at: 'value', message: `operator "${name}" needs a value` };
  }
  if ('fact' in value) return undefined;
  const problem = literalProblem(decorators, base, value.literal, 'value');
  return problem === undefined ? undefined : { at: 'value', message: problem };
}

function literalProblem(
  decorators: string[],
  base: string,
  literal: unknown,
  side: 'value' | 'fact',
): string | undefined {
  const [d, ...rest] = decorators;
  if (d === undefined)
    return side === 'value' ? valueKindProblem(base, literal) : factSideProblem(base, literal);
  if (d === 'not') return literalProblem(rest, base, literal, side);
  if (d === 'swap') return literalProblem(rest, base, literal, side === 'value' ? 'fact' : 'value');
  const onFactSide = d === 'someFact' || d === 'everyFact';
  if (onFactSide !== (side === 'fact')) return literalProblem(rest, base, literal, side);
  if (!Array.isArray(literal)) return `${d} needs an array here, got ${describe(literal)}`;
  for (const [i, item] of literal.entries()) {
    const p = literalProblem(rest, base, item, side);
    if (p) return `item ${i}: ${p}`;
  }
  return undefined;
}

function isPrimitive(v: unknown): boolean {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number';
}

function valueKindProblem(base: string, v: unknown): string | undefined {
  const kind = OPERATORS[base]?.value;
  switch (kind) {
    case 'primitive':
      return isPrimitive(v)
        ? undefined
        : `${base} compares with === so its value must be a string, number, boolean or null, got ${describe(v)}`;
    case 'number':
      return typeof v === 'number' ? undefined : `${base} needs a number, got ${describe(v)}`;
    case 'list': {
      if (!Array.isArray(v)) return `${base} needs a list (an array), got ${describe(v)}`;
      const bad = v.findIndex((x) => !isPrimitive(x));
      return bad >= 0 ? `item ${bad} of the list must be a string, number, boolean or null` : undefined;
    }
    case 'string':
      return typeof v === 'string' ? undefined : `${base} needs a string, got ${describe(v)}`;
    case 'pattern': {
      const p = readMatchPattern(v);
      return p ? patternProblem(p) : `matches needs a pattern string or { "pattern": "…", "flags": "i" }`;
    }
    default:
      return undefined;
  }
}

function factSideProblem(base: string, v: unknown): string | undefined {
  const kind = OPERATORS[base]?.fact;
  if (kind === 'number' && typeof v !== 'number') return `swapped ${base} needs a number, got ${describe(v)}`;
  if (kind === 'array' && !Array.isArray(v)) return `swapped ${base} needs an array, got ${describe(v)}`;
  if (kind === 'string' && typeof v !== 'string') return `swapped ${base} needs a string, got ${describe(v)}`;
  return undefined;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function unknownOperatorMessage(name: string): string {
  const parts = name.split(':');
  const base = parts.pop() as string;
  const badDecorator = parts.find((d) => !Object.hasOwn(DECORATORS, d));
  if (badDecorator !== undefined) {
    return `unknown operator decorator "${badDecorator}" in "${name}" (known: ${Object.keys(DECORATORS).join(', ')})`;
  }
  const lower = base.toLowerCase();
  const close = Object.keys(OPERATORS).find((op) => op.toLowerCase() === lower);
  return `unknown operator "${name}"${close ? ` (did you mean "${close}"?)` : ''}; known: ${Object.keys(OPERATORS).join(', ')}`;
}

/**
 * The test of a (possibly decorated) operator, ready to call: decorators applied, and for
 * `matches` the pattern compiled once. `literal` is the condition's literal value (needed
 * by `matches` only).
 */
export function operatorTest(name: string, literal?: unknown): OperatorTest {
  const parsed = parseOperator(name);
  if (!parsed) throw new Error(`unknown operator "${name}"`);
  let test: OperatorTest;
  if (parsed.base === 'matches') {
    const p = readMatchPattern(literal);
    if (!p) throw new Error('matches needs a literal pattern');
    const re = compilePattern(p);
    test = (a) => typeof a === 'string' && re.test(a);
  } else {
    test = (OPERATORS[parsed.base] as OperatorDef).test;
  }
  for (let i = parsed.decorators.length - 1; i >= 0; i--) {
    test = (DECORATORS[parsed.decorators[i] as string] as Decorate)(test);
  }
  const guarded = test;
  // A comparison can still throw on values JSON never holds (an object without prototype
  // turned into a number); a condition that cannot be evaluated is false, never an error.
  return (a, b) => {
    try {
      return guarded(a, b);
    } catch {
      return false;
    }
  };
}
