import { createHash } from 'node:crypto';
import fsp, { type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { ExclusionCount } from '../store/publications.js';
import { publicationFiles } from './feed-files.js';

/**
 * A built feed is written as pieces: the serializer's head, one segment per
 * `SEGMENT_PRODUCTS` products in sku order (the items of those that the rules kept), and the
 * tail. (500: a stock-only rebuild reads and renders a segment per moved sku, about 10 ms at
 * 500 products on PGlite; smaller segments cost the whole build more deflate calls and a
 * larger index.) Its index (`{version}.{ext}.index`) says where each piece's bytes lie, in the
 * feed, in its gzip twin and in its item list, with its checksums.
 *
 * Pieces live in packs. A whole build writes one whole pack: the complete feed, its gzip twin
 * and its item list, served as they are. A stock-only rebuild writes only the segments whose
 * products moved, into a delta pack of its own (`{version}.{ext}.delta` and siblings), and its
 * index points every other piece at the pack that already holds it: the cost of a rebuild is
 * what moved, not the size of the feed. Such a publication is served by reading its pieces in
 * order from their packs (feed-reader.ts). Packs are immutable once switched in; a pack is
 * pruned once no kept publication reads from it (feed-files.ts).
 *
 * The gzip twin is one gzip member: a fixed header, then each piece deflated on its own and
 * ended by a full flush (byte aligned, no reference to earlier pieces, so its bytes do not
 * depend on what precedes it), then an empty final block and the trailer, whose CRC-32 is
 * combined from the pieces' CRCs. Every gzip reader decodes it as one ordinary stream. A
 * delta pack's gzip file holds only its pieces' deflated bytes.
 */
export const SEGMENT_PRODUCTS = 500;

/** The index's layout version (1: one whole pack, before delta packs; still read). */
export const INDEX_VERSION = 2;

/**
 * More delta packs than this behind one publication: the next stock-only rebuild copies the
 * pieces of every delta pack into its own, so a publication reads from at most the whole pack
 * and this many deltas (a served feed opens each of them).
 */
export const MAX_DELTA_PACKS = 8;

/** One piece of a built feed, as its index records it. */
export interface FeedPiece {
  kind: 'head' | 'segment' | 'tail';
  /** The version whose pack holds the piece's bytes (the offsets are in that pack's files). */
  pack: number;
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

/** A pack: the files of one publication, holding the whole feed or only its new pieces. */
export interface PackRef {
  version: number;
  whole: boolean;
}

/** A publication's index of pieces. */
export interface FeedIndex {
  layout: number;
  publication: number;
  format: string;
  segmentProducts: number;
  /** The sizes of the feed, its gzip twin and its item list as served (all pieces). */
  bytes: number;
  gzipBytes: number;
  itemsBytes: number;
  /** CRC-32 of the whole feed (the gzip trailer's). */
  crc: number;
  /** The packs the pieces are read from, this publication's own first. */
  packs: PackRef[];
  pieces: FeedPiece[];
}

// gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS unix (as zlib writes it).
export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03]);
// An empty final fixed-Huffman block: what deflate writes on finish after a flush.
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

/** The end of the gzip member: the final block, then the CRC-32 and length of the feed. */
export function gzipTrailer(crc: number, bytes: number): Buffer {
  const trailer = Buffer.alloc(FINAL_BLOCK.length + 8);
  FINAL_BLOCK.copy(trailer, 0);
  trailer.writeUInt32LE(crc >>> 0, FINAL_BLOCK.length);
  trailer.writeUInt32LE(bytes % 2 ** 32, FINAL_BLOCK.length + 4);
  return trailer;
}
const TRAILER_BYTES = FINAL_BLOCK.length + 8;

const deflateRaw = promisify(zlib.deflateRaw) as (buf: Buffer, opts: zlib.ZlibOptions) => Promise<Buffer>;

/**
 * The gzip twin's deflate level. Measured per 330 KiB piece on the benchmark's feeds (200,000
 * products): CSV level 6 at 67 MiB/s to 15.5 % of the bytes, level 3 at 136 MiB/s to 17.4 %;
 * XML 88 MiB/s to 12.1 %, level 3 144 MiB/s to 14.0 %. Every full build deflates the whole
 * feed, several channels at once after an import, while a download of an unchanged feed is a
 * 304: level 3 halves the build's deflating for 12–15 % more bytes in a full download
 * (nginx's gzip default is level 1).
 */
