import { gzipSync } from 'node:zlib';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { FeedParseError } from '../../../src/parse/csv.js';
import {
  type DecodeOptions,
  decodeFeed,
  detectEncoding,
  normalizeEncoding,
} from '../../../src/parse/decode.js';
import { bytesOf, chunked, fixture } from './helpers.js';

async function decode(data: Buffer, options: DecodeOptions = {}, chunk = 64 * 1024) {
  const decoded = await decodeFeed(chunked(data, chunk), options);
  const text = (await bytesOf(decoded.stream)).toString('utf8');
  return { ...decoded, text };
}

async function decodeError(
  data: Buffer,
  options: DecodeOptions = {},
  chunk = 64 * 1024,
): Promise<FeedParseError> {
  try {
    await decode(data, options, chunk);
  } catch (err) {
    expect(err).toBeInstanceOf(FeedParseError);
    return err as FeedParseError;
  }
  throw new Error('expected a FeedParseError');
}

/** CSV text that does not compress to nothing, so a cut in the gzip stream cuts data. */
function varied(rows: number): string {
  return `sku,qty\n${Array.from({ length: rows }, (_, i) => `S-${i},${(i * 7919) % 10007}`).join('\n')}\n`;
}

describe('decodeFeed: gzip', () => {
  it('detects gzip by its magic bytes and decompresses on the fly', async () => {
    const csv = varied(20_000);
    const { text, gzip, encoding } = await decode(gzipSync(csv), {}, 1000);
    expect(gzip).toBe(true);
    expect(encoding).toBe('utf-8');
    expect(text).toBe(csv);
  });

  it('reads a gzip feed in another encoding', async () => {
    const { text, encoding } = await decode(gzipSync(fixture('windows1252.csv')));
    expect(encoding).toBe('windows-1252');
    expect(text).toContain('L’œuf “bio” … 6 pièces,3 €');
  });

  it('stops a gzip bomb at maxDecompressedBytes, in bounded time', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 'a'));
    expect(bomb.length).toBeLessThan(200 * 1024);
    const started = Date.now();
    const err = await decodeError(bomb, { maxDecompressedBytes: 4 * 1024 * 1024 });
    expect(err.message).toBe(
      'gzip: the feed decompresses to more than 4194304 bytes, the limit (a "gzip bomb"?)',
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses a cut or corrupt gzip stream', async () => {
    const full = gzipSync(varied(50_000));
    expect((await decodeError(full.subarray(0, full.length >> 1))).message).toBe(
      'gzip: the compressed feed is cut short (an incomplete download?)',
    );
    const corrupt = Buffer.from(full);
    corrupt.fill(0xff, 100, 200);
    expect((await decodeError(corrupt)).message).toMatch(/^gzip: the compressed feed is corrupt/);
  });
});

describe('decodeFeed: encodings', () => {
  it('reads ISO-8859-1 without being told, and when told', async () => {
    const expected = 'Référence;Désignation;Prix;Stock\nL-1;Crème brûlée;4,50;12\n';
    const sniffed = await decode(fixture('latin1-semicolon.csv'));
    expect(sniffed.encoding).toBe('windows-1252');
    expect(sniffed.encodingSource).toBe('content');
    expect(sniffed.text.startsWith(expected)).toBe(true);
    const told = await decode(fixture('latin1-semicolon.csv'), { encoding: 'ISO-8859-1' });
    expect(told.encoding).toBe('iso-8859-1');
    expect(told.encodingSource).toBe('option');
    expect(told.text).toBe(sniffed.text);
  });

  it('reads the Windows-1252 characters of 0x80–0x9F', async () => {
    const { text } = await decode(fixture('windows1252.csv'), { encoding: 'windows-1252' });
    expect(text).toBe('sku,title,price\nW-1,L’œuf “bio” … 6 pièces,3 €\nW-2,Œuvre,12 €\n');
  });

  it('reads UTF-16 with a byte order mark, in both byte orders', async () => {
    const le = await decode(fixture('utf16-bom.tsv'), {}, 3);
    expect(le.encoding).toBe('utf-16le');
    expect(le.encodingSource).toBe('bom');
    expect(le.text).toBe('sku\ttitle\tprice\nU-1\tZürich 😀\t5\nU-2\t日本\t7\n');
    const be = await decode(
      Buffer.concat([Buffer.from([0xfe, 0xff]), iconv.encode('a\tb\n😀\tZ\n', 'utf-16be')]),
      {},
      5,
    );
    expect(be.encoding).toBe('utf-16be');
    expect(be.text).toBe('a\tb\n😀\tZ\n');
  });

  it('recognises UTF-16 without a byte order mark from its zero bytes', async () => {
    const { encoding, text } = await decode(iconv.encode('sku,title\nA,É\n', 'utf-16le'));
    expect(encoding).toBe('utf-16le');
    expect(text).toBe('sku,title\nA,É\n');
  });

  it('drops a UTF-8 byte order mark and keeps characters cut by chunks whole', async () => {
    const body = 'sku,title\nA,Zürich 😀 日本\n';
    const { text, encodingSource } = await decode(
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)]),
      {},
      1,
    );
    expect(encodingSource).toBe('bom');
    expect(text).toBe(body);
  });

  it('takes the encoding of an XML declaration, unless the definition says otherwise', async () => {
    const xml = '<?xml version="1.0" encoding="ISO-8859-15"?><p><i>€ é</i></p>';
    const bytes = iconv.encode(xml, 'iso-8859-15');
    const declared = await decode(bytes);
    expect(declared.encoding).toBe('iso-8859-15');
    expect(declared.encodingSource).toBe('xml-declaration');
    expect(declared.text).toBe(xml);
    const overridden = await decode(Buffer.from(xml, 'utf8'), { encoding: 'utf-8' });
    expect(overridden.encodingSource).toBe('option');
    expect(overridden.text).toBe(xml);
  });

  it('refuses an unknown encoding name', () => {
    expect(() => normalizeEncoding('klingon-8')).toThrow(
      new FeedParseError('unknown encoding "klingon-8"', undefined),
    );
    expect(normalizeEncoding('UTF8')).toBe('utf-8');
    expect(normalizeEncoding('Latin1')).toBe('iso-8859-1');
    expect(normalizeEncoding('CP1252')).toBe('windows-1252');
  });

  it('chooses by BOM, then option, then content', () => {
    expect(detectEncoding(Buffer.from([0xff, 0xfe, 0x41, 0]), 'windows-1252')).toEqual({
      encoding: 'utf-16le',
      source: 'bom',
    });
    expect(detectEncoding(Buffer.from('abc é'), 'latin1')).toEqual({
      encoding: 'iso-8859-1',
      source: 'option',
    });
    expect(detectEncoding(Buffer.from('abc é'))).toEqual({ encoding: 'utf-8', source: 'default' });
    expect(detectEncoding(Buffer.from([0x61, 0xe9, 0x62]))).toEqual({
      encoding: 'windows-1252',
      source: 'content',
    });
  });
});

