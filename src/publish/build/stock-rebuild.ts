import { productsInSkuRange } from '../../store/products.js';
import type { Publication } from '../../store/publications.js';
import { catalogRevision } from '../../store/revisions.js';
import { skusMovedSince } from '../../store/stock.js';
import {
  type FeedIndex,
  type FeedPiece,
  MAX_DELTA_PACKS,
  PackReader,
  type PieceWriter,
  publicationFiles,
  readFeedIndex,
  type WrittenFeed,
} from '../pack/index.js';
import type { BuildJob } from './build-job.js';
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
 * More than this share of the feed's bytes in delta packs: the rebuild writes a whole pack
 * again (copying the untouched pieces), so that old packs can go and a served feed is read
 * from few places.
 */
const MAX_DELTA_SHARE = 0.25;

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
  const index = await readFeedIndex(files.index, {
    dataDir: job.dataDir,
    channelId: job.channel.id,
    publication: previous.version,
    format: previous.format,
    bytes: previous.bytes,
    gzipBytes: previous.gzipBytes,
    sha256: previous.sha256,
  });
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
 * The segments of a stock-only rebuild, rendered: those that hold a moved sku are read again
 * from the store (all their products, with their effective stock) and run through the rules
 * and mapping. `layout` says where the untouched pieces go, `first` is the first segment with
 * items (JSON's comma).
 */
export interface StockChanges {
  /** The previous feed's segments (its pieces but the head and tail). */
  segments: FeedPiece[];
  /** The segments rendered again, by their place in `segments`. */
  rendered: Map<number, RenderedSegment>;
  layout: PackLayout;
  first: number;
}

/**
 * Renders the segments whose stock moved (see `StockChanges`), and lays out the new pack:
 * past `MAX_DELTA_PACKS` the pieces of the older delta packs are copied into the new delta
 * pack; past `MAX_DELTA_SHARE` of the feed in delta packs, every piece is copied into a whole
 * pack (`layout.whole`). 'full' when too much moved or a segment no longer holds the products
 * the index says.
 */
export async function renderStockChanges(job: BuildJob, plan: StockPlan): Promise<StockChanges | 'full'> {
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
  return {
    segments,
    rendered,
    layout: packLayout(plan.index, rendered),
    first: firstWithItems(segments, itemsOf),
  };
}

/**
 * Writes the new feed from the previous one into `writer` (a pack laid out as
 * `changes.layout` says): the segments rendered again are serialized into it; every other
 * piece stays in the pack that holds it, or is copied. The feed served is what a whole build
 * of the same state writes, byte for byte. 'catalog-changed' when an import changed the
 * catalog meanwhile.
 */
export async function writeStockPack(
  job: BuildJob,
  plan: StockPlan,
  changes: StockChanges,
  writer: PieceWriter,
): Promise<StockRebuild | 'catalog-changed'> {
  const source = new PackReader(job.dataDir, job.channel.id, plan.previous.format, plan.index.packs);
  try {
    const written = await writeFeed(
      job,
      plan,
      writer,
      source,
      changes.layout,
      changes.rendered,
      changes.first,
    );
    if ((await catalogRevision(job.db, job.channel.catalog)) !== job.inputs.catalogRevision)
      return 'catalog-changed';
    const diff = await diffSegments(source, changes.segments, changes.rendered);
    return { written, diff };
  } finally {
    await source.close();
  }
}

/** Where the new publication's untouched pieces go. */
export interface PackLayout {
  /** Write a whole pack (every piece copied). */
  whole: boolean;
  /** Delta packs whose pieces are copied into the new delta pack instead of referenced. */
  merged: Set<number>;
}

/** `rendered` is keyed by segment: piece i is segment i - 1 (piece 0 is the head). */
function packLayout(index: FeedIndex, rendered: ReadonlyMap<number, RenderedSegment>): PackLayout {
  const wholePacks = new Set(index.packs.filter((p) => p.whole).map((p) => p.version));
  const untouched = index.pieces.filter((_, i) => !rendered.has(i - 1));
  const deltas = new Set(untouched.filter((p) => !wholePacks.has(p.pack)).map((p) => p.pack));
  const merged = deltas.size + 1 > MAX_DELTA_PACKS ? deltas : new Set<number>();
  // A rendered segment's new bytes are about its old ones: a stock change moves a few.
  let deltaBytes = 0;
  for (const [i, p] of index.pieces.entries())
    if (rendered.has(i - 1) || !wholePacks.has(p.pack)) deltaBytes += p.length;
  return { whole: wholePacks.size === 0 || deltaBytes > index.bytes * MAX_DELTA_SHARE, merged };
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
  source: PackReader,
  layout: PackLayout,
  rendered: ReadonlyMap<number, RenderedSegment>,
  first: number,
): Promise<WrittenFeed> {
  const pieces = plan.index.pieces;
  // Consecutive untouched pieces, copied or referenced together.
  let run: FeedPiece[] = [];
  let copying = false;
  const flush = async () => {
    if (run.length === 0) return;
    if (copying) await writer.copy(source, run);
    else writer.reference(run, plan.index.packs);
    run = [];
  };
  await writer.open();
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i] as FeedPiece;
    const segment = rendered.get(i - 1);
    if (!segment) {
      const copy = layout.whole || layout.merged.has(piece.pack);
      if (copy !== copying) await flush();
      copying = copy;
      run.push(piece);
      continue;
    }
    await flush();
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
  await flush();
  // Finished before the old packs close: the gzip copies wait in the writer's queue.
  return await writer.finish();
}

/** The diff against the previous publication: only the segments written again can differ. */
async function diffSegments(
  source: PackReader,
  segments: readonly FeedPiece[],
  rendered: ReadonlyMap<number, RenderedSegment>,
): Promise<ItemDiff> {
  const collector = new ItemDiffCollector();
  for (const s of [...rendered.keys()].sort((a, b) => a - b)) {
    const piece = segments[s] as FeedPiece;
    const buf = Buffer.alloc(piece.itemsLength);
    if (piece.itemsLength > 0) {
      const items = await source.handle(piece.pack, 'items');
      await items.read(buf, 0, piece.itemsLength, piece.itemsOffset);
    }
    const seg = rendered.get(s) as RenderedSegment;
    collector.compare(parseItemLines(buf.toString('utf8')), seg.skus, seg.hashes);
  }
  return collector.diff;
}
