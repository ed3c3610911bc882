import { createHash, hash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip, type ZlibOptions } from 'node:zlib';
import { compileMapping } from '../channels/mapping.js';
import { channelFormat } from '../channels/presets.js';
import type { FeedValue } from '../channels/types.js';
import { AppError } from '../errors.js';
import { reportOperation } from '../metrics.js';
import { compileRuleSets } from '../rules/engine.js';
import { loadRuleSets } from '../rules/service.js';
import { getChannel } from '../store/channels.js';
import { recordHistory } from '../store/history.js';
import { streamProductBatches } from '../store/products.js';
import {
  catalogRevision,
  currentBuildInputs,
  type ExclusionCount,
  insertPublication,
  latestPublication,
  nextPublicationVersion,
  type Publication,
} from '../store/publications.js';
import type { Queryable, Session, Store } from '../store/types.js';
import { channelFeedsDir, pruneFeeds, publicationFiles, syncDir, temporaryFiles } from './feed-files.js';
import { escapeSku, ItemDiffer } from './item-diff.js';
import { createSerializer } from './serialize/index.js';
import { endStream, writeChunk } from './streams.js';

/** How a build was asked for, and by whom (both go into the publication and history). */
export interface BuildRequest {
  channelId: string;
  reason: string;
  actor: string;
  /** The instant rules are evaluated at (their windows); now by default. */
  at?: Date;
  /** Told the number of products read so far, after each batch. */
  onProgress?: (products: number) => void;
  /** Told, once the feed is written, where the build's time went (the benchmark's breakdown). */
  onTimings?: (timings: BuildTimings) => void;
}

/**
 * Milliseconds a build spent in each phase, summed over its batches. Writes to the feed and
 * its gzip twin overlap the work that follows them, so `write` is the time spent waiting.
 */
export interface BuildTimings {
  /** Waiting for the next batch of products from the store. */
  read: number;
  /** Rules, field mapping and item hashes. */
  render: number;
  /** The serializer (csv-stringify, the XML or JSON writer). */
  serialize: number;
  /** sha256 of the feed, and waiting for the feed and gzip writes. */
  write: number;
  /** The item list and the diff against the previous publication. */
  items: number;
  /** Ending the files (fsync on close) and the last of gzip. */
  finish: number;
}

/** Where feeds are written, and the clock. */
export interface BuildContext {
  store: Store;
  dataDir: string;
  now?: () => Date;
}

/** How often a build starts again when an import changed the catalog while it was read. */
const MAX_ATTEMPTS = 3;

/**
 * Builds a channel's feed and switches it in (SPEC §3 "Publication"): the catalog streams
 * from the store in sku order through the channel's rule sets, field mapping and
 * serializer into temporary files (the feed, its gzip twin and its item list), which are
 * fsynced and renamed into place; only then is the publication recorded and served.
 * Readers get the old complete feed or the new one. A failure leaves the old one and is
 * recorded in history. Only one build of a channel runs at a time across processes.
 */
export async function buildChannelFeed(ctx: BuildContext, req: BuildRequest): Promise<Publication> {
  const now = ctx.now ?? (() => new Date());
  const build = ctx.store.session(async (session) => {
    await lockChannelBuild(session, req.channelId);
    try {
      for (let attempt = 1; ; attempt++) {
        const started = now();
        try {
          const result = await buildOnce(session, ctx.dataDir, req, req.at ?? started, started, now);
          if (result !== 'catalog-changed') return result;
        } catch (err) {
          await recordFailure(session, req, err);
          throw err;
        }
        if (attempt >= MAX_ATTEMPTS) {
          const err = new AppError(
            'PUBLISH_FAILED',
            `the catalog changed during each of ${MAX_ATTEMPTS} builds of channel "${req.channelId}"`,
          );
          await recordFailure(session, req, err);
          throw err;
        }
      }
    } finally {
      await unlockChannelBuild(session, req.channelId);
    }
  });
  return reportBuild(ctx.store, req.channelId, build);
}

