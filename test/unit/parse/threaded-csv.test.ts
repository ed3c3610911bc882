import { PassThrough, Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FeedParseError, parseCsv } from '../../../src/parse/csv.js';
import { parseCsvThreaded } from '../../../src/parse/threaded-csv.js';
import type { ParsedFeed, RawRecord, RowIssue } from '../../../src/parse/types.js';
import { chunked } from './helpers.js';

// The CSV parser on a worker thread (large imports): what it gives must be what parseCsv
// gives on the same bytes, whatever the content and however the bytes arrive.

async function readAll(
  feed: ParsedFeed,
): Promise<{ header: string[]; records: RawRecord[]; issues: RowIssue[] }> {
  const records: RawRecord[] = [];
  for await (const r of feed.records) records.push(r);
  return { header: feed.header, records, issues: [...feed.issues].sort((a, b) => a.line - b.line) };
}

const cell = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom('', '"', '""', 'a,b', 'line\nbreak', 'crlf\r\nx', ' spaced ', '=1+2', '😀'),
);
const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

describe('threaded CSV parsing', () => {
  it('gives the header, records, lines and issues parseCsv gives, for any CSV and chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(cell, { minLength: 3, maxLength: 3 }), { minLength: 0, maxLength: 2500 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 70_000 }),
        async (rows, bad, chunk) => {
          const lines = ['sku,title,price', ...rows.map((r) => r.map(quote).join(','))];
          // A few records with a wrong number of fields: handed on as they are (the import
          // reports them, knowing where their sku is), and the rest goes on.
          let inserted = 0;
          for (let i = 0; i < bad && lines.length > 1; i++, inserted++)
            lines.splice(1 + ((i * 7919) % (lines.length - 1)), 0, 'x,y');
          const text = `${lines.join('\r\n')}\r\n`;
          const expected = await readAll(await parseCsv(chunked(text, chunk), { maxRecordSize: 4096 }));
          const threaded = await readAll(
            await parseCsvThreaded(chunked(text, chunk), { maxRecordSize: 4096 }),
          );
          expect(threaded).toEqual(expected);
          expect(threaded.records.length).toBe(rows.length + inserted);
          expect(threaded.records.filter((r) => r.values.length === 2)).toHaveLength(inserted);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('reads a large feed whole, with records past many batches in order', async () => {
    const n = 60_000;
    const text = ['sku,quantity', ...Array.from({ length: n }, (_, i) => `S-${i},${i % 9}`)].join('\n');
    const feed = await parseCsvThreaded(chunked(text, 8192), {});
    let i = 0;
    for await (const r of feed.records) {
      expect(r.values[0]).toBe(`S-${i}`);
      expect(r.line).toBe(i + 2);
      i++;
    }
    expect(i).toBe(n);
  });

  it('throws a parse error with its line, as parseCsv does', async () => {
    const text = 'sku,title\nA,"open\nB,x\n';
    const inThread = await readAll(await parseCsv(chunked(text), {})).catch((e: unknown) => e);
    const threaded = await readAll(await parseCsvThreaded(chunked(text), {})).catch((e: unknown) => e);
    // Either both read it (the unclosed quote as an issue) or both throw the same.
    if (inThread instanceof Error) {
      expect(threaded).toBeInstanceOf(FeedParseError);
      expect((threaded as FeedParseError).message).toBe(inThread.message);
      expect((threaded as FeedParseError).line).toBe((inThread as FeedParseError).line);
    } else expect(threaded).toEqual(inThread);
    // A header longer than the limit: refused before any record, with its line.
    const long = `${'h'.repeat(200)},b\nx,y\n`;
    const refused = await parseCsvThreaded(chunked(long), { maxRecordSize: 100 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(FeedParseError);
    expect((refused as FeedParseError).message).toMatch(/header is longer than 100 bytes/);
  });

  it("throws the input's own error when the bytes stop with one (a cut upload)", async () => {
    const input = new PassThrough();
    const cut = Object.assign(new Error('the upload was cut'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    input.write('sku,title\n');
    for (let i = 0; i < 3000; i++) input.write(`S-${i},Thing ${i}\n`);
    const feed = await parseCsvThreaded(input, {});
    setTimeout(() => input.destroy(cut), 50);
    const seen: string[] = [];
    const err = await (async () => {
      for await (const r of feed.records) seen.push(r.values[0] as string);
    })().catch((e: unknown) => e);
    expect(err).toBe(cut);
    expect(seen.length).toBeLessThanOrEqual(3000);
  });

  it('gives the records the worker parsed before the input failed, then its error', async () => {
    const input = new PassThrough();
    const cut = new Error('the upload was cut');
    input.write('sku,title\n');
    for (let i = 0; i < 3000; i++) input.write(`S-${i},Thing ${i}\n`);
    const feed = await parseCsvThreaded(input, {});
    const records = feed.records[Symbol.asyncIterator]();
    const seen: string[] = [((await records.next()).value as RawRecord).values[0] as string];
    // The worker has parsed and sent two whole batches (the last record waits for what follows
    // it) before the input fails: both are given, not only the one being read.
    await new Promise((r) => setTimeout(r, 300));
    input.destroy(cut);
    await new Promise((r) => setTimeout(r, 100));
    const err = await (async () => {
      for (let r = await records.next(); !r.done; r = await records.next())
        seen.push(r.value.values[0] as string);
    })().catch((e: unknown) => e);
    expect(err).toBe(cut);
    expect(seen.length).toBeGreaterThanOrEqual(2000);
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => `S-${i}`));
  });

  it('stops the worker and the input when the reader stops early', async () => {
    const text = ['sku', ...Array.from({ length: 50_000 }, (_, i) => `S-${i}`)].join('\n');
    const input = chunked(text, 4096);
    const feed = await parseCsvThreaded(input, {});
    let n = 0;
    for await (const _ of feed.records) if (++n === 10) break;
    expect(n).toBe(10);
    expect(input.destroyed).toBe(true);
  });

  it('stops the worker and the input on close(), when the records are never read', async () => {
    const text = ['sku', ...Array.from({ length: 50_000 }, (_, i) => `S-${i}`)].join('\n');
    const input = chunked(text, 4096);
    const feed = await parseCsvThreaded(input, {});
    await feed.close?.();
    expect(input.destroyed).toBe(true);
  });

  it('gives an empty feed for empty bytes', async () => {
    const feed = await parseCsvThreaded(Readable.from([], { objectMode: false }), {});
    expect(await readAll(feed)).toEqual({ header: [], records: [], issues: [] });
  });
});
