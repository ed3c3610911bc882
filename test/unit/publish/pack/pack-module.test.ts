import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  channelFeedsDir,
  type FeedIndex,
  type FeedPiece,
  type NewPiece,
  PackReader,
  PieceWriter,
  publicationFiles,
  readFeedIndex,
  readPublication,
  type WrittenFeed,
} from '../../../../src/publish/pack/index.js';

// The pack module through its interface only: what build and serve use of it.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-pack-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));
const CHANNEL = 'packs';
fs.mkdirSync(channelFeedsDir(dataDir, CHANNEL), { recursive: true });

const head = 'sku,title\r\n';
const tail = '';
const segment = (from: number, n: number, title = 'thing') =>
  Array.from(
    { length: n },
    (_, i) => `S${String(from + i).padStart(4, '0')},${title} ${from + i} ✓\r\n`,
  ).join('');

function piece(kind: NewPiece['kind'], text: string, last: string | null = null): NewPiece {
  return {
    kind,
    last,
    products: 0,
    items: 0,
    exclusions: [],
    text,
    itemLines: last ? `${last}\thash-${text.length}\n` : '',
  };
}

/** Writes a publication's pack as `build` says, under its final names. */
async function write(
  version: number,
  whole: boolean,
  build: (w: PieceWriter) => Promise<void>,
): Promise<WrittenFeed> {
  const writer = new PieceWriter(publicationFiles(dataDir, CHANNEL, version, 'csv', whole), {
    publication: version,
    format: 'csv',
    whole,
  });
  await writer.open();
  await build(writer);
  return writer.finish();
}

const feedOf = (version: number, w: WrittenFeed) => ({
  channel: CHANNEL,
  version,
  format: 'csv',
  bytes: w.bytes,
  gzipBytes: w.gzipBytes,
  sha256: w.sha256,
});

const expectation = (version: number, w: WrittenFeed) => ({
  dataDir,
  channelId: CHANNEL,
  publication: version,
  format: 'csv',
  bytes: w.bytes,
  gzipBytes: w.gzipBytes,
  sha256: w.sha256,
});

const indexFile = (version: number) => publicationFiles(dataDir, CHANNEL, version, 'csv').index;

const segments = [segment(0, 40), segment(40, 40), segment(80, 40)];
const lasts = ['S0039', 'S0079', 'S0119'];
// The middle segment as a stock-only rebuild writes it again.
const moved = segment(40, 40, 'moved');

