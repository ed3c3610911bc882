import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import type { ExclusionCount } from '../../store/publications.js';

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
 * pruned once no kept publication reads from it (files.ts).
 *
 * The gzip twin is one gzip member: a fixed header, then each piece deflated on its own and
 * ended by a full flush (byte aligned, no reference to earlier pieces, so its bytes do not
 * depend on what precedes it), then an empty final block and the trailer, whose CRC-32 is
 * combined from the pieces' CRCs. Every gzip reader decodes it as one ordinary stream. A
 * delta pack's gzip file holds only its pieces' deflated bytes.
 */
export const SEGMENT_PRODUCTS = 500;

/** The index's layout version (an index of another layout is refused: the caller builds in full). */
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