export const GZIP_LEVEL = 3;

/** A piece's text deflated alone, ended by a full flush (see the module comment). */
export function deflatePiece(body: Buffer): Promise<Buffer> {
  if (body.length === 0) return Promise.resolve(Buffer.alloc(0));
  return deflateRaw(body, { level: GZIP_LEVEL, finishFlush: zlib.constants.Z_FULL_FLUSH });
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

/** A piece's text as UTF-8, with its CRC-32 and sha256 (base64), as the index records them. */
export interface EncodedText {
  body: Buffer;
  crc: number;
  sha: string;
}

/** Encodes a piece's text (on whichever thread renders it). */
export function encodeText(text: string): EncodedText {
  const body = Buffer.from(text, 'utf8');
  return { body, crc: zlib.crc32(body), sha: createHash('sha256').update(body).digest('base64') };
}

/** A piece to write: its text (or the text encoded), its item list lines, and what the index says of it. */
export interface NewPiece {
  kind: FeedPiece['kind'];
  last: string | null;
  products: number;
  items: number;
  exclusions: ExclusionCount[];
  text: string | EncodedText;
  itemLines: string;
}

/** Which of a pack's three files. */
export type PackFile = 'feed' | 'gzip' | 'items';

/** Opens the files of a channel's packs for reading, each once, and closes them together. */
export class PackReader {
  private readonly handles = new Map<string, Promise<FileHandle>>();

  constructor(
    private readonly dataDir: string,
    private readonly channelId: string,
    private readonly format: string,
    private readonly packs: readonly PackRef[],
  ) {}

  /** The open file of a pack (opened on first use). */
  handle(pack: number, file: PackFile): Promise<FileHandle> {
    const key = `${pack}:${file}`;
    let h = this.handles.get(key);
    if (!h) {
      const ref = this.packs.find((p) => p.version === pack);
      if (!ref) return Promise.reject(new Error(`pack ${pack} is not one of the index's packs`));
      h = fsp.open(publicationFiles(this.dataDir, this.channelId, pack, this.format, ref.whole)[file], 'r');
      h.catch(() => {});
      this.handles.set(key, h);
    }
    return h;
  }

  /** Opens every pack's file of one kind now (a reader then keeps them even if pruned). */
  async openAll(file: PackFile): Promise<void> {
    await Promise.all(this.packs.map((p) => this.handle(p.version, file)));
  }

  /** Closes every file opened; safe to call twice. */
  async close(): Promise<void> {
    const all = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(all.map((h) => h.then((f) => f.close()).catch(() => {})));
  }
}

/** Where one piece's bytes lie in its pack's file of a kind. */
export function pieceRange(p: FeedPiece, file: PackFile): { offset: number; length: number } {
  if (file === 'feed') return { offset: p.offset, length: p.length };
  if (file === 'gzip') return { offset: p.gzOffset, length: p.gzLength };
  return { offset: p.itemsOffset, length: p.itemsLength };
}

/**
 * Consecutive pieces whose bytes follow each other in one pack, in all three files: each
 * such run is read (or copied) as one range.
 */
export function contiguousRuns(pieces: readonly FeedPiece[]): FeedPiece[][] {
  const runs: FeedPiece[][] = [];
  let run: FeedPiece[] = [];
  for (const p of pieces) {
    const prev = run.at(-1);
    if (
      prev &&
      (prev.pack !== p.pack ||
        prev.offset + prev.length !== p.offset ||
        prev.gzOffset + prev.gzLength !== p.gzOffset ||
        prev.itemsOffset + prev.itemsLength !== p.itemsOffset)
    ) {
      runs.push(run);
      run = [];
    }
    run.push(p);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** What a finished piece writer wrote. */
export interface WrittenFeed {
  bytes: number;
  gzipBytes: number;
  sha256: string;
  index: FeedIndex;
  /** Whether the pack written is whole (the complete feed) or a delta. */
  whole: boolean;
}

const COPY_CHUNK = 4 * 1024 * 1024;

/**
 * Writes a publication's pack and index piece by piece, appending new pieces, pieces of older
 * packs copied as they are, or (into a delta pack) references to pieces that stay in their
 * older pack. A whole pack is the complete feed, gzip twin and item list; a delta pack holds
 * only the bytes of the pieces added or copied. Deflating runs on zlib's thread pool while
 * the caller renders the next piece; the gzip file is written in piece order. Files are
 * fsynced when finished.
 */
export class PieceWriter {
  private feed: FileHandle | undefined;
  private gzip: FileHandle | undefined;
  private items: FileHandle | undefined;
  private readonly pieces: FeedPiece[] = [];
  private readonly packs = new Map<number, PackRef>();
  // Positions in this pack's files.
  private feedPos = 0;
  private itemsPos = 0;
  private gzPos = 0;
  // Sizes of the feed, item list and gzip member (without its end) as served: all pieces.
  private bytes = 0;
  private itemsBytes = 0;
  private gzipBytes = GZIP_HEADER.length;
  private crc = 0;
  // Gzip writes in piece order; each waits for the one before it.
  private gzChain: Promise<void> = Promise.resolve();
  private gzPending = 0;

  constructor(
    private readonly files: PieceFiles,
    private readonly meta: { publication: number; format: string; whole: boolean },
  ) {
    this.packs.set(meta.publication, { version: meta.publication, whole: meta.whole });
  }

  /** Creates the files (truncating leftovers of the same name). */
  async open(): Promise<void> {
    this.feed = await fsp.open(this.files.feed, 'w');
    this.gzip = await fsp.open(this.files.gzip, 'w');
    this.items = await fsp.open(this.files.items, 'w');
    if (this.meta.whole) {
      await this.gzip.write(GZIP_HEADER, 0, GZIP_HEADER.length, 0);
      this.gzPos = GZIP_HEADER.length;
    }
  }

  /** Appends a new piece. */
  async add(p: NewPiece): Promise<void> {
    const feed = this.feed as FileHandle;
    const items = this.items as FileHandle;
    const { body, crc, sha } = typeof p.text === 'string' ? encodeText(p.text) : p.text;
    const lines = Buffer.from(p.itemLines, 'utf8');
    const piece: FeedPiece = {
      kind: p.kind,
      pack: this.meta.publication,
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
      crc,
      sha,
    };
    this.count(piece);
    this.feedPos += body.length;
    this.itemsPos += lines.length;
    const deflated = deflatePiece(body);
    deflated.catch(() => {});
    this.queueGzip(async (gz) => {
      const out = await deflated;
      piece.gzOffset = this.gzPos;
      piece.gzLength = out.length;
      this.gzPos += out.length;
      this.gzipBytes += out.length;
      if (out.length > 0) await gz.write(out, 0, out.length, piece.gzOffset);
    });
    await Promise.all([
      body.length > 0 ? feed.write(body, 0, body.length, piece.offset) : undefined,
      lines.length > 0 ? items.write(lines, 0, lines.length, piece.itemsOffset) : undefined,
    ]);
    // Bounded: at most a few pieces wait for zlib.
    if (this.gzPending > 8) await this.gzChain;
  }

  /** Appends pieces of older packs by copying their bytes into this pack. */
  async copy(source: PackReader, pieces: readonly FeedPiece[]): Promise<void> {
    for (const run of contiguousRuns(pieces)) await this.copyRun(source, run);
  }

  /** Appends pieces that stay where they are, in an older pack (a delta pack only). */
  reference(pieces: readonly FeedPiece[], packs: readonly PackRef[]): void {
    if (this.meta.whole) throw new Error('a whole pack holds every piece itself');
    for (const p of pieces) {
      const ref = packs.find((r) => r.version === p.pack);
      if (!ref || p.pack === this.meta.publication) throw new Error(`piece of unknown pack ${p.pack}`);
      this.packs.set(ref.version, ref);
      this.count({ ...p });
      this.gzipBytes += p.gzLength;
    }
  }

  /** Ends the gzip member (a whole pack), writes the index, fsyncs and closes every file. */
  async finish(): Promise<WrittenFeed> {
    await this.gzChain;
    const trailer = gzipTrailer(this.crc, this.bytes);
    if (this.meta.whole) await (this.gzip as FileHandle).write(trailer, 0, trailer.length, this.gzPos);
    const gzipBytes = this.gzipBytes + TRAILER_BYTES;
    const own = this.packs.get(this.meta.publication) as PackRef;
    const others = [...this.packs.values()].filter((p) => p !== own).sort((a, b) => b.version - a.version);
    const index: FeedIndex = {
      layout: INDEX_VERSION,
      publication: this.meta.publication,
      format: this.meta.format,
      segmentProducts: SEGMENT_PRODUCTS,
      bytes: this.bytes,
      gzipBytes,
      itemsBytes: this.itemsBytes,
      crc: this.crc,
      packs: [own, ...others],
      pieces: this.pieces,
    };
    await fsp.writeFile(this.files.index, JSON.stringify(index), { flush: true });
    await Promise.all([this.feed, this.gzip, this.items].map((h) => h?.sync()));
    await this.close();
    return {
      bytes: this.bytes,
      gzipBytes,
      sha256: feedChecksum(this.pieces),
      index,
      whole: this.meta.whole,
    };
  }

  /** Closes the files (after a failure too); safe to call twice. */
  async close(): Promise<void> {
    await this.gzChain.catch(() => {});
    const handles = [this.feed, this.gzip, this.items];
    this.feed = this.gzip = this.items = undefined;
    await Promise.all(handles.map((h) => h?.close().catch(() => {})));
  }

  private count(p: FeedPiece): void {
    this.pieces.push(p);
    this.crc = crc32Combine(this.crc, p.crc, p.length);
    this.bytes += p.length;
    this.itemsBytes += p.itemsLength;
  }

  /** Copies a run of pieces that lie one after another in one older pack. */
  private async copyRun(source: PackReader, run: readonly FeedPiece[]): Promise<void> {
    const first = run[0] as FeedPiece;
    const last = run.at(-1) as FeedPiece;
    const feedStart = this.feedPos;
    const itemsStart = this.itemsPos;
    const moved = run.map((p) => ({
      ...p,
      pack: this.meta.publication,
      offset: p.offset - first.offset + feedStart,
      itemsOffset: p.itemsOffset - first.itemsOffset + itemsStart,
    }));
    for (const p of moved) this.count(p);
    const feedLength = last.offset + last.length - first.offset;
    const itemsLength = last.itemsOffset + last.itemsLength - first.itemsOffset;
    const gzLength = last.gzOffset + last.gzLength - first.gzOffset;
    this.feedPos += feedLength;
    this.itemsPos += itemsLength;
    const gzSource = source.handle(first.pack, 'gzip');
    this.queueGzip(async (gz) => {
      const start = this.gzPos;
      for (const p of moved) p.gzOffset = p.gzOffset - first.gzOffset + start;
      await copyRange(await gzSource, first.gzOffset, gz, start, gzLength);
      this.gzPos += gzLength;
      this.gzipBytes += gzLength;
    });
    await Promise.all([
      source
        .handle(first.pack, 'feed')
        .then((h) => copyRange(h, first.offset, this.feed as FileHandle, feedStart, feedLength)),
      source
        .handle(first.pack, 'items')
        .then((h) => copyRange(h, first.itemsOffset, this.items as FileHandle, itemsStart, itemsLength)),
    ]);
    if (this.gzPending > 8) await this.gzChain;
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

/** What a publication's index must agree with. */
export interface IndexExpectation {
  dataDir: string;
  channelId: string;
  publication: number;
  format: string;
  bytes: number;
  gzipBytes: number;
  sha256: string;
}

/**
 * Reads a publication's index (either layout), without looking at the pack files; undefined
 * when it is missing, malformed, or disagrees with the publication (sizes, checksum).
 */
export async function loadFeedIndex(file: string, expect: IndexExpectation): Promise<FeedIndex | undefined> {
  let raw: FeedIndex;
  try {
    raw = JSON.parse(await fsp.readFile(file, 'utf8')) as FeedIndex;
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || !Array.isArray(raw.pieces)) return undefined;
  const index = raw.layout === 1 ? upgradeIndex(raw) : raw;
  if (
    index.layout !== INDEX_VERSION ||
    index.publication !== expect.publication ||
    index.format !== expect.format ||
    index.segmentProducts !== SEGMENT_PRODUCTS ||
    index.bytes !== expect.bytes ||
    index.gzipBytes !== expect.gzipBytes ||
    !Array.isArray(index.packs) ||
    index.packs[0]?.version !== index.publication ||
    index.pieces.length < 2 ||
    index.pieces[0]?.kind !== 'head' ||
    index.pieces.at(-1)?.kind !== 'tail'
  )
    return undefined;
  const packs = new Set(index.packs.map((p) => p.version));
  // A whole pack holds every piece, one after another, as served.
  const whole = index.packs[0].whole;
  let bytes = 0;
  let gzipBytes = GZIP_HEADER.length + TRAILER_BYTES;
  let itemsBytes = 0;
  for (const [i, p] of index.pieces.entries()) {
    const inner = i > 0 && i < index.pieces.length - 1;
    if (!packs.has(p.pack) || (inner && (p.kind !== 'segment' || typeof p.last !== 'string')))
      return undefined;
    if (
      whole &&
      (p.pack !== index.publication ||
        p.offset !== bytes ||
        p.gzOffset !== gzipBytes - TRAILER_BYTES ||
        p.itemsOffset !== itemsBytes)
    )
      return undefined;
    bytes += p.length;
    gzipBytes += p.gzLength;
    itemsBytes += p.itemsLength;
  }
  if (bytes !== index.bytes || gzipBytes !== index.gzipBytes || itemsBytes !== index.itemsBytes)
    return undefined;
  if (feedChecksum(index.pieces) !== expect.sha256) return undefined;
  return index;
}

/** An index of the first layout (one whole pack, no CRC of its own) as the current layout. */
function upgradeIndex(old: FeedIndex): FeedIndex {
  let crc = 0;
  for (const p of old.pieces) crc = crc32Combine(crc, p.crc, p.length);
  return {
    ...old,
    layout: INDEX_VERSION,
    crc,
    packs: [{ version: old.publication, whole: true }],
    pieces: old.pieces.map((p) => ({ ...p, pack: old.publication })),
  };
}

/**
 * A publication's index, if it is there and agrees with the publication and with its packs'
 * files (each long enough for the pieces read from it; the publication's own whole pack
 * exactly as long as the feed); undefined otherwise (the caller builds in full).
 */
export async function readFeedIndex(file: string, expect: IndexExpectation): Promise<FeedIndex | undefined> {
  const index = await loadFeedIndex(file, expect);
  if (!index) return undefined;
  const ends = new Map<number, Record<PackFile, number>>();
  for (const p of index.pieces) {
    const e = ends.get(p.pack) ?? { feed: 0, gzip: 0, items: 0 };
    e.feed = Math.max(e.feed, p.offset + p.length);
    e.gzip = Math.max(e.gzip, p.gzOffset + p.gzLength);
    e.items = Math.max(e.items, p.itemsOffset + p.itemsLength);
    ends.set(p.pack, e);
  }
  for (const pack of index.packs) {
    const files = publicationFiles(expect.dataDir, expect.channelId, pack.version, index.format, pack.whole);
    const end = ends.get(pack.version) ?? { feed: 0, gzip: 0, items: 0 };
    const sizes = await Promise.all(
      (['feed', 'gzip', 'items'] as const).map((f) =>
        fsp.stat(files[f]).then(
          (s) => s.size,
          () => -1,
        ),
      ),
    );
    const [feed, gzip, items] = sizes as [number, number, number];
    const exact = pack.whole && pack.version === index.publication;
    if (exact) {
      if (feed !== index.bytes || gzip !== index.gzipBytes || items !== index.itemsBytes) return undefined;
    } else if (feed < end.feed || gzip < end.gzip || items < end.items) {
      return undefined;
    }
  }
  return index;
}
