import { compileMapping } from '../channels/mapping.js';
import type { ChannelDefinition } from '../channels/types.js';
import { compileRuleSets } from '../rules/engine.js';
import type { RuleSet } from '../rules/types.js';
import { type ProductText, parseProductText } from '../store/products.js';
import type { ExclusionCount } from '../store/publications.js';
import { startWorker } from '../workers.js';
import { type EncodedText, encodeText } from './feed-pieces.js';
import { type FieldMapper, type RuleEvaluator, renderSegment } from './render-segment.js';
import { createSerializer, type FeedSerializer } from './serialize/index.js';

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

/** Segments on their way to the render thread and back, at most this many at once. */
const MAX_IN_FLIGHT = 6;

/**
 * Renders a build's segments in order: on the calling thread for the first `threadAfter`
 * products, then on a worker thread of its own, so that a large build's rules, mapping,
 * serializer and checksums run beside the store's reading and the file writes (and several
 * builds use every core) while a small one never pays for starting a thread. Results come
 * back in the order the segments were given. A failure of the thread fails every segment
 * not yet back; `close` stops the thread.
 */
export class BuildRenderer {
  private readonly inline: SegmentRenderer;
  private rendered = 0;
  private worker: ReturnType<typeof startWorker> | undefined;
  private readonly waiting: Array<{ resolve: (p: RenderedPiece) => void; reject: (e: Error) => void }> = [];
  private failure: Error | undefined;
  private closed = false;
  // The wake-up of the segment waiting for room on the thread, and the end of the last post.
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

  /** Products given to the worker thread so far (0 when it never started). */
  threadProducts = 0;
  /** Whether segments now go to the worker thread (from the first past `threadAfter` on). */
  onThread = false;

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
   * Sends a segment to the thread. Segments go in the order they were given: each waits for
   * the one before it to be posted, and only the first in line waits for room.
   */
  private async post(products: ProductText[]): Promise<RenderedPiece> {
    const before = this.turn;
    let posted = () => {};
    this.turn = new Promise<void>((r) => (posted = r));
    let piece: Promise<RenderedPiece>;
    try {
      await before;
      while (this.waiting.length >= MAX_IN_FLIGHT && !this.failure)
        await new Promise<void>((r) => (this.room = r));
      if (this.failure) throw this.failure;
      const worker = this.worker ?? this.start();
      piece = new Promise<RenderedPiece>((resolve, reject) => this.waiting.push({ resolve, reject }));
      worker.postMessage({ type: 'segment', products } satisfies ToRenderWorker);
    } finally {
      posted();
    }
    return piece;
  }

  /** Stops the thread, if one started; segments not yet back fail. */
  async close(): Promise<void> {
    this.closed = true;
    this.fail(new Error('the build stopped'));
    await this.worker?.terminate();
  }

  private start() {
    const worker = startWorker(import.meta.url, 'render-worker', {
      inputs: this.inputs,
      written: this.inline.wroteItems,
    } satisfies RenderWorkerData);
    this.worker = worker;
    worker.on('message', (m: FromRenderWorker) => {
      if (m.type === 'error') {
        this.fail(new Error(`rendering the feed failed: ${m.message}`));
        return;
      }
      const next = this.waiting.shift();
      const room = this.room;
      this.room = undefined;
      room?.();
      const { type: _type, body, crc, sha, ...rest } = m;
      next?.resolve({
        ...rest,
        encoded: { body: Buffer.from(body.buffer, body.byteOffset, body.byteLength), crc, sha },
      });
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`the feed's render thread stopped (exit code ${code})`));
    });
    return worker;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
    const room = this.room;
    this.room = undefined;
    room?.();
  }
}
