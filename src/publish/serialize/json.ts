import type { FeedValue } from '../../model/channel.js';
import type { FeedSerializer } from './serializer.js';

/**
 * JSON feeds: an array of objects keyed by column name, in column order, one item per line
 * (`[\n{…},\n{…}\n]\n`). Values keep their JSON types; null and missing are `null`. Any text
 * is valid: JSON.stringify escapes quotes, controls and lone surrogates (`\ud800`).
 */
export function createJsonSerializer(columns: readonly string[]): FeedSerializer {
  // Keys are written as text, not through an object: a column named `__proto__` stays a key.
  const keys = columns.map((c, i) => `${i === 0 ? '{' : ','}${JSON.stringify(c)}:`);
  const n = keys.length;
  let started = false;
  const rowsJson = (rows: readonly (readonly FeedValue[])[], first: boolean): string => {
    let out = '';
    let before = first ? '\n' : ',\n';
    for (const row of rows) {
      out += before;
      before = ',\n';
      if (n === 0) out += '{';
      for (let i = 0; i < n; i++) out += (keys[i] as string) + valueJson(row[i]);
      out += '}';
    }
    return out;
  };
  return {
    contentType: 'application/json; charset=utf-8',
    head: () => '[',
    items(rows) {
      const out = rowsJson(rows, !started);
      if (rows.length > 0) started = true;
      return out;
    },
    rows: rowsJson,
    tail: () => '\n]\n',
  };
}

function valueJson(v: FeedValue | undefined): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  return JSON.stringify(v);
}
