import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import { compileMapping } from '../../channels/mapping.js';
import { channelFormat } from '../../channels/output.js';
import { AppError } from '../../errors.js';
import { reportOperation } from '../../metrics.js';
import { compileRuleSets } from '../../rules/engine.js';
import { loadRuleSets } from '../../rules/service.js';
import { getChannel } from '../../store/channels.js';
import { recordHistory } from '../../store/history.js';
import { releasePublishLock, tryPublishLock } from '../../store/locks.js';
import {
  type BuildInputs,
  currentBuildInputs,
  latestPublication,
  nextPublicationVersion,
  type Publication,
} from '../../store/publications.js';
import type { Queryable, Session, Store } from '../../store/types.js';
import { channelFeedsDir, PieceWriter, publicationFiles, temporaryFiles } from '../pack/index.js';
import { createSerializer } from '../serialize/index.js';
import type { BuildAttempt, BuildJob, BuildRequest } from './build-job.js';
import { planStockRebuild, renderStockChanges, sameVersions, writeStockPack } from './stock-rebuild.js';
import { removeFiles, switchIn } from './switch-in.js';
import { buildWhole } from './whole-build.js';

export type { BuildRequest, BuildTimings } from './build-job.js';

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

/**
 * One attempt at a build: what the feed is made of is read; an automatic rebuild of a feed
 * already up to date stops there; otherwise a stock-only rebuild when it can go ahead, else
 * a whole build, switched in. 'catalog-changed' when an import changed the catalog meanwhile.
 */
async function buildOnce(
  db: Session,
  { dataDir, renderThreadAfter }: BuildContext,
  req: BuildRequest,
  at: Date,
  started: Date,
  now: () => Date,
): Promise<Publication | 'catalog-changed'> {
  const job = await readJob(db, dataDir, req.channelId, at);
  const { previous } = job;
  // An automatic rebuild queued behind a build that already covered its change: nothing to do.
  if (req.incremental && previous && isUpToDate(previous, job.inputs, job.format, at)) return previous;
  const dir = channelFeedsDir(dataDir, job.channel.id);
  await fsp.mkdir(dir, { recursive: true });
  const attempt: BuildAttempt = {
    req,
    started,
    now,
    dir,
    tag: `${process.pid}-${randomBytes(6).toString('hex')}`,
  };
  if (req.incremental && previous) {
    const rebuilt = await rebuildStockOnly(job, previous, attempt);
    if (rebuilt !== undefined) return rebuilt;
  }
  return await buildWhole(job, attempt, renderThreadAfter ?? RENDER_THREAD_AFTER);
}

/**
 * Reads what a build works with: versions first, definitions second (a change in between
 * makes the recorded versions older than what was built, and the next staleness check builds
 * again; never the reverse), the rules, mapping and serializer compiled, the version to
 * publish and the publication in force.
 */
async function readJob(db: Session, dataDir: string, channelId: string, at: Date): Promise<BuildJob> {
  const inputs = await currentBuildInputs(db, channelId);
  const channel = await getChannel(db, channelId);
  if (!inputs || !channel) throw new AppError('CHANNEL_NOT_FOUND', `no channel "${channelId}"`);
  const def = channel.definition;
  const { ruleSets } = await loadRuleSets(db, { ids: def.rules ?? [] });
  const evaluator = compileRuleSets(ruleSets, { trusted: true });
  const mapper = compileMapping(def);
  const serializer = createSerializer(def, mapper.columns);
  const format = channelFormat(def);
  const version = await nextPublicationVersion(db, channel.id);
  const previous = await latestPublication(db, channel.id);
  return {
    db,
    channel: { id: channel.id, catalog: channel.catalog },
    inputs,
    evaluator,
    mapper,
    serializer,
    render: { ruleSets, channel: def, at: at.getTime() },
    format,
    version,
    previous,
    dataDir,
    at,
  };
}

/**
 * A stock-only rebuild (stock-rebuild.ts), switched in; undefined when a whole build is due
 * instead: not only the stock moved, too much moved, or any doubt (an old file gone or
 * short, a read failing).
 */
async function rebuildStockOnly(
  job: BuildJob,
  previous: Publication,
  attempt: BuildAttempt,
): Promise<Publication | 'catalog-changed' | undefined> {
  const plan = await planStockRebuild(job, previous);
  if (!plan) return undefined;
  const changes = await renderStockChanges(job, plan).catch(() => 'full' as const);
  if (changes === 'full') return undefined;
  const { whole } = changes.layout;
  const final = publicationFiles(job.dataDir, job.channel.id, job.version, job.format, whole);
  const tmp = temporaryFiles(final, attempt.tag);
  const writer = new PieceWriter(tmp, { publication: job.version, format: job.format, whole });
  const result = await writeStockPack(job, plan, changes, writer).catch(() => 'full' as const);
  if (result === 'full' || result === 'catalog-changed') {
    await writer.close();
    await removeFiles(tmp);
    return result === 'catalog-changed' ? result : undefined;
  }
  const moved = plan.moved.length;
  return await switchIn(
    job,
    attempt,
    { tmp, final, written: result.written, diff: result.diff },
    `stock moved (${moved} sku${moved === 1 ? '' : 's'})`,
  );
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

async function lockChannelBuild(session: Queryable, channelId: string): Promise<void> {
  // Another process is building this channel: wait for it (it holds the lock until done).
  for (let waited = 0; ; waited += 250) {
    if (await tryPublishLock(session, channelId)) return;
    if (waited > 15 * 60_000)
      throw new AppError(
        'PUBLISH_BUSY',
        `another process has been building channel "${channelId}" for 15 minutes`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function unlockChannelBuild(session: Queryable, channelId: string): Promise<void> {
  await releasePublishLock(session, channelId).catch(() => {});
}
