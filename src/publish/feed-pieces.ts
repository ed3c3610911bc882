import { createHash } from 'node:crypto';
import fsp, { type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { ExclusionCount } from '../store/publications.js';

/**
 * A built feed is written as pieces: the serializer's head, one segment per
 * `SEGMENT_PRODUCTS` products in sku order (the items of those that the rules kept), and the
 * tail. (500: a stock-only rebuild reads and renders a segment per moved sku, about 10 ms at
 * 500 products on PGlite; smaller segments cost the whole build more deflate calls and a
 * larger index.) Its index (`{version}.{ext}.index`) says where each piece lies in the feed, in its
 * gzip twin and in its item list, with its checksums, so that a stock-only rebuild can write
 * again only the segments whose products moved and copy every other piece's bytes.
 *
 * The gzip twin is one gzip member: a fixed header, then each piece deflated on its own and
 * ended by a full flush (byte aligned, no reference to earlier pieces, so its bytes do not
 * depend on what precedes it), then an empty final block and the trailer, whose CRC-32 is
 * combined from the pieces' CRCs. Every gzip reader decodes it as one ordinary stream.
 */
export const SEGMENT_PRODUCTS = 500;

/** The index's layout version: an index of another version is not used. */
export const INDEX_VERSION = 1;

/** One piece of a built feed, as its index records it. */
export interface FeedPiece {
  kind: 'head' | 'segment' | 'tail';
  /** A segment: the sku of its last product (it holds the products after the previous segment's last, up to this). */
  last: string | null;
  /** A segment: products read, items written, and the products left out by rule. */
  products: number;
  items: number;
  exclusions: ExclusionCount[];
  offset: number;
  length: number;
  gzOffset: number;
  gzLength: number;
  itemsOffset: number;
  itemsLength: number;
  /** CRC-32 of the piece's bytes (for the gzip trailer), and their sha256 (base64). */
  crc: number;
  sha: string;
}

/** A publication's index of pieces. */
export interface FeedIndex {
  layout: number;
  publication: number;
  format: string;
  segmentProducts: number;
  bytes: number;
  gzipBytes: number;
  itemsBytes: number;
  pieces: FeedPiece[];
}

// gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS unix (as zlib writes it).
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03]);
// An empty final fixed-Huffman block: what deflate writes on finish after a flush.
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

const deflateRaw = promisify(zlib.deflateRaw) as (buf: Buffer, opts: zlib.ZlibOptions) => Promise<Buffer>;

/** A piece's text deflated alone, ended by a full flush (see the module comment). */
export function deflatePiece(body: Buffer): Promise<Buffer> {
  if (body.length === 0) return Promise.resolve(Buffer.alloc(0));
  return deflateRaw(body, { level: 6, finishFlush: zlib.constants.Z_FULL_FLUSH });
}

const CRC_POLY = 0xedb88320;

// a(x) · b(x) modulo the CRC-32 polynomial, both reflected (zlib's multmodp).
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  let bb = b >>> 0;
  for (;;) {
    if ((a & m) !== 0) {
      p ^= bb;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    bb = bb & 1 ? (bb >>> 1) ^ CRC_POLY : bb >>> 1;
  }
  return p >>> 0;
}

// X2N[k] = x^(2^k) modulo the polynomial.
const X2N: number[] = (() => {
  const table: number[] = [];
  let p = 0x40000000; // x^1
  table.push(p);
  for (let n = 1; n < 32; n++) {
    p = multModP(p, p);
    table.push(p);
  }
  return table;
})();

// x^(n · 2^k) modulo the polynomial.
function x2nModP(n: number, k: number): number {
  let p = 0x80000000; // x^0
  let rest = n;
  let kk = k;
  while (rest > 0) {
    if (rest % 2 === 1) p = multModP(X2N[kk & 31] as number, p);
    rest = Math.floor(rest / 2);
    kk++;
  }
  return p;
}

/** The CRC-32 of A followed by B, from CRC(A), CRC(B) and B's length (zlib's crc32_combine). */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multModP(x2nModP(lengthB, 3), crcA >>> 0) ^ (crcB >>> 0)) >>> 0;
}

/**
 * The feed's checksum (the publication's `sha256`, its ETag): sha256 over the sha256 of each
 * non-empty piece in order. The same bytes cut the same way give the same checksum, and a
 * stock-only rebuild gets it without reading the pieces it copies.
 */
export function feedChecksum(pieces: readonly FeedPiece[]): string {
  const h = createHash('sha256');
  for (const p of pieces) if (p.length > 0) h.update(Buffer.from(p.sha, 'base64'));
  return h.digest('hex');
}

/** The files one build writes (temporary names). */
export interface PieceFiles {
  feed: string;
  gzip: string;
  items: string;
  index: string;
}

/** A piece to write: its text, its item list lines, and what the index says of it. */
export interface NewPiece {
  kind: FeedPiece['kind'];
  last: string | null;
  products: number;
  items: number;
  exclusions: ExclusionCount[];
  text: string;
  itemLines: string;
}