describe('pack module', () => {
  let v1: WrittenFeed;
  let v2: WrittenFeed;

  it('reads back a whole pack as written: the feed, the item list, and a gzip twin of the same bytes', async () => {
    v1 = await write(1, true, async (w) => {
      await w.add(piece('head', head));
      for (const [i, text] of segments.entries()) await w.add(piece('segment', text, lasts[i] as string));
      await w.add(piece('tail', tail));
    });
    const expected = Buffer.from(head + segments.join('') + tail, 'utf8');
    const feed = await readPublication(dataDir, feedOf(1, v1), 'feed');
    expect(feed.equals(expected)).toBe(true);
    expect(v1.bytes).toBe(expected.length);
    const gzip = await readPublication(dataDir, feedOf(1, v1), 'gzip');
    expect(gzip.length).toBe(v1.gzipBytes);
    expect(zlib.gunzipSync(gzip).equals(expected)).toBe(true);
    const items = await readPublication(dataDir, feedOf(1, v1), 'items');
    expect(items.toString('utf8')).toBe(lasts.map((l, i) => `${l}\thash-${segments[i]?.length}\n`).join(''));
  });

  it("records the feed's CRC-32 in its index, as zlib computes it over the whole feed", () => {
    const feed = Buffer.from(head + segments.join('') + tail, 'utf8');
    expect(v1.index.crc).toBe(zlib.crc32(feed));
    expect(v1.index.pieces.map((p) => p.kind)).toEqual(['head', 'segment', 'segment', 'segment', 'tail']);
  });

  it('serves a delta pack with the pieces it references as one feed, and its gzip twin as one member', async () => {
    const old = v1.index.pieces;
    v2 = await write(2, false, async (w) => {
      w.reference(old.slice(0, 2), v1.index.packs);
      await w.add(piece('segment', moved, lasts[1] as string));
      w.reference(old.slice(3), v1.index.packs);
    });
    expect(v2.whole).toBe(false);
    expect(v2.index.packs.map((p) => p.version)).toEqual([2, 1]);
    const expected = Buffer.from(head + segments[0] + moved + segments[2] + tail, 'utf8');
    const feed = await readPublication(dataDir, feedOf(2, v2), 'feed');
    expect(feed.equals(expected)).toBe(true);
    expect(v2.index.crc).toBe(zlib.crc32(expected));
    const gzip = await readPublication(dataDir, feedOf(2, v2), 'gzip');
    expect(gzip.length).toBe(v2.gzipBytes);
    // gunzip checks the trailer's CRC-32 and length against what it decoded.
    expect(zlib.gunzipSync(gzip).equals(expected)).toBe(true);
  });

  it('gives a feed the same checksum however its pieces are packed', async () => {
    const whole = await write(3, true, async (w) => {
      await w.add(piece('head', head));
      await w.add(piece('segment', segments[0] as string, lasts[0] as string));
      await w.add(piece('segment', moved, lasts[1] as string));
      await w.add(piece('segment', segments[2] as string, lasts[2] as string));
      await w.add(piece('tail', tail));
    });
    expect(whole.sha256).toBe(v2.sha256);
    expect(whole.bytes).toBe(v2.bytes);
    expect(whole.gzipBytes).toBe(v2.gzipBytes);
    expect(whole.sha256).not.toBe(v1.sha256);
  });

  it('copies pieces of several packs into a whole pack byte for byte', async () => {
    const reader = new PackReader(dataDir, CHANNEL, 'csv', v2.index.packs);
    let copied: WrittenFeed;
    try {
      copied = await write(4, true, (w) => w.copy(reader, v2.index.pieces));
    } finally {
      await reader.close();
    }
    expect(copied.sha256).toBe(v2.sha256);
    expect(await readFeedIndex(indexFile(4), expectation(4, copied))).toBeDefined();
    const files = publicationFiles(dataDir, CHANNEL, 4, 'csv');
    const expected = await readPublication(dataDir, feedOf(2, v2), 'feed');
    expect(fs.readFileSync(files.feed).equals(expected)).toBe(true);
    expect(zlib.gunzipSync(fs.readFileSync(files.gzip)).equals(expected)).toBe(true);
    expect(
      fs.readFileSync(files.gzip).equals(fs.readFileSync(publicationFiles(dataDir, CHANNEL, 3, 'csv').gzip)),
    ).toBe(true);
  });

  it('reads each piece from its own pack, even where two delta packs hold pieces at matching offsets', async () => {
    // Segments 0 and 2 written again into pack 5, segment 1 still in pack 2: the same bytes
    // each, so segment 1 ends in pack 2 where segment 2 starts in pack 5.
    const again = moved;
    const v5 = await write(5, false, async (w) => {
      w.reference(v2.index.pieces.slice(0, 1), v2.index.packs);
      await w.add(piece('segment', again, lasts[0] as string));
      w.reference(v2.index.pieces.slice(2, 3), v2.index.packs);
      await w.add(piece('segment', again, lasts[2] as string));
      w.reference(v2.index.pieces.slice(4), v2.index.packs);
    });
    const [, s0, s1, s2] = v5.index.pieces as [FeedPiece, FeedPiece, FeedPiece, FeedPiece];
    expect([s0.pack, s1.pack, s2.pack]).toEqual([5, 2, 5]);
    expect([s2.offset, s2.gzOffset, s2.itemsOffset]).toEqual([
      s1.offset + s1.length,
      s1.gzOffset + s1.gzLength,
      s1.itemsOffset + s1.itemsLength,
    ]);
    const expected = Buffer.from(head + again + moved + again + tail, 'utf8');
    expect((await readPublication(dataDir, feedOf(5, v5), 'feed')).equals(expected)).toBe(true);
    const gzip = await readPublication(dataDir, feedOf(5, v5), 'gzip');
    expect(zlib.gunzipSync(gzip).equals(expected)).toBe(true);
  });

  it('reads an index that agrees with its publication and its packs, and refuses one that does not', async () => {
    const index = (await readFeedIndex(indexFile(2), expectation(2, v2))) as FeedIndex;
    expect(index).toBeDefined();
    expect(index.pieces.map((p: FeedPiece) => p.pack)).toEqual([1, 1, 2, 1, 1]);
    // Another checksum, another size, another publication: not this publication's index.
    expect(await readFeedIndex(indexFile(2), { ...expectation(2, v2), sha256: v1.sha256 })).toBeUndefined();
    expect(await readFeedIndex(indexFile(2), { ...expectation(2, v2), bytes: v2.bytes + 1 })).toBeUndefined();
    expect(await readFeedIndex(indexFile(2), expectation(1, v1))).toBeUndefined();
    // A pack it reads from cut short: the index no longer agrees with its files.
    const v1Feed = publicationFiles(dataDir, CHANNEL, 1, 'csv').feed;
    const bytes = fs.readFileSync(v1Feed);
    fs.truncateSync(v1Feed, bytes.length - 1);
    try {
      expect(await readFeedIndex(indexFile(2), expectation(2, v2))).toBeUndefined();
    } finally {
      fs.writeFileSync(v1Feed, bytes);
    }
    expect(await readFeedIndex(indexFile(2), expectation(2, v2))).toBeDefined();
  });
});
