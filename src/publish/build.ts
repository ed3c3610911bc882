import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import { compileMapping } from '../channels/mapping.js';
import { channelFormat } from '../channels/output.js';
import { AppError } from '../errors.js';
import { reportOperation } from '../metrics.js';
import { compileRuleSets } from '../rules/engine.js';
import { loadRuleSets } from '../rules/service.js';
import { getChannel } from '../store/channels.js';
import { recordHistory } from '../store/history.js';
import { type ProductText, streamProductTextBatches } from '../store/products.js';
import {
  type BuildInputs,
  catalogRevision,
  currentBuildInputs,
  insertPublication,
  latestPublication,
  nextPublicationVersion,
  type Publication,
} from '../store/publications.js';
import type { Queryable, Session, Store } from '../store/types.js';
import type { BuildJob } from './build-job.js';
import {
  channelFeedsDir,
  type PublicationFiles,
  pruneFeeds,
  publicationFiles,
  syncDir,
  temporaryFiles,
} from './feed-files.js';
import { type NewPiece, PieceWriter, SEGMENT_PRODUCTS, type WrittenFeed } from './feed-pieces.js';
import { openPublication } from './feed-reader.js';
import { type ItemDiff, ItemDiffer } from './item-diff.js';
import { BuildRenderer, type RenderedPiece } from './piece-renderer.js';
import { sumExclusions } from './render-segment.js';
import { createSerializer } from './serialize/index.js';
import { planStockRebuild, rebuildStock, sameVersions } from './stock-rebuild.js';

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
  /**
   * Told when this build switched a new publication in; not when an automatic rebuild found
   * the feed already up to date and gave back the latest publication as it was.
   */
  onSwitchedIn?: (publication: Publication) => void;
  /**
   * When only the stock moved since the last publication, write again only the segments
   * that hold the moved skus (see stock-rebuild.ts); otherwise, or in any doubt, a whole
   * build. Automatic builds ask for it; a build on demand is always whole.
   */
  incremental?: boolean;
}

/**
 * Milliseconds a build spent in each phase, summed over its batches. The phases of the
 * build's own thread add up to its time; `thread` is the render threads' (summed), which overlaps
 * them. Writes to the feed and its gzip twin overlap the work that follows them, so `write`
 * is the time spent waiting.
 */
export interface BuildTimings {
  /** Waiting for the next batch of products from the store. */
  read: number;
  /** Rules, field mapping and item hashes of the segments rendered on this thread. */
  render: number;
  /** Their serializer (csv-stringify, the XML or JSON writer) and encoding with checksums. */
  serialize: number;
  /** Handing segments to the render threads, and waiting for the next one back. */
  wait: number;
  /** Waiting for the feed and gzip writes. */
  write: number;
  /** The item list and the diff against the previous publication. */
  items: number;
  /** Ending the files (fsync on close) and the last of gzip. */
  finish: number;
  /** The render threads: how many, the products they rendered, and their time (summed) in rendering and serializing. */
  thread: { count: number; products: number; render: number; serialize: number };
}

type MainPhase = Exclude<keyof BuildTimings, 'thread'>;

/** Where feeds are written, and the clock. */
export interface BuildContext {
  store: Store;
  dataDir: string;
  now?: () => Date;
  /**
   * Products a whole build renders on its own thread before render threads take over
   * (`RENDER_THREAD_AFTER` by default; Infinity: never).
   */
  renderThreadAfter?: number;
}

/**
 * A whole build renders this many products itself, then hands the rest to render threads
 * of its own: about half a second of rendering, against some 30 ms to start a thread.
 */
export const RENDER_THREAD_AFTER = 20_000;

/** Segments the render threads may be ahead of the writes: four for each of two threads. */
const RENDER_AHEAD = 8;

