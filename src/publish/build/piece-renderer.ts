import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { compileMapping } from '../../channels/mapping.js';
import { channelFormat } from '../../channels/output.js';
import type { ChannelDefinition } from '../../model/channel.js';
import { compileRuleSets } from '../../rules/engine.js';
import type { RuleSet } from '../../rules/types.js';
import { type ProductText, parseProductText } from '../../store/products.js';
import type { ExclusionCount } from '../../store/publications.js';
import { startWorker } from '../../workers.js';
import { type EncodedText, encodeText } from '../pack/index.js';
import { createSerializer, type FeedSerializer } from '../serialize/index.js';
import { type FieldMapper, type RuleEvaluator, renderSegment } from './render-segment.js';

/** What a channel's feed is rendered from: plain data, so that it can go to a worker thread. */
export interface RenderInputs {
  ruleSets: RuleSet[];
  channel: ChannelDefinition;
  /** The instant the rules are evaluated at (their windows), in ms since the epoch. */
  at: number;
}

/** A channel's rules, mapping and serializer, compiled. */
export interface CompiledChannel {
  evaluator: RuleEvaluator;
  mapper: FieldMapper;
  serializer: FeedSerializer;
}

/** One segment of products rendered, serialized and encoded: a piece for the PieceWriter. */
export interface RenderedPiece {
  encoded: EncodedText;
  /** Items written (products the rules kept), and their skus and hashes in sku order. */
  items: number;
  skus: string[];
  hashes: string[];
  itemLines: string;
  exclusions: ExclusionCount[];
  /** Time spent in rules, mapping and item hashes, and in the serializer and encoding. */
  renderMs: number;
  serializeMs: number;
}

/**
 * Renders a channel's segments one after another on the calling thread: parses the products'
 * JSON, runs the rules and the mapping, serializes (the serializer's state, JSON's comma
 * before all but the first item, lives here) and encodes the text with its checksums.
 */
export class SegmentRenderer {
  private written: boolean;
  private readonly evaluator: RuleEvaluator;
  private readonly mapper: FieldMapper;
  private readonly serializer: FeedSerializer;
  private readonly at: Date;

  /** `compiled`: the channel's rules, mapping and serializer, when the caller has them already. */
  constructor(inputs: RenderInputs, written = false, compiled?: CompiledChannel) {
    this.evaluator = compiled?.evaluator ?? compileRuleSets(inputs.ruleSets, { trusted: true });
    this.mapper = compiled?.mapper ?? compileMapping(inputs.channel);
    this.serializer = compiled?.serializer ?? createSerializer(inputs.channel, this.mapper.columns);
    this.at = new Date(inputs.at);
    this.written = written;
  }

  /** Whether any item was written yet (what a thread taking over must know). */
  get wroteItems(): boolean {
    return this.written;
  }

  render(products: readonly ProductText[]): RenderedPiece {
    const started = performance.now();
    const segment = renderSegment(products.map(parseProductText), this.evaluator, this.mapper, this.at);
    const rendered = performance.now();
    const encoded = encodeText(this.serializer.rows(segment.rows, !this.written));
    if (segment.rows.length > 0) this.written = true;
    return {
      encoded,
      items: segment.rows.length,
      skus: segment.skus,
      hashes: segment.hashes,
      itemLines: segment.itemLines,
      exclusions: segment.exclusions,
      renderMs: rendered - started,
      serializeMs: performance.now() - rendered,
    };
  }
}

/** Messages to the render thread (render-worker.ts). */
export type ToRenderWorker = { type: 'segment'; products: ProductText[] };

/** Messages from the render thread. */
export type FromRenderWorker =
  | ({ type: 'piece'; body: Uint8Array } & Omit<RenderedPiece, 'encoded'> & Omit<EncodedText, 'body'>)
  | { type: 'error'; message: string };

/** What the render thread starts from. */
export interface RenderWorkerData {
  inputs: RenderInputs;
  written: boolean;
}

/** Segments on their way to one render thread and back, at most this many at once. */
const MAX_IN_FLIGHT = 6;

/**
 * Render threads a build may start: two, so that one build alone uses both cores of a small
 * machine (its own thread mostly waits), but only while the process has cores to spare (see
 * `takeThreads`). A JSON feed gets one: its serializer writes a comma before every item but
 * the first, which only one thread rendering every segment in turn can know.
 */
export const MAX_RENDER_THREADS = 2;

// Render threads running in this process, against its cores.
let threadsInUse = 0;

/** Threads for a build starting now: up to `wanted`, as many as cores are free, at least one. */
function takeThreads(wanted: number): number {
  const free = availableParallelism() - threadsInUse;
  const n = Math.max(1, Math.min(wanted, free));
  threadsInUse += n;
  return n;
}

/** A render thread and the segments it has not answered yet, oldest first. */
interface RenderThread {
  worker: Worker;
  waiting: Array<{ resolve: (p: RenderedPiece) => void; reject: (e: Error) => void }>;
}

