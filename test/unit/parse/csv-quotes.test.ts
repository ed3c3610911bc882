import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../../src/parse/csv.js';
import type { RawRecord } from '../../../src/parse/types.js';
import { chunked, fixture } from './helpers.js';

async function readAll(text: string | Buffer, opts: { maxRecordSize?: number; chunk?: number } = {}) {
  const feed = await parseCsv(chunked(text, opts.chunk ?? 64 * 1024), { maxRecordSize: opts.maxRecordSize });
  const records: RawRecord[] = [];
  for await (const r of feed.records) records.push(r);
  return { header: feed.header, records, issues: feed.issues };
}

describe('CSV as spreadsheets write it', () => {
  it('reads a quote inside an unquoted cell as an ordinary character', async () => {
    const { records, issues } = await readAll(fixture('quote-inside-unquoted-cell.csv'));
    expect(issues).toEqual([]);
    expect(records.map((r) => [r.line, ...r.values])).toEqual([
      [2, 'MON-27', 'Monitor 27" 4K', '199.00', 'plain'],
      [3, 'LINK-1', '=HYPERLINK("https://shop.example/x")', '5.00', 'formula'],
      [4, 'OK-1', 'quoted, with comma', '3.00', 'Say "hi"'],
      [5, 'MID-1', 'ab"c"d', '4.00', 'two quotes mid-cell'],
      // A quoted cell whose closing quote is followed by more text keeps its quotes as text.
      [6, 'TAIL-1', '12" wide" tail', '6.00', '"24" wide'],
    ]);
  });

  // The guard that cuts over-long records follows quotes to find where records end: it must
  // agree with csv-parse on quotes inside cells, or a cut would swallow the records after it.
  const plain = fc.stringMatching(/^[a-z0-9 ,.]{0,6}$/).map((s) => s.replace(/^"/, ''));
  const inner = fc.stringMatching(/^[a-z"0-9 ]{1,6}$/).filter((s) => !s.startsWith('"'));
  const field = fc.oneof(
    plain.map((s) => s.replaceAll(',', '')),
    // Quotes inside an unquoted cell.
    fc.tuple(inner, fc.stringMatching(/^[a-z"]{0,4}$/)).map(([a, b]) => `${a}"${b}`),
    // A properly quoted cell: delimiters, doubled quotes and line breaks inside.
    fc.stringMatching(/^[a-z,\n" ]{0,8}$/).map((s) => `"${s.replaceAll('"', '""')}"`),
    // A quoted cell with text after its closing quote (`"12" wide`).
    fc
      .tuple(fc.stringMatching(/^[a-z ]{0,4}$/), fc.stringMatching(/^[a-z" ]{1,4}$/))
      .map(([a, b]) => `"${a}"${b.startsWith('"') ? `x${b}` : b}`),
  );
  const row = fc.array(field, { minLength: 2, maxLength: 2 }).map((f) => f.join(','));

  it('cuts an over-long record and keeps the records around it as csv-parse reads them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { minLength: 1, maxLength: 6 }),
        fc.array(row, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 17 }),
        async (before, after, chunk) => {
          const long = `LONG,${'x'.repeat(200)}`;
          const text = ['h1,h2', ...before, long, ...after].join('\n');
          const expected = parse(['h1,h2', ...before, ...after].join('\n'), {
            relax_quotes: true,
            skip_empty_lines: true,
          }) as string[][];
          const { records, issues } = await readAll(text, { maxRecordSize: 100, chunk });
          expect(issues.map((i) => i.code)).toEqual(['record_too_long']);
          expect(records.map((r) => r.values)).toEqual(expected.slice(1));
        },
      ),
      { numRuns: 300 },
    );
  });
});