/** Tells /metrics how a build ended. */
async function reportBuild(store: Store, channel: string, build: Promise<Publication>): Promise<Publication> {
  try {
    const publication = await build;
    reportOperation(store, { type: 'build', channel, ok: true, seconds: publication.buildMs / 1000 });
    return publication;
  } catch (err) {
    reportOperation(store, { type: 'build', channel, ok: false });
    throw err;
  }
}

async function buildOnce(
  db: Session,
  dataDir: string,
  req: BuildRequest,
  at: Date,
  started: Date,
  now: () => Date,
): Promise<Publication | 'catalog-changed'> {
  // Versions first, definitions second: a change in between makes the recorded versions
  // older than what was built, and the next staleness check builds again (never the reverse).
  const inputs = await currentBuildInputs(db, req.channelId);
  const channel = await getChannel(db, req.channelId);
  if (!inputs || !channel) throw new AppError('CHANNEL_NOT_FOUND', `no channel "${req.channelId}"`);
  const def = channel.definition;
  const { ruleSets } = await loadRuleSets(db, { ids: def.rules ?? [] });
  const evaluator = compileRuleSets(ruleSets, { trusted: true });
  const mapper = compileMapping(def);
  const serializer = createSerializer(def, mapper.columns);
  const format = channelFormat(def);

  const version = await nextPublicationVersion(db, channel.id);
  const previous = await latestPublication(db, channel.id);
  const dir = channelFeedsDir(dataDir, channel.id);
  await fsp.mkdir(dir, { recursive: true });
  const final = publicationFiles(dataDir, channel.id, version, format);
  const tmp = temporaryFiles(final, `${process.pid}-${randomBytes(6).toString('hex')}`);
  const previousItems = previous
    ? publicationFiles(dataDir, channel.id, previous.version, previous.format).items
    : undefined;
  const differ = new ItemDiffer(previousItems && fs.existsSync(previousItems) ? previousItems : undefined);

  const feedOut = fs.createWriteStream(tmp.feed, { flush: true });
  const itemsOut = fs.createWriteStream(tmp.items, { flush: true });
  // zlib compresses on the thread pool: a deep write buffer lets it work while the next batch
  // is read and rendered, instead of the build waiting for each batch to be compressed.
  const gzip = createGzip({
    level: 6,
    chunkSize: 1024 * 1024,
    writableHighWaterMark: 32 * 1024 * 1024,
  } as ZlibOptions);
  const gzipDone = pipeline(gzip, fs.createWriteStream(tmp.gzip, { flush: true }));
  // Until it is awaited below, a gzip failure must not be an unhandled rejection.
  gzipDone.catch(() => {});
  const sha = createHash('sha256');
  let bytes = 0;
  const write = async (text: string) => {
    if (text === '') return;
    sha.update(text);
    bytes += Buffer.byteLength(text);
    await Promise.all([writeChunk(feedOut, text), writeChunk(gzip, text)]);
  };

  let items = 0;
  let excluded = 0;
  let read = 0;
  const exclusions = new Map<string, ExclusionCount>();
  let switched = false;
  try {
    const timings: BuildTimings = { read: 0, render: 0, serialize: 0, write: 0, items: 0, finish: 0 };
    let mark = performance.now();
    const lap = (phase: keyof BuildTimings) => {
      const t = performance.now();
      timings[phase] += t - mark;
      mark = t;
    };
    await write(serializer.head());
    for await (const batch of streamProductBatches(db, channel.catalog)) {
      lap('read');
      read += batch.length;
      req.onProgress?.(read);
      const rows: FeedValue[][] = [];
      const skus: string[] = [];
      const hashes: string[] = [];
      let itemLines = '';
      for (const product of batch) {
        const result = evaluator.apply(product, at);
        if (!result.included) {
          excluded++;
          const by = result.excludedBy;
          const key = `${by?.ruleSet ?? ''}\u0000${by?.rule ?? ''}\u0000${by?.reason ?? ''}`;
          const seen = exclusions.get(key);
          if (seen) seen.count++;
          else
            exclusions.set(key, {
              ruleSet: by?.ruleSet ?? null,
              rule: by?.rule ?? null,
              reason: by?.reason ?? 'excluded',
              count: 1,
            });
          continue;
        }
        const values = mapper.map(result.product);
        const itemHash = hash('sha1', JSON.stringify(values), 'base64').slice(0, 16);
        rows.push(values);
        skus.push(product.sku);
        hashes.push(itemHash);
        itemLines += `${escapeSku(product.sku)}\t${itemHash}\n`;
      }
      items += rows.length;
      lap('render');
      if (rows.length > 0) {
        const text = serializer.items(rows);
        lap('serialize');
        await write(text);
        lap('write');
        await writeChunk(itemsOut, itemLines);
        await differ.add(skus, hashes);
        lap('items');
      }
    }
    await write(serializer.tail());
    await Promise.all([endStream(feedOut), endStream(itemsOut), endStream(gzip).then(() => gzipDone)]);
    lap('finish');
    req.onTimings?.(timings);

    // An import applied while the catalog was being read: the feed may mix both; build again.
    if ((await catalogRevision(db, channel.catalog)) !== inputs.catalogRevision) {
      await removeFiles(tmp);
      return 'catalog-changed';
    }
    const diff = await differ.finish();
    const gzipBytes = (await fsp.stat(tmp.gzip)).size;
    await fsp.rename(tmp.gzip, final.gzip);
    await fsp.rename(tmp.items, final.items);
    await fsp.rename(tmp.feed, final.feed);
    await syncDir(dir);
    switched = true;
    const finished = now();
    const publication = await db.transaction((tx) =>
      insertPublication(tx, {
        channel: channel.id,
        catalog: channel.catalog,
        version,
        builtAt: finished,
        format,
        contentType: serializer.contentType,
        items,
        excluded,
        exclusions: [...exclusions.values()].sort((a, b) => b.count - a.count),
        bytes,
        gzipBytes,
        sha256: sha.digest('hex'),
        added: diff.added,
        removed: diff.removed,
        changed: diff.changed,
        diff: diff.lists,
        buildMs: Math.max(0, finished.getTime() - started.getTime()),
        ...inputs,
        nextBoundary: evaluator.nextBoundary(at)?.toISOString() ?? null,
        reason: req.reason,
        actor: req.actor,
      }),
    );
    await pruneFeeds(dir, version).catch(() => {});
    return publication;
  } catch (err) {
    feedOut.destroy();
    itemsOut.destroy();
    gzip.destroy();
    await gzipDone.catch(() => {});
    // Before the switch, the temporary files are garbage; after it, the new files are
    // unreferenced until a later build of the same version renames over them.
    if (!switched) await removeFiles(tmp);
    throw err;
  }
}