/** The old files a rebuild copies pieces from. */
export interface OldPieceFiles {
  feed: FileHandle;
  gzip: FileHandle;
  items: FileHandle;
}

/** What a finished piece writer wrote. */
export interface WrittenFeed {
  bytes: number;
  gzipBytes: number;
  sha256: string;
  index: FeedIndex;
}

const COPY_CHUNK = 4 * 1024 * 1024;

/**
 * Writes a feed, its gzip twin, its item list and its index piece by piece, appending either
 * new pieces or runs of an older publication's pieces copied as they are. Deflating runs on
 * zlib's thread pool while the caller renders the next piece; the gzip file is written in
 * piece order. Files are fsynced when finished.
 */
export class PieceWriter {
  private feed: FileHandle | undefined;
  private gzip: FileHandle | undefined;
  private items: FileHandle | undefined;
  private readonly pieces: FeedPiece[] = [];
  private feedPos = 0;
  private itemsPos = 0;
  private gzPos = GZIP_HEADER.length;
  private crc = 0;
  // Gzip writes in piece order; each waits for the one before it.
  private gzChain: Promise<void> = Promise.resolve();
  private gzPending = 0;

  constructor(
    private readonly files: PieceFiles,
    private readonly meta: { publication: number; format: string },
  ) {}

  /** Creates the files (truncating leftovers of the same name). */
  async open(): Promise<void> {
    this.feed = await fsp.open(this.files.feed, 'w');
    this.gzip = await fsp.open(this.files.gzip, 'w');
    this.items = await fsp.open(this.files.items, 'w');
    await this.gzip.write(GZIP_HEADER, 0, GZIP_HEADER.length, 0);
  }

  /** Appends a new piece. */
  async add(p: NewPiece): Promise<void> {
    const feed = this.feed as FileHandle;
    const items = this.items as FileHandle;
    const body = Buffer.from(p.text, 'utf8');
    const lines = Buffer.from(p.itemLines, 'utf8');
    const piece: FeedPiece = {
      kind: p.kind,
      last: p.last,
      products: p.products,
      items: p.items,
      exclusions: p.exclusions,
      offset: this.feedPos,
      length: body.length,
      gzOffset: 0,
      gzLength: 0,
      itemsOffset: this.itemsPos,
      itemsLength: lines.length,
      crc: zlib.crc32(body),
      sha: createHash('sha256').update(body).digest('base64'),
    };
    this.pieces.push(piece);
    this.crc = crc32Combine(this.crc, piece.crc, body.length);
    this.feedPos += body.length;
    this.itemsPos += lines.length;
    const deflated = deflatePiece(body);
    deflated.catch(() => {});
    this.queueGzip(async (gz) => {
      const out = await deflated;
      piece.gzOffset = this.gzPos;
      piece.gzLength = out.length;
      this.gzPos += out.length;
      if (out.length > 0) await gz.write(out, 0, out.length, piece.gzOffset);
    });
    await Promise.all([
      body.length > 0 ? feed.write(body, 0, body.length, piece.offset) : undefined,
      lines.length > 0 ? items.write(lines, 0, lines.length, piece.itemsOffset) : undefined,
    ]);
    // Bounded: at most a few pieces wait for zlib.
    if (this.gzPending > 8) await this.gzChain;
  }

  /** Appends pieces of an older publication (consecutive in it) by copying their bytes. */
  async copy(old: OldPieceFiles, run: readonly FeedPiece[]): Promise<void> {
    const first = run[0];
    const last = run.at(-1);
    if (!first || !last) return;
    const feedStart = this.feedPos;
    const itemsStart = this.itemsPos;
    const moved = run.map((p) => ({
      ...p,
      offset: p.offset - first.offset + feedStart,
      itemsOffset: p.itemsOffset - first.itemsOffset + itemsStart,
    }));
    for (const p of moved) {
      this.pieces.push(p);
      this.crc = crc32Combine(this.crc, p.crc, p.length);
    }
    const feedLength = last.offset + last.length - first.offset;
    const itemsLength = last.itemsOffset + last.itemsLength - first.itemsOffset;
    this.feedPos += feedLength;
    this.itemsPos += itemsLength;
    this.queueGzip(async (gz) => {
      const start = this.gzPos;
      for (const p of moved) {
        p.gzOffset = p.gzOffset - first.gzOffset + start;
      }
      const gzLength = last.gzOffset + last.gzLength - first.gzOffset;
      await copyRange(old.gzip, first.gzOffset, gz, start, gzLength);
      this.gzPos += gzLength;
    });
    await Promise.all([
      copyRange(old.feed, first.offset, this.feed as FileHandle, feedStart, feedLength),
      copyRange(old.items, first.itemsOffset, this.items as FileHandle, itemsStart, itemsLength),
    ]);
    if (this.gzPending > 8) await this.gzChain;
  }

