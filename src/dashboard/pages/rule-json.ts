import { canonicalJson } from '../../store/canonical-json.js';

export { canonicalJson };

import {
  getLocation,
  type Node as JsonNode,
  type ParseError,
  ParseErrorCode,
  parseTree,
  printParseErrorCode,
} from 'jsonc-parser';
import { ACTION_NAMES } from '../../rules/actions/index.js';
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

// Nesting past this is not recorded (the server refuses far less: 64 levels).
const MAX_DEPTH = 200;

/**
 * Reads JSON text as the server will (jsonc-parser, strict: no comments, no trailing
 * comma), recording the span of every JSON path; the first syntax error in plain words.
 */
export function parseJson(text: string): ParsedJson {
  const errors: ParseError[] = [];
  const spans = new Map<string, Span>();
  try {
    const root = parseTree(text, errors, {
      disallowComments: true,
      allowTrailingComma: false,
      allowEmptyContent: false,
    });
    const first = errors[0];
    if (first) {
      const message = syntaxMessage(text, first);
      return { ok: false, error: { message, offset: first.offset, ...lineColumn(text, first.offset) } };
    }
    if (root) collectSpans(root, '$', 0, spans);
  } catch (err) {
    // Hostile nesting that exhausts the stack: JSON.parse decides, without spans.
    if (!(err instanceof RangeError)) throw err;
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown, spans };
  } catch (err) {
    // Only if the reader and the browser disagree: the browser has the last word.
    return { ok: false, error: { message: (err as Error).message, offset: 0, line: 1, column: 1 } };
  }
}

function collectSpans(node: JsonNode, path: string, depth: number, spans: Map<string, Span>): void {
  if (depth > MAX_DEPTH) return;
  spans.set(path, { start: node.offset, end: node.offset + node.length });
  if (node.type === 'object') {
    for (const property of node.children ?? []) {
      const [key, value] = property.children ?? [];
      if (key && value) collectSpans(value, propertyPath(path, String(key.value)), depth + 1, spans);
    }
  } else if (node.type === 'array') {
    (node.children ?? []).forEach((item, n) => {
      collectSpans(item, `${path}[${n}]`, depth + 1, spans);
    });
  }
}

/** A parse error as an analyst reads it (jsonc-parser gives a code and an offset). */
function syntaxMessage(text: string, e: ParseError): string {
  const at = e.offset;
  const found = describe(text, at);
  const before = text.slice(0, at).trimEnd().at(-1);
  switch (e.error) {
    case ParseErrorCode.InvalidSymbol:
      return text[at] === "'" ? 'strings take double quotes (")' : `expected a value, found ${found}`;
    case ParseErrorCode.PropertyNameExpected:
    case ParseErrorCode.ValueExpected:
      if (before === ',' && (text[at] === '}' || text[at] === ']'))
        return `a comma before ${text[at]} (JSON allows no trailing comma)`;
      return e.error === ParseErrorCode.PropertyNameExpected
        ? `expected a property name in double quotes, found ${found}`
        : `expected a value, found ${found}`;
    case ParseErrorCode.CommaExpected:
    case ParseErrorCode.CloseBraceExpected:
    case ParseErrorCode.CloseBracketExpected:
      return typeof getLocation(text, at).path.at(-1) === 'number'
        ? `expected , or ] after a list item, found ${found}`
        : `expected , or } after a property value, found ${found}`;
    case ParseErrorCode.ColonExpected:
      return `expected : after the property name, found ${found}`;
    case ParseErrorCode.UnexpectedEndOfString:
      return /[\r\n]/.test(text[at + e.length] ?? '')
        ? 'a string cannot run over a line break (write \\n)'
        : 'a string is not closed (missing ")';
    case ParseErrorCode.InvalidEscapeCharacter:
      return 'an unknown escape in a string (JSON knows \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)';
    case ParseErrorCode.InvalidUnicode:
      return 'a \\u escape needs 4 hex digits';
    case ParseErrorCode.InvalidCharacter:
      return 'a control character in a string';
    case ParseErrorCode.UnexpectedEndOfNumber:
      return `not a number: ${found}`;
    case ParseErrorCode.EndOfFileExpected:
      return `unexpected ${found} after the end of the JSON value`;
    default:
      return `${printParseErrorCode(e.error)} at ${found}`;
  }
}

function describe(text: string, at: number): string {
  const c = text[at];
  if (c === undefined) return 'the end of the text';
  if (c === '\n' || c === '\r') return 'the end of the line';
  return `‘${c}’`;
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
  // An action's key first, then its properties.
  ...ACTION_NAMES,
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
