import fsp from 'node:fs/promises';
import { insertPublication, type Publication } from '../../store/publications.js';
import { type PublicationFiles, pruneFeeds, syncDir, type WrittenFeed } from '../pack/index.js';
import type { BuildAttempt, BuildJob } from './build-job.js';
import type { ItemDiff } from './item-diff.js';
import { sumExclusions } from './render-segment.js';

/** A build's files, written under temporary names, and its diff against the previous publication. */
export interface BuiltFeed {
  tmp: PublicationFiles;
  final: PublicationFiles;
  written: WrittenFeed;
  diff: ItemDiff;
}

/**
 * Renames a build's files into place (the feed last), flushes the folder, then records the
 * publication: from then on it is served. Before the renames a failure leaves the old feed;
 * after them the new files are unreferenced until a later build of the same version renames
 * over them.
 */
export async function switchIn(
  job: BuildJob,
  attempt: BuildAttempt,
  feed: BuiltFeed,
  reason: string,
): Promise<Publication> {
  await fsp.rename(feed.tmp.gzip, feed.final.gzip);
  await fsp.rename(feed.tmp.items, feed.final.items);
  await fsp.rename(feed.tmp.index, feed.final.index);
  await fsp.rename(feed.tmp.feed, feed.final.feed);
  await syncDir(attempt.dir);
  const finished = attempt.now();
  const segments = feed.written.index.pieces;
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
      bytes: feed.written.bytes,
      gzipBytes: feed.written.gzipBytes,
      sha256: feed.written.sha256,
      added: feed.diff.added,
      removed: feed.diff.removed,
      changed: feed.diff.changed,
      diff: feed.diff.lists,
      buildMs: Math.max(0, finished.getTime() - attempt.started.getTime()),
      ...job.inputs,
      nextBoundary: job.evaluator.nextBoundary(job.at)?.toISOString() ?? null,
      reason,
      actor: attempt.req.actor,
    }),
  );
  await pruneFeeds(attempt.dir, job.version).catch(() => {});
  attempt.req.onSwitchedIn?.(publication);
  return publication;
}

/** Deletes a build's files (temporary names) after it failed or gave way. */
export async function removeFiles(files: PublicationFiles): Promise<void> {
  await Promise.all(
    [files.feed, files.gzip, files.items, files.index].map((f) => fsp.rm(f, { force: true })),
  );
}
