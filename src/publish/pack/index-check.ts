import fsp from 'node:fs/promises';
import { publicationFiles } from './files.js';
import { GZIP_HEADER, TRAILER_BYTES } from './gzip.js';
import { type FeedIndex, feedChecksum, INDEX_VERSION, type PackFile, SEGMENT_PRODUCTS } from './pieces.js';

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
 * Reads a publication's index, without looking at the pack files; undefined
 * when it is missing, malformed, or disagrees with the publication (sizes, checksum).
 */
export async function loadFeedIndex(file: string, expect: IndexExpectation): Promise<FeedIndex | undefined> {
  let index: FeedIndex;
  try {
    index = JSON.parse(await fsp.readFile(file, 'utf8')) as FeedIndex;
  } catch {
    return undefined;
  }
  if (typeof index !== 'object' || index === null || !Array.isArray(index.pieces)) return undefined;
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
