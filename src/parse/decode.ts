import { isUtf8 } from 'node:buffer';
import { PassThrough, pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import iconv from 'iconv-lite';
import { FeedParseError } from './csv.js';

/**
 * Default cap on the bytes a gzip feed may decompress to. Far above a real catalog
 * (1,000,000 products of CSV are about 650 MB); a gzip bomb stops here with a clear error.
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 4 * 1024 * 1024 * 1024;

/** How many bytes are looked at to detect gzip, the encoding and the format. */
export const SNIFF_BYTES = 64 * 1024;

/** Where the encoding in use comes from, in order of precedence. */
export type EncodingSource = 'bom' | 'option' | 'xml-declaration' | 'content' | 'default';

/** Options of decodeFeed. */
export interface DecodeOptions {
  /**
   * The feed's encoding, overriding detection (a byte order mark still wins, as in the
   * WHATWG Encoding standard). `iso-8859-1`/`latin1` are read as Windows-1252, as browsers
   * do: the bytes 0x80–0x9F are `€`, `‚`, `…`, `’`, not invisible control characters.
   */
  encoding?: string;
  /** Cap on the decompressed size of a gzip feed, in bytes. */
  maxDecompressedBytes?: number;
}

/** A feed's bytes made into UTF-8, with what was found on the way. */
export interface DecodedFeed {
  /** The whole feed as UTF-8 bytes, decompressed, without byte order mark. */
  stream: Readable;
  /** The encoding the feed was read in: `utf-8`, `utf-16le`, `windows-1252`, … */
  encoding: string;
  encodingSource: EncodingSource;
  gzip: boolean;
}

/**
 * Turns a feed's raw bytes into a UTF-8 stream: gunzips it when it starts with the gzip
 * magic bytes (1f 8b), capped at `maxDecompressedBytes`; chooses the encoding (byte order
 * mark, then `options.encoding`, then UTF-16 without BOM from its zero bytes, then an XML
 * declaration, then UTF-8 if the first 64 KiB are valid UTF-8, else Windows-1252); and
 * decodes on the fly. UTF-8 is checked, not copied: a byte that is not UTF-8 stops the feed
 * with a FeedParseError giving its byte offset and line. Memory stays bounded whatever the
 * size: at most the 64 KiB looked at plus the streams' own buffers.
 */
export async function decodeFeed(input: Readable, options: DecodeOptions = {}): Promise<DecodedFeed> {
  let { head, stream } = await peekBytes(input, SNIFF_BYTES);
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  if (gzip) {
    const max = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
    ({ head, stream } = await peekBytes(gunzip(stream, max), SNIFF_BYTES));
  }
  const { encoding, source } = detectEncoding(head, options.encoding);
  const decoder =
    encoding === 'utf-8'
      ? new Utf8Check(source === 'option' || source === 'bom' || source === 'xml-declaration')
      : new Transcoder(encoding);
  pipeline(stream, decoder, () => {});
  return { stream: decoder, encoding, encodingSource: source, gzip };
}

/**
 * The canonical name of an encoding a definition may give, or a FeedParseError. Names are
 * those of the WHATWG Encoding standard and iconv-lite: `utf-8`, `utf-16le`, `utf-16be`,
 * `windows-1252`, `iso-8859-1`, `iso-8859-15`, `macintosh`, `shift_jis`, …
 */
export function normalizeEncoding(name: string): string {
  const n = name.trim().toLowerCase().replace(/_/g, '-');
  switch (n) {
    case 'utf-8':
    case 'utf8':
    case 'unicode-1-1-utf-8':
      return 'utf-8';
    case 'utf-16':
    case 'utf-16le':
    case 'utf16le':
    case 'ucs-2':
      return 'utf-16le';
    case 'utf-16be':
    case 'utf16be':
      return 'utf-16be';
    case 'windows-1252':
    case 'cp1252':
    case 'x-cp1252':
    case 'win-1252':
      return 'windows-1252';
    case 'iso-8859-1':
    case 'iso8859-1':
    case 'iso-8859-1:1987':
    case 'latin1':
    case 'latin-1':
    case 'l1':
    case 'cp819':
    case 'us-ascii':
    case 'ascii':
      return 'iso-8859-1';
  }
  if (iconv.encodingExists(n)) return n;
  throw new FeedParseError(`unknown encoding "${name}"`, undefined);
}

/**
 * Chooses the encoding of a feed from its first bytes (after gzip) and the declared one.
 * See decodeFeed for the order.
 */
export function detectEncoding(
  head: Buffer,
  declared?: string,
): { encoding: string; source: EncodingSource } {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', source: 'bom' };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', source: 'bom' };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', source: 'bom' };
  if (declared !== undefined && declared.trim() !== '') {
    return { encoding: normalizeEncoding(declared), source: 'option' };
  }
  if (head.length >= 4) {
    if (head[0] !== 0 && head[1] === 0 && head[2] !== 0 && head[3] === 0) {
      return { encoding: 'utf-16le', source: 'content' };
    }
    if (head[0] === 0 && head[1] !== 0 && head[2] === 0 && head[3] !== 0) {
      return { encoding: 'utf-16be', source: 'content' };
    }
  }
  const prolog = head.toString('latin1', 0, Math.min(head.length, 512));
  const m = /^\s*<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']/.exec(prolog);
  if (m) {
    const named = normalizeEncoding(m[1] as string);
    // Bytes that read as ASCII cannot be UTF-16, whatever the declaration says.
    if (!named.startsWith('utf-16')) return { encoding: named, source: 'xml-declaration' };
  }
  if (isUtf8(head.subarray(0, completeUtf8Length(head)))) return { encoding: 'utf-8', source: 'default' };
  return { encoding: 'windows-1252', source: 'content' };
}

