import fs from 'node:fs/promises';
import path from 'node:path';
import { isId } from '../../model/ids.js';

/** The folder under DATA_DIR that holds every channel's built feeds. */
export function feedsRoot(dataDir: string): string {
  return path.join(dataDir, 'feeds');
}

/**
 * The folder of one channel's feeds. Channel ids are checked against ID_PATTERN when a
 * definition is saved; this checks again that the folder stays inside the feeds root, so a
 * name like `..` can never reach another folder.
 */
export function channelFeedsDir(dataDir: string, channelId: string): string {
  const root = feedsRoot(dataDir);
  const dir = path.resolve(root, channelId);
  if (!isId(channelId) || path.dirname(dir) !== path.resolve(root)) {
    throw new RangeError(`"${channelId}" is not a channel id`);
  }
  return dir;
}

/**
 * The files of one publication: the feed, its gzip twin, its item list (sku, hash), and the
 * index of its pieces (see pieces.ts).
 */
export interface PublicationFiles {
  feed: string;
  gzip: string;
  items: string;
  index: string;
}

/**
 * Where a publication's files live once switched in: `{dir}/{version}.{ext}` and siblings.
 * A whole build writes the whole feed there (`whole`, the default). A stock-only rebuild
 * writes only the pieces it rendered again, as a delta pack (`{version}.{ext}.delta` and
 * siblings); its index names the older packs that hold the rest (see pieces.ts).
 */
export function publicationFiles(
  dataDir: string,
  channelId: string,
  version: number,
  ext: string,
  whole = true,
): PublicationFiles {
  const base = path.join(channelFeedsDir(dataDir, channelId), `${version}.${ext}`);
  const end = whole ? '' : '.delta';
  return {
    feed: `${base}${end}`,
    gzip: `${base}.gz${end}`,
    items: `${base}.items${end}`,
    index: `${base}.index`,
  };
}

/** Temporary names beside the final ones: a reader never sees a file until it is whole. */
export function temporaryFiles(final: PublicationFiles, tag: string): PublicationFiles {
  const tmp = (file: string) => path.join(path.dirname(file), `.tmp-${tag}-${path.basename(file)}`);
  return { feed: tmp(final.feed), gzip: tmp(final.gzip), items: tmp(final.items), index: tmp(final.index) };
}

/** Flushes a folder's entries (the renames) to disk. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Deletes a channel's publications older than the newest `keep` ones, but not the packs
 * that a kept publication's index still reads pieces from, and temporary files older than an
 * hour (left by a build that was killed). A reader that opened an old file keeps reading it:
 * the data stays until the file is closed. An index that cannot be read keeps every older
 * version (nothing is deleted that might be in use).
 */
export async function pruneFeeds(dir: string, newest: number, keep = 3, now = Date.now()): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const referenced = new Set<number>();
  for (const name of names) {
    const version = /^(\d+)\.[a-z]+\.index$/.exec(name)?.[1];
    if (version === undefined || Number(version) <= newest - keep) continue;
    const packs = await packsOf(path.join(dir, name));
    if (packs === undefined) return;
    for (const p of packs) referenced.add(p);
  }
  for (const name of names) {
    const file = path.join(dir, name);
    const version = /^(\d+)\./.exec(name)?.[1];
    if (version !== undefined && Number(version) <= newest - keep) {
      if (!referenced.has(Number(version))) await fs.rm(file, { force: true });
    } else if (name.startsWith('.tmp-')) {
      const stat = await fs.stat(file).catch(() => undefined);
      if (stat && now - stat.mtimeMs > 3_600_000) await fs.rm(file, { force: true });
    }
  }
}

/** The versions whose packs an index reads pieces from; undefined when it cannot be read. */
async function packsOf(indexFile: string): Promise<number[] | undefined> {
  try {
    const index = JSON.parse(await fs.readFile(indexFile, 'utf8')) as { packs?: Array<{ version: number }> };
    // An index naming no packs reads only its own files.
    return (index.packs ?? []).map((p) => p.version);
  } catch (err) {
    // Pruned meanwhile, or never fully written: it holds nothing back.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    return undefined;
  }
}
