import fsp, { type FileHandle } from 'node:fs/promises';
import { crc32Combine } from './crc.js';
import { deflatePiece, GZIP_HEADER, gzipTrailer, TRAILER_BYTES } from './gzip.js';
import {
  contiguousRuns,
  encodeText,
  type FeedIndex,
  type FeedPiece,
  feedChecksum,
  INDEX_VERSION,
  type NewPiece,
  type PackRef,
  SEGMENT_PRODUCTS,
} from './pieces.js';
import type { PackReader } from './reader.js';

/** The files one build writes (temporary names). */
export interface PieceFiles {
  feed: string;
  gzip: string;
  items: string;
  index: string;
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
