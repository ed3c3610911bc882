import fsp from 'node:fs/promises';
import { Readable } from 'node:stream';
import { publicationFiles } from './files.js';
import { GZIP_HEADER, gzipTrailer } from './gzip.js';
import { loadFeedIndex } from './index-check.js';
import { contiguousRuns, type FeedIndex, type FeedPiece, type PackFile, pieceRange } from './pieces.js';
import { PackReader } from './reader.js';

/** What reading a publication's files needs to know of it (a `Publication` has it all). */
export interface PublishedFeed {
  channel: string;
  version: number;
  format: string;
  bytes: number;
  gzipBytes: number;
  sha256: string;
}

/** A publication's feed, gzip twin or item list, streamed, and its length in bytes. */
export interface OpenedFeed {
  stream: Readable;
  length: number;
}

/** Thrown when a publication's files are not on this server (pruned, or never written here). */
export class FeedFilesMissing extends Error {
  constructor(feed: PublishedFeed, cause?: unknown) {
    super(`the files of channel "${feed.channel}" publication ${feed.version} are missing`, { cause });
  }
}

const READ_CHUNK = 1024 * 1024;
const INDEX_CACHE = 16;
// Indexes of publications served from several packs, parsed once (they never change).
const indexes = new Map<string, FeedIndex>();

/**
 * Opens one of a publication's files for reading as served. A whole build's pack is the
 * file itself; a stock-only rebuild's publication is read piece by piece from the packs its
 * index names (pieces.ts), the gzip twin framed with the member's header and trailer.
 * Every file is opened before this returns, so a pruning meanwhile does not cut the stream.
 */
export async function openPublication(
  dataDir: string,
  feed: PublishedFeed,
  file: PackFile,
): Promise<OpenedFeed> {
  const files = publicationFiles(dataDir, feed.channel, feed.version, feed.format);
  try {
    const handle = await fsp.open(files[file], 'r');
    const { size } = await handle.stat();
    return { stream: handle.createReadStream(), length: size };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const index = await publicationIndex(dataDir, feed);
  const reader = new PackReader(dataDir, feed.channel, feed.format, index.packs);
  try {
    await reader.openAll(file);
  } catch (err) {
    await reader.close();
    throw new FeedFilesMissing(feed, err);
  }
  const length = file === 'feed' ? index.bytes : file === 'gzip' ? index.gzipBytes : index.itemsBytes;
  return { stream: Readable.from(readPieces(reader, index, file), { objectMode: false }), length };
}

/** Reads a publication's index, once; FeedFilesMissing when it is not there or not its own. */
async function publicationIndex(dataDir: string, feed: PublishedFeed): Promise<FeedIndex> {
  const file = publicationFiles(dataDir, feed.channel, feed.version, feed.format).index;
  const key = `${file}\n${feed.sha256}`;
  const cached = indexes.get(key);
  if (cached) return cached;
  const index = await loadFeedIndex(file, {
    dataDir,
    channelId: feed.channel,
    publication: feed.version,
    format: feed.format,
    bytes: feed.bytes,
    gzipBytes: feed.gzipBytes,
    sha256: feed.sha256,
  });
  if (!index) throw new FeedFilesMissing(feed);
  if (indexes.size >= INDEX_CACHE) indexes.delete(indexes.keys().next().value as string);
  indexes.set(key, index);
  return index;
}

async function* readPieces(reader: PackReader, index: FeedIndex, file: PackFile): AsyncGenerator<Buffer> {
  try {
    if (file === 'gzip') yield GZIP_HEADER;
    for (const run of contiguousRuns(index.pieces)) {
      const head = run[0] as FeedPiece;
      const first = pieceRange(head, file);
      const last = pieceRange(run.at(-1) as FeedPiece, file);
      const end = last.offset + last.length;
      const handle = await reader.handle(head.pack, file);
      for (let at = first.offset; at < end; ) {
        const want = Math.min(READ_CHUNK, end - at);
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await handle.read(buf, 0, want, at);
        if (bytesRead !== want)
          throw new Error(`a pack of publication ${index.publication} is shorter than its index says`);
        yield buf;
        at += want;
      }
    }
    if (file === 'gzip') yield gzipTrailer(index.crc, index.bytes);
  } finally {
    await reader.close();
  }
}

/** A publication's whole file of one kind, in memory (tests and small reads). */
export async function readPublication(dataDir: string, feed: PublishedFeed, file: PackFile): Promise<Buffer> {
  const { stream } = await openPublication(dataDir, feed, file);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