describe('decodeFeed: invalid bytes', () => {
  it('stops at a byte that is not UTF-8 when UTF-8 is declared, with its offset and line', async () => {
    const err = await decodeError(fixture('invalid-utf8.csv'), { encoding: 'utf-8' });
    expect(err.message).toBe(
      'invalid UTF-8: byte 0xE9 at byte offset 24 is not UTF-8, the declared encoding',
    );
    expect(err.line).toBe(3);
  });

  it('stops at a byte that is not UTF-8 after a valid start, and says what to set', async () => {
    const head = `sku,title\n${'A,plain ascii row\n'.repeat(5000)}`;
    const bytes = Buffer.concat([Buffer.from(head), Buffer.from([0x42, 0x2c, 0x63, 0x61, 0x66, 0xe9, 0x0a])]);
    const err = await decodeError(bytes, {}, 4096);
    expect(err.message).toBe(
      `invalid UTF-8: byte 0xE9 at byte offset ${head.length + 5}; ` +
        'if the feed is in another encoding, set options.encoding (e.g. "windows-1252")',
    );
    expect(err.line).toBe(5002);
  });

  it('refuses overlong forms, surrogates and a character cut at the end', async () => {
    for (const bad of [
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
    ]) {
      const err = await decodeError(Buffer.from([0x61, 0x0a, ...bad, 0x0a]), { encoding: 'utf-8' }, 1);
      expect(err.message).toMatch(/^invalid UTF-8: byte 0x[0-9A-F]{2} at byte offset 2 is not UTF-8/);
      expect(err.line).toBe(2);
    }
    const cut = await decodeError(Buffer.from([0x61, 0xe2, 0x82]), { encoding: 'utf-8' });
    expect(cut.message).toMatch(/ends in the middle of a UTF-8 character \(byte 1\)/);
  });

  it('refuses UTF-16 with a lone surrogate or an odd number of bytes', async () => {
    const lone = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      iconv.encode('sku\n', 'utf-16le'),
      Buffer.from([0x00, 0xdc, 0x41, 0x00]),
    ]);
    expect((await decodeError(lone)).message).toMatch(
      /^invalid utf-16le: a byte sequence near byte offset \d+ is not utf-16le/,
    );
    const odd = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      iconv.encode('sku\n', 'utf-16le'),
      Buffer.from([0x41]),
    ]);
    expect((await decodeError(odd)).message).toBe('utf-16le: the feed ends in the middle of a character');
  });

  it('gives the byte offset of a lone surrogate in the file as given, byte order mark included', async () => {
    // Byte order mark (bytes 0–1), "sku\n" (2–9), then an unpaired low surrogate at byte 10.
    const le = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      iconv.encode('sku\n', 'utf-16le'),
      Buffer.from([0x00, 0xdc, 0x41, 0x00]),
    ]);
    const be = Buffer.concat([
      Buffer.from([0xfe, 0xff]),
      iconv.encode('sku\n', 'utf-16be'),
      Buffer.from([0xdc, 0x00, 0x00, 0x41]),
    ]);
    for (const [bytes, encoding] of [
      [le, 'utf-16le'],
      [be, 'utf-16be'],
    ] as const) {
      // Whatever the chunks: the BOM cut in two, a character cut after its first byte.
      for (const chunk of [1, 3, 64 * 1024]) {
        const err = await decodeError(bytes, {}, chunk);
        expect(err.message).toBe(
          `invalid ${encoding}: a byte sequence near byte offset 10 is not ${encoding}, the declared encoding`,
        );
        expect(err.line).toBe(2);
      }
    }
    // Without a byte order mark, the same surrogate is at byte 8.
    const bare = await decodeError(le.subarray(2), { encoding: 'utf-16le' });
    expect(bare.message).toMatch(/near byte offset 8 /);
  });

  it('refuses bytes a multi-byte legacy encoding does not allow', async () => {
    const err = await decodeError(Buffer.from([0x61, 0x0a, 0x82, 0xff, 0x0a]), { encoding: 'shift_jis' });
    expect(err.message).toMatch(/^invalid shift-jis: .* is not shift-jis/);
    expect(err.line).toBe(2);
  });
});
