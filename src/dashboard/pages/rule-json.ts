import { canonicalJson } from '../../store/canonical-json.js';

export { canonicalJson };

import { propertyPath } from '../../rules/problems.js';

// The rule editor's JSON: where each JSON path sits in the text (so a problem at
// `$.rules[0].when.all[1].value` can point at its line and select it), where a syntax error
// is (line and column, the same in every browser: their JSON.parse messages differ), and a
// readable key order for what the store gives back (jsonb sorts keys by length).

/** A value's place in the text: [start, end) offsets. */
export interface Span {
  start: number;
  end: number;
}

/** A JSON syntax error, where it is. */
export interface JsonSyntaxError {
  message: string;
  offset: number;
  line: number;
  column: number;
}

/** The text parsed: the value and where every path is, or the first syntax error. */
export type ParsedJson =
  | { ok: true; value: unknown; spans: Map<string, Span> }
  | { ok: false; error: JsonSyntaxError };

/** 1-based line and column of an offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

class SyntaxFault extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

// Nesting past this is not recorded (the server refuses far less: 64 levels).
const MAX_DEPTH = 200;

/** Reads JSON text as the server will, recording the span of every JSON path. */
export function parseJson(text: string): ParsedJson {
  const spans = new Map<string, Span>();
  let i = 0;
  const fail = (message: string, at = i): never => {
    throw new SyntaxFault(message, at);
  };
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t'))
      i++;
  };
  const describe = (at: number) => {
    const c = text[at];
    if (c === undefined) return 'the end of the text';
    if (c === '\n' || c === '\r') return 'the end of the line';
    return `‘${c}’`;
  };
  const string = (): string => {
    const start = i;
    i++;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return JSON.parse(text.slice(start, i)) as string;
      }
      if (c === 92) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('a \\u escape needs 4 hex digits', i);
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail(`unknown escape \\${e ?? ''}`, i);
      } else if (c < 32) {
        fail(
          c === 10 ? 'a string cannot run over a line break (write \\n)' : 'a control character in a string',
          i,
        );
      } else i++;
    }
    return fail('a string is not closed (missing ")', start);
  };
  const value = (path: string, depth: number): void => {
    ws();
    const start = i;
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') i++;
      else {
        for (;;) {
          ws();
          if (text[i] !== '"') {
            fail(
              text[i] === '}'
                ? 'a comma before } (JSON allows no trailing comma)'
                : `expected a property name in double quotes, found ${describe(i)}`,
            );
          }
          const key = string();
          ws();
          if (text[i] !== ':') fail(`expected : after the property name "${key}", found ${describe(i)}`);
          i++;
          value(propertyPath(path, key), depth + 1);
          ws();
          if (text[i] === ',') {
            i++;
            continue;
          }
          if (text[i] === '}') {
            i++;
            break;
          }
          fail(`expected , or } after a property value, found ${describe(i)}`);
        }
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') i++;
      else {
        for (let n = 0; ; n++) {
          ws();
          if (text[i] === ']') fail('a comma before ] (JSON allows no trailing comma)');
          value(`${path}[${n}]`, depth + 1);
          ws();
          if (text[i] === ',') {
            i++;
            continue;
          }
          if (text[i] === ']') {
            i++;
            break;
          }
          fail(`expected , or ] after a list item, found ${describe(i)}`);
        }
      }
    } else if (c === '"') string();
    else if (c !== undefined && /[-0-9]/.test(c)) {
      const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
      if (!m) fail(`not a number: ${describe(i)}`);
      i += (m as RegExpExecArray)[0].length;
    } else if (text.startsWith('true', i)) i += 4;
    else if (text.startsWith('false', i)) i += 5;
    else if (text.startsWith('null', i)) i += 4;
    else if (c === "'") fail('strings take double quotes (")');
    else fail(`expected a value, found ${describe(i)}`);
    if (depth <= MAX_DEPTH) spans.set(path, { start, end: i });
  };
  try {
    value('$', 0);
    ws();
    if (i < text.length) fail(`unexpected ${describe(i)} after the end of the JSON value`);
  } catch (err) {
    if (err instanceof SyntaxFault) {
      return {
        ok: false,
        error: { message: err.message, offset: err.offset, ...lineColumn(text, err.offset) },
      };
    }
    // Hostile nesting that exhausts the stack: fall through to JSON.parse.
    if (!(err instanceof RangeError)) throw err;
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown, spans };
  } catch (err) {
    // Only if this reader and the browser's disagree: the browser has the last word.
    return { ok: false, error: { message: (err as Error).message, offset: 0, line: 1, column: 1 } };
  }
}

/**
 * The span of a path, or of its nearest parent that is in the text (a missing required
 * property points at the object that lacks it).
 */
export function spanOf(spans: Map<string, Span>, path: string): Span | undefined {
  let p = path;
  for (;;) {
    const s = spans.get(p);
    if (s) return s;
    const parent = p.replace(/(\.[A-Za-z_$][A-Za-z0-9_$]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])$/, '');
    if (parent === p || parent === '') return undefined;
    p = parent;
  }
}

// The order people write rule sets in; keys not listed keep their order, after these.
const KEY_ORDER = [
  '$schema',
  'id',
  'description',
  'fact',
  'operator',
  'set',
  'percent',
  'clamp',
  'add',
  'multiply',
  'exclude',
  'keepActive',
  'value',
  'template',
  'from',
  'pattern',
  'flags',
  'rounding',
  'decimals',
  'min',
  'max',
  'round',
  'reason',
  'path',
  'name',
  'all',
  'any',
  'not',
  'when',
  'then',
  'window',
  'start',
  'end',
  'timezone',
  'rules',
];
const RANK = new Map(KEY_ORDER.map((k, n) => [k, n]));

/** The same value with object keys in the order people write rule sets in. */
export function readableOrder(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(readableOrder);
  if (v === null || typeof v !== 'object') return v;
  const entries = Object.entries(v as Record<string, unknown>);
  entries.sort(([a], [b]) => (RANK.get(a) ?? KEY_ORDER.length) - (RANK.get(b) ?? KEY_ORDER.length));
  return Object.fromEntries(entries.map(([k, x]) => [k, readableOrder(x)]));
}

/** A rule set as the editor shows it: readable key order, two-space indent. */
export function toEditorText(v: unknown): string {
  return `${JSON.stringify(readableOrder(v), null, 2)}\n`;
}

/** One leaf difference between two values: its path (relative) and both sides. */
export interface LeafChange {
  path: string;
  before: unknown;
  after: unknown;
}

/** The leaf-level differences between two values (`when.all[0].value: 3 → 5`). */
export function leafChanges(
  before: unknown,
  after: unknown,
  path = '$',
  out: LeafChange[] = [],
): LeafChange[] {
  const isObj = (x: unknown): x is Record<string, unknown> =>
    x !== null && typeof x === 'object' && !Array.isArray(x);
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    for (const k of keys) leafChanges(before[k], after[k], propertyPath(path, k), out);
  } else if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    before.forEach((b, n) => {
      leafChanges(b, after[n], `${path}[${n}]`, out);
    });
  } else if (
    canonicalJson(before ?? null) !== canonicalJson(after ?? null) ||
    (before === undefined) !== (after === undefined)
  ) {
    out.push({ path, before, after });
  }
  return out;
}
