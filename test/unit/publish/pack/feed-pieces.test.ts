import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32Combine } from '../../../../src/publish/pack/crc.js';
import { feedChecksum } from '../../../../src/publish/pack/pieces.js';
import { PieceWriter } from '../../../../src/publish/pack/writer.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-pieces-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const filesIn = (name: string) => ({
  feed: path.join(dir, `${name}.txt`),
  gzip: path.join(dir, `${name}.txt.gz`),
  items: path.join(dir, `${name}.items`),
  index: path.join(dir, `${name}.index`),
});

async function writePieces(name: string, texts: readonly string[]) {
  const files = filesIn(name);
  const writer = new PieceWriter(files, { publication: 1, format: 'csv', whole: true });
  await writer.open();
  for (const [i, text] of texts.entries()) {
    const kind = i === 0 ? 'head' : i === texts.length - 1 ? 'tail' : 'segment';
    await writer.add({
      kind,
      last: `s${i}`,
      products: 0,
      items: 0,
      exclusions: [],
      text,
      itemLines: `s${i}\th\n`,
    });
  }
  return { files, written: await writer.finish() };
}

describe('feed pieces', () => {
  it('combines CRC-32s as zlib computes them over the whole', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 }), (a, b) => {
        const whole = zlib.crc32(Buffer.concat([a, b]));
        expect(crc32Combine(zlib.crc32(a), zlib.crc32(b), b.length)).toBe(whole);
      }),
    );
    // Lengths past 32 bits, as a large feed's would be: the same as combining twice.
    const x = 0x12345678;
    const y = 0x9abcdef0;
    expect(crc32Combine(x, y, 2 ** 33)).toBe(crc32Combine(crc32Combine(x, 0, 2 ** 32), y, 2 ** 32));
  });

  it('writes one gzip member that zlib and gzip(1) decode to the feed, whatever its pieces', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 400 }), { minLength: 2, maxLength: 8 }),
        async (texts) => {
          const { files, written } = await writePieces('p', texts);
          const feed = fs.readFileSync(files.feed);
          const gz = fs.readFileSync(files.gzip);
          expect(feed.toString('utf8')).toBe(texts.join(''));
          expect(zlib.gunzipSync(gz).equals(feed)).toBe(true);
          expect(written).toMatchObject({ bytes: feed.length, gzipBytes: gz.length });
          expect(feedChecksum(written.index.pieces)).toBe(written.sha256);
        },
      ),
      { numRuns: 40 },
    );
    const { files } = await writePieces('cli', ['head\n', 'a,b\r\n'.repeat(5000), '', 'tail\n']);
    const out = execFileSync('gzip', ['-dc', files.gzip]);
    expect(out.equals(fs.readFileSync(files.feed))).toBe(true);
  });

  it('gives the same checksum to the same pieces, and another to other content', async () => {
    const a = await writePieces('a', ['[', '\n{"x":1}', '\n]\n']);
    const b = await writePieces('b', ['[', '\n{"x":1}', '\n]\n']);
    const c = await writePieces('c', ['[', '\n{"x":2}', '\n]\n']);
    expect(a.written.sha256).toBe(b.written.sha256);
    expect(c.written.sha256).not.toBe(a.written.sha256);
    expect(fs.readFileSync(a.files.gzip).equals(fs.readFileSync(b.files.gzip))).toBe(true);
  });
});