/** Products read from the store at a time: whole segments. */
const STORE_BATCH = SEGMENT_PRODUCTS * 4;

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
          const result = await buildOnce(session, ctx, req, req.at ?? started, started, now);
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
  { dataDir, renderThreadAfter }: BuildContext,
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
  // An automatic rebuild queued behind a build that already covered its change: nothing to do.
  if (req.incremental && previous && isUpToDate(previous, inputs, format, at)) return previous;
  const dir = channelFeedsDir(dataDir, channel.id);
  await fsp.mkdir(dir, { recursive: true });
  const tag = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const final = publicationFiles(dataDir, channel.id, version, format);
  const tmp = temporaryFiles(final, tag);
  const job: BuildJob = {
    db,
    channel: { id: channel.id, catalog: channel.catalog },
    inputs,
    evaluator,
    mapper,
    serializer,
    format,
    version,
    previous,
    dataDir,
    at,
  };

  if (req.incremental && previous) {
    const plan = await planStockRebuild(job, previous);
    if (plan) {
      let pack: { writer: PieceWriter; tmp: PublicationFiles; final: PublicationFiles } | undefined;
      const open = (whole: boolean) => {
        const packFinal = publicationFiles(dataDir, channel.id, version, format, whole);
        const packTmp = temporaryFiles(packFinal, tag);
        pack = {
          writer: new PieceWriter(packTmp, { publication: version, format, whole }),
          tmp: packTmp,
          final: packFinal,
        };
        return pack.writer;
      };
      // Any doubt (an old file gone or short, a read failing): a whole build instead.
      const result = await rebuildStock(job, plan, open).catch(() => 'full' as const);
      const written = pack;
      if (result === 'full' || result === 'catalog-changed' || !written) {
        if (written) {
          await written.writer.close();
          await removeFiles(written.tmp);
        }
        if (result === 'catalog-changed') return 'catalog-changed';
      } else {
        return await switchIn(job, {
          dir,
          tmp: written.tmp,
          final: written.final,
          written: result.written,
          diff: result.diff,
          reason: `stock moved (${plan.moved.length} sku${plan.moved.length === 1 ? '' : 's'})`,
          req,
          started,
          now,
        });
      }
    }
  }

  // The previous item list, for the diff; none when its files are gone (every item is new).
  const previousItems = previous
    ? await openPublication(dataDir, previous, 'items').catch(() => undefined)
    : undefined;
  const differ = new ItemDiffer(previousItems?.stream);
  const writer = new PieceWriter(tmp, { publication: version, format, whole: true });
  const renderer = new BuildRenderer(
    { ruleSets, channel: def, at: at.getTime() },
    renderThreadAfter ?? RENDER_THREAD_AFTER,
    { evaluator, mapper, serializer },
  );
  let read = 0;
  try {
    await writer.open();
    const timings: BuildTimings = {
      read: 0,
      render: 0,
      serialize: 0,
      wait: 0,
      write: 0,
      items: 0,
      finish: 0,
      thread: { count: 0, products: 0, render: 0, serialize: 0 },
    };
    let mark = performance.now();
    const lap = (phase: MainPhase) => {
      const t = performance.now();
      timings[phase] += t - mark;
      mark = t;
    };
    await writer.add(edgePiece('head', serializer.head()));
    // Segments given to the renderer and not yet written, in sku order.
    const queue: Array<{ last: string; products: number; piece: Promise<RenderedPiece>; threaded: boolean }> =
      [];
    const writeNext = async () => {
      const next = queue.shift() as (typeof queue)[number];
      const piece = await next.piece;
      if (next.threaded) {
        lap('wait');
        timings.thread.render += piece.renderMs;
        timings.thread.serialize += piece.serializeMs;
      } else {
        timings.render += piece.renderMs;
        timings.serialize += piece.serializeMs;
        mark = performance.now();
      }
      await writer.add({
        kind: 'segment',
        last: next.last,
        products: next.products,
        items: piece.items,
        exclusions: piece.exclusions,
        text: piece.encoded,
        itemLines: piece.itemLines,
      });
      lap('write');
      await differ.add(piece.skus, piece.hashes);
      lap('items');
    };
    for await (const batch of streamProductTextBatches(db, channel.catalog, STORE_BATCH)) {
      lap('read');
      read += batch.length;
      req.onProgress?.(read);
      // Every batch but the last is whole segments (STORE_BATCH is a multiple of them).
      for (let from = 0; from < batch.length; from += SEGMENT_PRODUCTS) {
        const products = batch.slice(from, from + SEGMENT_PRODUCTS);
        queue.push({
          last: (products.at(-1) as ProductText).sku,
          products: products.length,
          piece: renderer.render(products),
          threaded: renderer.onThread,
        });
        // Rendered on this thread: written at once; on the render threads: a few ahead.
        while (queue.length > (renderer.onThread ? RENDER_AHEAD : 0)) await writeNext();
      }
    }
    while (queue.length > 0) await writeNext();
    timings.thread.products = renderer.threadProducts;
    timings.thread.count = renderer.threadCount;
    // Every segment is written: the threads go back to the process for other builds.
    await renderer.close();
    await writer.add(edgePiece('tail', serializer.tail()));
    const files = await writer.finish();
    lap('finish');
    req.onTimings?.(timings);

    // An import applied while the catalog was being read: the feed may mix both; build again.
    if ((await catalogRevision(db, channel.catalog)) !== inputs.catalogRevision) {
      await removeFiles(tmp);
      return 'catalog-changed';
    }
    const diff = await differ.finish();
    return await switchIn(job, {
      dir,
      tmp,
      final,
      written: files,
      diff,
      reason: req.reason,
      req,
      started,
      now,
    });
  } catch (err) {
    await writer.close();
    await removeFiles(tmp);
    throw err;
  } finally {
    await renderer.close();
    previousItems?.stream.destroy();
  }
}