/**
 * Renders a build's segments in order: on the calling thread for the first `threadAfter`
 * products, then on worker threads of its own (`MAX_RENDER_THREADS`, one for JSON), each
 * given the next segment in turn, so that a large build's rules, mapping, serializer and
 * checksums run beside the store's reading and the file writes, and several builds use every
 * core, while a small one never pays for starting a thread. Results come back in the order
 * the segments were given. A failure of a thread fails every segment not yet back; `close`
 * stops the threads.
 */
export class BuildRenderer {
  private readonly inline: SegmentRenderer;
  private rendered = 0;
  private threads: RenderThread[] | undefined;
  private taken = 0;
  private nextThread = 0;
  private failure: Error | undefined;
  private closed = false;
  // The wake-up of the segment waiting for room on its thread, and the end of the last post.
  private room: (() => void) | undefined;
  private turn: Promise<void> = Promise.resolve();

  /** `compiled`: the channel compiled already, for the segments rendered on this thread. */
  constructor(
    private readonly inputs: RenderInputs,
    private readonly threadAfter: number,
    compiled?: CompiledChannel,
  ) {
    this.inline = new SegmentRenderer(inputs, false, compiled);
  }

  /** Products given to the worker threads so far (0 when none started). */
  threadProducts = 0;
  /** Whether segments now go to the worker threads (from the first past `threadAfter` on). */
  onThread = false;

  /** Render threads started (0 until the hand-over). */
  get threadCount(): number {
    return this.threads?.length ?? 0;
  }

  /**
   * Renders one segment (the products in sku order, after those of the segments before).
   * The promise is already handled: a caller that stops at a failure may leave the segments
   * after it unawaited.
   */
  render(products: ProductText[]): Promise<RenderedPiece> {
    let piece: Promise<RenderedPiece>;
    if (this.failure) piece = Promise.reject(this.failure);
    else if (!this.onThread && this.rendered < this.threadAfter) {
      this.rendered += products.length;
      try {
        piece = Promise.resolve(this.inline.render(products));
      } catch (err) {
        piece = Promise.reject(err);
      }
    } else {
      // Decided at once: the caller knows from now on where its segments render.
      this.onThread = true;
      this.threadProducts += products.length;
      piece = this.post(products);
    }
    piece.catch(() => {});
    return piece;
  }

  /**
   * Sends a segment to the next thread in turn. Segments go in the order they were given:
   * each waits for the one before it to be posted, and only the first in line waits for room.
   */
  private async post(products: ProductText[]): Promise<RenderedPiece> {
    const before = this.turn;
    let posted = () => {};
    this.turn = new Promise<void>((r) => (posted = r));
    let piece: Promise<RenderedPiece>;
    try {
      await before;
      const threads = this.threads ?? this.start();
      const thread = threads[this.nextThread] as RenderThread;
      this.nextThread = (this.nextThread + 1) % threads.length;
      while (thread.waiting.length >= MAX_IN_FLIGHT && !this.failure)
        await new Promise<void>((r) => (this.room = r));
      if (this.failure) throw this.failure;
      piece = new Promise<RenderedPiece>((resolve, reject) => thread.waiting.push({ resolve, reject }));
      thread.worker.postMessage({ type: 'segment', products } satisfies ToRenderWorker);
    } finally {
      posted();
    }
    return piece;
  }

  /** Stops the threads, if any started; segments not yet back fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new Error('the build stopped'));
    threadsInUse -= this.taken;
    this.taken = 0;
    await Promise.all((this.threads ?? []).map((t) => t.worker.terminate()));
  }

  private start(): RenderThread[] {
    const wanted = channelFormat(this.inputs.channel) === 'json' ? 1 : MAX_RENDER_THREADS;
    this.taken = takeThreads(wanted);
    const data: RenderWorkerData = { inputs: this.inputs, written: this.inline.wroteItems };
    // Each thread is kept as soon as it starts, so that close() stops it even if the next fails to.
    const threads: RenderThread[] = [];
    this.threads = threads;
    try {
      for (let i = 0; i < this.taken; i++) threads.push(this.startThread(data));
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
    return threads;
  }

  private startThread(data: RenderWorkerData): RenderThread {
    const thread: RenderThread = { worker: startWorker(import.meta.url, 'render-worker', data), waiting: [] };
    thread.worker.on('message', (m: FromRenderWorker) => {
      if (m.type === 'error') {
        this.fail(new Error(`rendering the feed failed: ${m.message}`));
        return;
      }
      const next = thread.waiting.shift();
      const room = this.room;
      this.room = undefined;
      room?.();
      const { type: _type, body, crc, sha, ...rest } = m;
      next?.resolve({
        ...rest,
        encoded: { body: Buffer.from(body.buffer, body.byteOffset, body.byteLength), crc, sha },
      });
    });
    thread.worker.on('error', (err) => this.fail(err));
    thread.worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`the feed's render thread stopped (exit code ${code})`));
    });
    return thread;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const t of this.threads ?? []) for (const w of t.waiting.splice(0)) w.reject(this.failure);
    const room = this.room;
    this.room = undefined;
    room?.();
  }
}