/**
 * Reads the first `n` bytes of a stream (fewer if it is shorter) and gives them back with
 * a stream of all the bytes, those first ones included.
 */
export async function peekBytes(input: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = input[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  try {
    while (size < n) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      const b = toBuffer(r.value);
      chunks.push(b);
      size += b.length;
    }
  } catch (err) {
    input.destroy();
    throw err;
  }
  const head = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  async function* all(): AsyncGenerator<Buffer> {
    try {
      if (head.length > 0) yield head;
      if (ended) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield toBuffer(r.value);
      }
    } finally {
      await it.return?.();
    }
  }
  return { head, stream: Readable.from(all(), { objectMode: false }) };
}

function toBuffer(chunk: unknown): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
}

/** Gunzips a stream, failing with a FeedParseError past `max` bytes or on a cut or corrupt stream. */
function gunzip(source: Readable, max: number): Readable {
  const out = new PassThrough();
  let total = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      total += chunk.length;
      if (total > max) {
        done(
          new FeedParseError(
            `gzip: the feed decompresses to more than ${max} bytes, the limit (a "gzip bomb"?)`,
            undefined,
          ),
        );
      } else done(null, chunk);
    },
  });
  pipeline(source, createGunzip(), cap, (err) => {
    if (err) out.destroy(gzipError(err));
  });
  cap.pipe(out);
  out.on('close', () => {
    if (!cap.destroyed) cap.destroy();
  });
  return out;
}

function gzipError(err: Error): Error {
  if (err instanceof FeedParseError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message)) {
    return new FeedParseError(
      'gzip: the compressed feed is cut short (an incomplete download?)',
      undefined,
      err,
    );
  }
  if (code === 'Z_DATA_ERROR') {
    return new FeedParseError(`gzip: the compressed feed is corrupt (${err.message})`, undefined, err);
  }
  return err;
}

/** Length of `buf` without a UTF-8 sequence cut at its end. */
function completeUtf8Length(buf: Buffer): number {
  const len = buf.length;
  for (let k = 1; k <= Math.min(3, len); k++) {
    const b = buf[len - k] as number;
    if ((b & 0xc0) === 0x80) continue;
    if (b < 0xc0) return len;
    const expected = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    return k < expected ? len - k : len;
  }
  return len;
}

/** Offset of the first byte that breaks UTF-8 in `buf` (which is known not to be valid). */
function firstInvalidUtf8(buf: Buffer): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) {
      n = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      min = 0x10000;
    } else return i;
    let cp = b & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const c = buf[i + k];
      if (c === undefined) return i;
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return i;
}

function countLines(buf: Buffer, end: number): number {
  let n = 0;
  let i = buf.indexOf(0x0a);
  while (i !== -1 && i < end) {
    n++;
    i = buf.indexOf(0x0a, i + 1);
  }
  return n;
}

/**
 * Passes UTF-8 through unchanged, without its byte order mark, and stops at the first byte
 * that is not UTF-8 with its offset and line.
 */
class Utf8Check extends Transform {
  private offset = 0;
  private line = 1;
  private carry: Buffer | null = null;
  private first = true;