/** Whether a publication was built from these inputs and no rule window opened or closed since. */
function isUpToDate(p: Publication, inputs: BuildInputs, format: string, at: Date): boolean {
  return (
    p.format === format &&
    p.catalogRevision === inputs.catalogRevision &&
    p.stockRevision === inputs.stockRevision &&
    p.channelVersion === inputs.channelVersion &&
    sameVersions(p.ruleVersions, inputs.ruleVersions) &&
    (p.nextBoundary === null || Date.parse(p.nextBoundary) > at.getTime())
  );
}

/** The head or tail of a feed as a piece. */
function edgePiece(kind: 'head' | 'tail', text: string): NewPiece {
  return { kind, last: null, products: 0, items: 0, exclusions: [], text, itemLines: '' };
}

/**
 * Renames a build's files into place (the feed last), flushes the folder, then records the
 * publication: from then on it is served. Before the renames a failure leaves the old feed;
 * after them the new files are unreferenced until a later build of the same version renames
 * over them.
 */
async function switchIn(
  job: BuildJob,
  a: {
    dir: string;
    tmp: PublicationFiles;
    final: PublicationFiles;
    written: WrittenFeed;
    diff: ItemDiff;
    reason: string;
    req: BuildRequest;
    started: Date;
    now: () => Date;
  },
): Promise<Publication> {
  await fsp.rename(a.tmp.gzip, a.final.gzip);
  await fsp.rename(a.tmp.items, a.final.items);
  await fsp.rename(a.tmp.index, a.final.index);
  await fsp.rename(a.tmp.feed, a.final.feed);
  await syncDir(a.dir);
  const finished = a.now();
  const segments = a.written.index.pieces;
  const exclusions = sumExclusions(segments.map((p) => p.exclusions));
  const publication = await job.db.transaction((tx) =>
    insertPublication(tx, {
      channel: job.channel.id,
      catalog: job.channel.catalog,
      version: job.version,
      builtAt: finished,
      format: job.format,
      contentType: job.serializer.contentType,
      items: segments.reduce((n, p) => n + p.items, 0),
      excluded: exclusions.reduce((n, e) => n + e.count, 0),
      exclusions,
      bytes: a.written.bytes,
      gzipBytes: a.written.gzipBytes,
      sha256: a.written.sha256,
      added: a.diff.added,
      removed: a.diff.removed,
      changed: a.diff.changed,
      diff: a.diff.lists,
      buildMs: Math.max(0, finished.getTime() - a.started.getTime()),
      ...job.inputs,
      nextBoundary: job.evaluator.nextBoundary(job.at)?.toISOString() ?? null,
      reason: a.reason,
      actor: a.req.actor,
    }),
  );
  await pruneFeeds(a.dir, job.version).catch(() => {});
  a.req.onSwitchedIn?.(publication);
  return publication;
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

async function removeFiles(files: PublicationFiles): Promise<void> {
  await Promise.all(
    [files.feed, files.gzip, files.items, files.index].map((f) => fsp.rm(f, { force: true })),
  );
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
