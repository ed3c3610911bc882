import fsp, { type FileHandle } from 'node:fs/promises';
import { productsInSkuRange } from '../store/products.js';
import { catalogRevision, type Publication } from '../store/publications.js';
import { skusMovedSince } from '../store/stock.js';
import type { BuildJob } from './build-job.js';
import { publicationFiles } from './feed-files.js';
import {
  type FeedIndex,
  type FeedPiece,
  type PieceWriter,
  readFeedIndex,
  type WrittenFeed,
} from './feed-pieces.js';
import { compareSkus, type ItemDiff, ItemDiffCollector, parseItemLines } from './item-diff.js';
import { type RenderedSegment, renderSegment } from './render-segment.js';

/** A stock-only rebuild that can go ahead: the previous publication's index and the moved skus. */
export interface StockPlan {
  previous: Publication;
  index: FeedIndex;
  /** Skus with ledger entries newer than the previous publication's stock revision, sorted. */
  moved: string[];
}

/** More moved skus than this: a whole build. */
const MAX_MOVED_SKUS = 20_000;
/**
 * More than this share of the segments to write again: a whole build costs about the same
 * (a segment written again costs what it costs in a whole build; a copied one, a fraction).
 */
const MAX_SEGMENT_SHARE = 0.5;

/**
 * Whether the channel's feed can be rebuilt from its previous publication by writing again
 * only the segments whose stock moved (issue 6 "Propagation"): only the stock revision moved
 * since that publication (same catalog revision, definition and rule set versions, no rule
 * window boundary passed), and its index agrees with its files. Undefined in any doubt.
 */
export async function planStockRebuild(job: BuildJob, previous: Publication): Promise<StockPlan | undefined> {
  const { inputs } = job;
  if (
    previous.catalogRevision !== inputs.catalogRevision ||
    previous.channelVersion !== inputs.channelVersion ||
    !sameVersions(previous.ruleVersions, inputs.ruleVersions) ||
    previous.stockRevision >= inputs.stockRevision ||
    previous.format !== job.format ||
    (previous.nextBoundary !== null && Date.parse(previous.nextBoundary) <= job.at.getTime())
  )
    return undefined;
  const files = publicationFiles(job.dataDir, job.channel.id, previous.version, previous.format);
  const index = await readFeedIndex(
    files.index,
    {
      publication: previous.version,
      format: previous.format,
      bytes: previous.bytes,
      gzipBytes: previous.gzipBytes,
      sha256: previous.sha256,
    },
    files,
  );
  if (!index) return undefined;
  const moved = await skusMovedSince(
    job.db,
    job.channel.catalog,
    previous.stockRevision,
    inputs.stockRevision,
    MAX_MOVED_SKUS + 1,
  );
  if (moved.length > MAX_MOVED_SKUS) return undefined;
  return { previous, index, moved: moved.sort(compareSkus) };
}