  constructor(private readonly declared: boolean) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let buf = chunk;
    if (this.first && buf.length > 0) {
      this.first = false;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
        buf = buf.subarray(3);
        this.offset = 3;
      }
    }
    const carried = this.carry?.length ?? 0;
    const data = this.carry ? Buffer.concat([this.carry, buf]) : buf;
    const cut = completeUtf8Length(data);
    if (!isUtf8(data.subarray(0, cut))) {
      const bad = firstInvalidUtf8(data.subarray(0, cut));
      done(this.invalid(data[bad] as number, this.offset - carried + bad, this.line + countLines(data, bad)));
      return;
    }
    this.carry = cut < data.length ? Buffer.from(data.subarray(cut)) : null;
    this.line += countLines(buf, buf.length);
    this.offset += buf.length;
    done(null, buf);
  }

  override _flush(done: TransformCallback): void {
    if (this.carry) {
      const at = this.offset - this.carry.length;
      done(
        new FeedParseError(
          `the feed ends in the middle of a UTF-8 character (byte ${at}): it is cut short or not UTF-8`,
          this.line,
        ),
      );
    } else done();
  }

  private invalid(byte: number, offset: number, line: number): FeedParseError {
    const hex = `0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    return new FeedParseError(
      this.declared
        ? `invalid UTF-8: byte ${hex} at byte offset ${offset} is not UTF-8, the declared encoding`
        : `invalid UTF-8: byte ${hex} at byte offset ${offset}; if the feed is in another ` +
            'encoding, set options.encoding (e.g. "windows-1252")',
      line,
    );
  }
}

// Windows-1252's characters for 0x80–0x9F; the five bytes it leaves undefined keep their
// C1 code points, as in the WHATWG Encoding standard.
const CP1252_HIGH =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

function decodeWindows1252(buf: Buffer): string {
  const s = buf.toString('latin1');
  return /[\x80-\x9f]/.test(s)
    ? s.replace(/[\x80-\x9f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80] as string)
    : s;
}

/** Decodes a feed from another encoding into UTF-8, failing on bytes the encoding does not allow. */
class Transcoder extends Transform {
  private readonly decode: (buf: Buffer) => string;
  private readonly finish: () => string;
  private readonly utf16: boolean;
  private offset = 0;
  /**
   * UTF-16 code units decoded so far, byte order mark included: the byte offset of the
   * next character is twice this, whatever a chunk boundary cut.
   */
  private units = 0;
  private bomChecked = false;
  private line = 1;

  constructor(private readonly encoding: string) {
    super();
    this.utf16 = encoding.startsWith('utf-16');
    if (encoding === 'windows-1252' || encoding === 'iso-8859-1') {
      this.decode = decodeWindows1252;
      this.finish = () => '';
    } else {
      // The byte order mark is dropped here, not by iconv-lite, so that it counts in offsets.
      const decoder = iconv.getDecoder(encoding, { stripBOM: false });
      this.decode = (buf) => decoder.write(buf);
      this.finish = () => decoder.end() ?? '';
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const text = this.decode(chunk);
    const err = this.check(text);
    this.offset += chunk.length;
    if (err) done(err);
    else done(null, Buffer.from(this.withoutBom(text), 'utf8'));
  }

  override _flush(done: TransformCallback): void {
    if (this.utf16 && this.offset % 2 === 1) {
      done(new FeedParseError(`${this.encoding}: the feed ends in the middle of a character`, this.line));
      return;
    }
    const text = this.finish();
    const err = this.check(text);
    const rest = this.withoutBom(text);
    if (err) done(err);
    else done(null, rest === '' ? undefined : Buffer.from(rest, 'utf8'));
  }

  /** The decoded text without the byte order mark that may begin the first text decoded. */
  private withoutBom(text: string): string {
    if (this.bomChecked || text === '') return text;
    this.bomChecked = true;
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }

  private check(text: string): FeedParseError | undefined {
    const bad = this.utf16 ? loneSurrogate(text) : text.indexOf('\ufffd');
    const lines = (to: number) => {
      let n = 0;
      for (let i = text.indexOf('\n'); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) n++;
      return n;
    };
    const units = this.units;
    this.units += text.length;
    if (bad === -1) {
      this.line += lines(text.length);
      return undefined;
    }
    const line = this.line + lines(bad);
    return new FeedParseError(
      `invalid ${this.encoding}: a byte sequence near byte offset ${this.utf16 ? 2 * (units + bad) : this.offset + bad} ` +
        `is not ${this.encoding}, the declared encoding`,
      line,
    );
  }
}

/** Index of the first unpaired surrogate in `s`, or -1. */
function loneSurrogate(s: string): number {
  const m = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.exec(s);
  return m ? m.index : -1;
}