async function recordFailure(db: Queryable, req: BuildRequest, err: unknown): Promise<void> {
  const channel = await getChannel(db, req.channelId).catch(() => undefined);
  await recordHistory(db, {
    type: 'publication.failed',
    catalogId: channel?.catalog ?? null,
    channelId: req.channelId,
    actor: req.actor,
    data: {
      reason: req.reason,
      error: err instanceof Error ? err.message : String(err),
      ...(err instanceof AppError ? { code: err.code } : {}),
    },
  }).catch(() => {});
}

async function removeFiles(files: { feed: string; gzip: string; items: string }): Promise<void> {
  await Promise.all([files.feed, files.gzip, files.items].map((f) => fsp.rm(f, { force: true })));
}

// The schema is part of the key so that test schemas on one server do not contend.
const BUILD_KEY = "hashtext('feedwright.publish:' || current_schema() || ':' || $1)";

async function lockChannelBuild(session: Queryable, channelId: string): Promise<void> {
  // Another process is building this channel: wait for it (it holds the lock until done).
  for (let waited = 0; ; waited += 250) {
    const rows = await session.query<{ ok: boolean }>({
      text: `SELECT pg_try_advisory_lock(${BUILD_KEY}) AS ok`,
      values: [channelId],
    });
    if (rows[0]?.ok) return;
    if (waited > 15 * 60_000)
      throw new AppError(
        'PUBLISH_BUSY',
        `another process has been building channel "${channelId}" for 15 minutes`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function unlockChannelBuild(session: Queryable, channelId: string): Promise<void> {
  await session
    .query({ text: `SELECT pg_advisory_unlock(${BUILD_KEY})`, values: [channelId] })
    .catch(() => {});
}