/** Whether two maps of rule set versions are equal. */
export function sameVersions(a: Record<string, number>, b: Record<string, number>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** A stock-only rebuild's files and its diff against the previous publication. */
export interface StockRebuild {
  written: WrittenFeed;
  diff: ItemDiff;
}

/**
 * Writes the new feed from the previous one: the segments that hold a moved sku are read
 * again from the store (all their products, with their effective stock), run through the
 * rules and mapping and serialized; every other piece is copied, bytes and gzip member as
 * they are. The result is what a whole build of the same state writes, byte for byte.
 * 'full' when too much moved or a segment no longer holds the products the index says.
 */
export async function rebuildStock(
  job: BuildJob,
  plan: StockPlan,
  writer: PieceWriter,
): Promise<StockRebuild | 'full' | 'catalog-changed'> {
  const pieces = plan.index.pieces;
  const segments = pieces.slice(1, -1);
  const touched = new Set<number>();
  for (const sku of plan.moved) {
    const s = segmentOf(segments, sku);
    if (s !== undefined) touched.add(s);
  }
  if (touched.size > Math.max(1, segments.length * MAX_SEGMENT_SHARE)) return 'full';

  const rendered = new Map<number, RenderedSegment>();
  const render = async (s: number): Promise<boolean> => {
    const seg = segments[s] as FeedPiece;
    const after = s === 0 ? null : (segments[s - 1] as FeedPiece).last;
    const products = await productsInSkuRange(job.db, job.channel.catalog, after, seg.last as string);
    // The catalog changed (the revision check below says so): not this segment any more.
    if (products.length !== seg.products || products.at(-1)?.sku !== seg.last) return false;
    rendered.set(s, renderSegment(products, job.evaluator, job.mapper, job.at));
    return true;
  };
  for (const s of [...touched].sort((a, b) => a - b)) if (!(await render(s))) return 'full';

  // JSON writes no comma before the feed's first item: when the first segment with items
  // changes, both the old and the new first are written again.
  const itemsOf = (s: number) => rendered.get(s)?.rows.length ?? (segments[s] as FeedPiece).items;
  const oldFirst = segments.findIndex((p) => p.items > 0);
  for (;;) {
    const newFirst = firstWithItems(segments, itemsOf);
    const missing = [oldFirst, newFirst].filter((s) => s >= 0 && oldFirst !== newFirst && !rendered.has(s));
    if (missing.length === 0) break;
    for (const s of missing) if (!(await render(s))) return 'full';
  }
  const written = await writeFeed(job, plan, writer, segments, rendered, firstWithItems(segments, itemsOf));

  if ((await catalogRevision(job.db, job.channel.catalog)) !== job.inputs.catalogRevision)
    return 'catalog-changed';
  const diff = await diffSegments(job, plan, segments, rendered);
  return { written, diff };
}

function firstWithItems(segments: readonly FeedPiece[], itemsOf: (s: number) => number): number {
  for (let s = 0; s < segments.length; s++) if (itemsOf(s) > 0) return s;
  return -1;
}

/** The segment whose sku range holds `sku` (after the previous segment's last, up to its own). */
function segmentOf(segments: readonly FeedPiece[], sku: string): number | undefined {
  let lo = 0;
  let hi = segments.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareSkus((segments[mid] as FeedPiece).last as string, sku) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < segments.length ? lo : undefined;
}

async function writeFeed(
  job: BuildJob,
  plan: StockPlan,
  writer: PieceWriter,
  segments: readonly FeedPiece[],
  rendered: ReadonlyMap<number, RenderedSegment>,
  first: number,
): Promise<WrittenFeed> {
  const files = publicationFiles(job.dataDir, job.channel.id, plan.previous.version, plan.previous.format);
  const handles: FileHandle[] = [];
  try {
    for (const f of [files.feed, files.gzip, files.items]) handles.push(await fsp.open(f, 'r'));
    const old = {
      feed: handles[0] as FileHandle,
      gzip: handles[1] as FileHandle,
      items: handles[2] as FileHandle,
    };
    await writer.open();
    const pieces = plan.index.pieces;
    let run: FeedPiece[] = [];
    for (let i = 0; i < pieces.length; i++) {
      const segment = rendered.get(i - 1);
      if (i === 0 || i === pieces.length - 1 || !segment) {
        run.push(pieces[i] as FeedPiece);
        continue;
      }
      await writer.copy(old, run);
      run = [];
      const piece = segments[i - 1] as FeedPiece;
      await writer.add({
        kind: 'segment',
        last: piece.last,
        products: piece.products,
        items: segment.rows.length,
        exclusions: segment.exclusions,
        text: job.serializer.rows(segment.rows, i - 1 === first),
        itemLines: segment.itemLines,
      });
    }
    await writer.copy(old, run);
    // Finished before the old files close: the gzip copies wait in the writer's queue.
    return await writer.finish();
  } finally {
    await Promise.all(handles.map((h) => h.close().catch(() => {})));
  }
}

/** The diff against the previous publication: only the segments written again can differ. */
async function diffSegments(
  job: BuildJob,
  plan: StockPlan,
  segments: readonly FeedPiece[],
  rendered: ReadonlyMap<number, RenderedSegment>,
): Promise<ItemDiff> {
  const files = publicationFiles(job.dataDir, job.channel.id, plan.previous.version, plan.previous.format);
  const collector = new ItemDiffCollector();
  const handle = await fsp.open(files.items, 'r');
  try {
    for (const s of [...rendered.keys()].sort((a, b) => a - b)) {
      const piece = segments[s] as FeedPiece;
      const buf = Buffer.alloc(piece.itemsLength);
      if (piece.itemsLength > 0) await handle.read(buf, 0, piece.itemsLength, piece.itemsOffset);
      const seg = rendered.get(s) as RenderedSegment;
      collector.compare(parseItemLines(buf.toString('utf8')), seg.skus, seg.hashes);
    }
  } finally {
    await handle.close();
  }
  return collector.diff;
}
