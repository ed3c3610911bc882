import { type ProductText, streamProductTextBatches } from '../../store/products.js';
import type { Publication } from '../../store/publications.js';
import { catalogRevision } from '../../store/revisions.js';
import {
  type NewPiece,
  openPublication,
  PieceWriter,
  publicationFiles,
  SEGMENT_PRODUCTS,
  temporaryFiles,
  type WrittenFeed,
} from '../pack/index.js';
import type { BuildAttempt, BuildJob, BuildRequest, BuildTimings } from './build-job.js';
import { ItemDiffer } from './item-diff.js';
import { BuildRenderer, type RenderedPiece } from './piece-renderer.js';
import { removeFiles, switchIn } from './switch-in.js';

type MainPhase = Exclude<keyof BuildTimings, 'thread'>;

/** Segments the render threads may be ahead of the writes: four for each of two threads. */
const RENDER_AHEAD = 8;

/** Products read from the store at a time: whole segments. */
const STORE_BATCH = SEGMENT_PRODUCTS * 4;

/**
 * A whole build: the catalog streams from the store in sku order through the channel's rule
 * sets, field mapping and serializer (on this thread for the first `renderThreadAfter`
 * products, then on render threads) into a whole pack under temporary names, then is switched
 * in. 'catalog-changed' when an import changed the catalog while it was read.
 */
export async function buildWhole(
  job: BuildJob,
  attempt: BuildAttempt,
  renderThreadAfter: number,
): Promise<Publication | 'catalog-changed'> {
  const final = publicationFiles(job.dataDir, job.channel.id, job.version, job.format);
  const tmp = temporaryFiles(final, attempt.tag);
  // The previous item list, for the diff; none when its files are gone (every item is new).
  const previousItems = job.previous
    ? await openPublication(job.dataDir, job.previous, 'items').catch(() => undefined)
    : undefined;
  const differ = new ItemDiffer(previousItems?.stream);
  const writer = new PieceWriter(tmp, { publication: job.version, format: job.format, whole: true });
  const renderer = new BuildRenderer(job.render, renderThreadAfter, {
    evaluator: job.evaluator,
    mapper: job.mapper,
    serializer: job.serializer,
  });
  try {
    const written = await writeWholeFeed(job, attempt.req, writer, renderer, differ);
    // An import applied while the catalog was being read: the feed may mix both; build again.
    if ((await catalogRevision(job.db, job.channel.catalog)) !== job.inputs.catalogRevision) {
      await removeFiles(tmp);
      return 'catalog-changed';
    }
    const diff = await differ.finish();
    return await switchIn(job, attempt, { tmp, final, written, diff }, attempt.req.reason);
  } catch (err) {
    await writer.close();
    await removeFiles(tmp);
    throw err;
  } finally {
    await renderer.close();
    previousItems?.stream.destroy();
  }
}

/** A segment given to the renderer and not yet written. */
interface QueuedSegment {
  last: string;
  products: number;
  piece: Promise<RenderedPiece>;
  threaded: boolean;
}

/**
 * Writes the head, every segment of the catalog in sku order and the tail, and finishes the
 * pack; each segment's items go to the diff. Segments rendered on this thread are written at
 * once; on the render threads, a few ahead. Tells the request the progress and the timings.
 */
async function writeWholeFeed(
  job: BuildJob,
  req: BuildRequest,
  writer: PieceWriter,
  renderer: BuildRenderer,
  differ: ItemDiffer,
): Promise<WrittenFeed> {
  await writer.open();
  const clock = new PhaseClock();
  await writer.add(edgePiece('head', job.serializer.head()));
  // Segments given to the renderer and not yet written, in sku order.
  const queue: QueuedSegment[] = [];
  let read = 0;
  for await (const batch of streamProductTextBatches(job.db, job.channel.catalog, STORE_BATCH)) {
    clock.lap('read');
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
      while (queue.length > (renderer.onThread ? RENDER_AHEAD : 0))
        await writeSegment(queue.shift() as QueuedSegment, writer, differ, clock);
    }
  }
  while (queue.length > 0) await writeSegment(queue.shift() as QueuedSegment, writer, differ, clock);
  clock.timings.thread.products = renderer.threadProducts;
  clock.timings.thread.count = renderer.threadCount;
  // Every segment is written: the threads go back to the process for other builds.
  await renderer.close();
  await writer.add(edgePiece('tail', job.serializer.tail()));
  const written = await writer.finish();
  clock.lap('finish');
  req.onTimings?.(clock.timings);
  return written;
}

/** Writes the next segment once rendered, and adds its items to the diff. */
async function writeSegment(
  next: QueuedSegment,
  writer: PieceWriter,
  differ: ItemDiffer,
  clock: PhaseClock,
): Promise<void> {
  const piece = await next.piece;
  if (next.threaded) {
    clock.lap('wait');
    clock.timings.thread.render += piece.renderMs;
    clock.timings.thread.serialize += piece.serializeMs;
  } else {
    clock.timings.render += piece.renderMs;
    clock.timings.serialize += piece.serializeMs;
    clock.restart();
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
  clock.lap('write');
  await differ.add(piece.skus, piece.hashes);
  clock.lap('items');
}

/** A build's timings: each lap adds the time since the last one to a phase. */
class PhaseClock {
  readonly timings: BuildTimings = {
    read: 0,
    render: 0,
    serialize: 0,
    wait: 0,
    write: 0,
    items: 0,
    finish: 0,
    thread: { count: 0, products: 0, render: 0, serialize: 0 },
  };
  private mark = performance.now();

  lap(phase: MainPhase): void {
    const t = performance.now();
    this.timings[phase] += t - this.mark;
    this.mark = t;
  }

  /** Counts from now: the time since the last lap is counted already (a segment rendered here). */
  restart(): void {
    this.mark = performance.now();
  }
}

/** The head or tail of a feed as a piece. */
function edgePiece(kind: 'head' | 'tail', text: string): NewPiece {
  return { kind, last: null, products: 0, items: 0, exclusions: [], text, itemLines: '' };
}