  /** Ends the gzip member, writes the index, fsyncs and closes every file. */
  async finish(): Promise<WrittenFeed> {
    await this.gzChain;
    const gz = this.gzip as FileHandle;
    const trailer = Buffer.alloc(FINAL_BLOCK.length + 8);
    FINAL_BLOCK.copy(trailer, 0);
    trailer.writeUInt32LE(this.crc >>> 0, FINAL_BLOCK.length);
    trailer.writeUInt32LE(this.feedPos % 2 ** 32, FINAL_BLOCK.length + 4);
    await gz.write(trailer, 0, trailer.length, this.gzPos);
    const gzipBytes = this.gzPos + trailer.length;
    const index: FeedIndex = {
      layout: INDEX_VERSION,
      publication: this.meta.publication,
      format: this.meta.format,
      segmentProducts: SEGMENT_PRODUCTS,
      bytes: this.feedPos,
      gzipBytes,
      itemsBytes: this.itemsPos,
      pieces: this.pieces,
    };
    await fsp.writeFile(this.files.index, JSON.stringify(index), { flush: true });
    await Promise.all([this.feed, this.gzip, this.items].map((h) => h?.sync()));
    await this.close();
    return { bytes: this.feedPos, gzipBytes, sha256: feedChecksum(this.pieces), index };
  }

  /** Closes the files (after a failure too); safe to call twice. */
  async close(): Promise<void> {
    await this.gzChain.catch(() => {});
    const handles = [this.feed, this.gzip, this.items];
    this.feed = this.gzip = this.items = undefined;
    await Promise.all(handles.map((h) => h?.close().catch(() => {})));
  }

  private queueGzip(step: (gz: FileHandle) => Promise<void>): void {
    this.gzPending++;
    const next = this.gzChain.then(() => step(this.gzip as FileHandle));
    this.gzChain = next.finally(() => {
      this.gzPending--;
    });
  }
}

/** Copies `length` bytes from one file's `from` to another's `to`. */
async function copyRange(
  src: FileHandle,
  from: number,
  dst: FileHandle,
  to: number,
  length: number,
): Promise<void> {
  if (length <= 0) return;
  const buf = Buffer.allocUnsafe(Math.min(COPY_CHUNK, length));
  let done = 0;
  while (done < length) {
    const want = Math.min(buf.length, length - done);
    const { bytesRead } = await src.read(buf, 0, want, from + done);
    if (bytesRead !== want) throw new Error('a previous feed file is shorter than its index says');
    await dst.write(buf, 0, want, to + done);
    done += want;
  }
}

/**
 * A publication's index, if it is there and agrees with the publication and its files
 * (sizes, contiguous pieces, checksum); undefined otherwise (the caller builds in full).
 */
export async function readFeedIndex(
  file: string,
  expect: { publication: number; format: string; bytes: number; gzipBytes: number; sha256: string },
  files: { feed: string; gzip: string; items: string },
): Promise<FeedIndex | undefined> {
  let index: FeedIndex;
  try {
    index = JSON.parse(await fsp.readFile(file, 'utf8')) as FeedIndex;
  } catch {
    return undefined;
  }
  if (
    typeof index !== 'object' ||
    index === null ||
    index.layout !== INDEX_VERSION ||
    index.publication !== expect.publication ||
    index.format !== expect.format ||
    index.segmentProducts !== SEGMENT_PRODUCTS ||
    index.bytes !== expect.bytes ||
    index.gzipBytes !== expect.gzipBytes ||
    !Array.isArray(index.pieces) ||
    index.pieces.length < 2 ||
    index.pieces[0]?.kind !== 'head' ||
    index.pieces.at(-1)?.kind !== 'tail'
  )
    return undefined;
  let offset = 0;
  let gzOffset = GZIP_HEADER.length;
  let itemsOffset = 0;
  for (const [i, p] of index.pieces.entries()) {
    const inner = i > 0 && i < index.pieces.length - 1;
    if (
      p.offset !== offset ||
      p.gzOffset !== gzOffset ||
      p.itemsOffset !== itemsOffset ||
      (inner && (p.kind !== 'segment' || typeof p.last !== 'string'))
    )
      return undefined;
    offset += p.length;
    gzOffset += p.gzLength;
    itemsOffset += p.itemsLength;
  }
  if (offset !== index.bytes || gzOffset + FINAL_BLOCK.length + 8 !== index.gzipBytes) return undefined;
  if (feedChecksum(index.pieces) !== expect.sha256) return undefined;
  const sizes = await Promise.all(
    [files.feed, files.gzip, files.items].map((f) =>
      fsp.stat(f).then(
        (s) => s.size,
        () => -1,
      ),
    ),
  );
  if (sizes[0] !== index.bytes || sizes[1] !== index.gzipBytes || sizes[2] !== itemsOffset) return undefined;
  return index;
}
