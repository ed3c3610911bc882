import { type FeedFetch, insertFetches } from '../store/publications.js';
import type { Store } from '../store/types.js';

/** Most fetches kept in memory when the store cannot take them (oldest dropped first). */
const MAX_BUFFERED = 100_000;

/**
 * The fetch log's writer: serving a feed only appends to a buffer, and the buffer goes to
 * the store in one statement every `flushMs` or every `batchSize` fetches, so logging
 * never slows a response. A store that is down costs log lines, never responses.
 */
export class FetchLog {
  private buffer: FeedFetch[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private dropped = 0;

  constructor(
    private readonly store: Store,
    private readonly opts: { flushMs?: number; batchSize?: number; onError?: (err: unknown) => void } = {},
  ) {}

  /** Records one fetch (written within `flushMs`). */
  add(fetch: FeedFetch): void {
    if (this.buffer.length >= MAX_BUFFERED) {
      this.buffer.shift();
      this.dropped++;
    }
    this.buffer.push(fetch);
    if (this.buffer.length >= (this.opts.batchSize ?? 1000)) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.opts.flushMs ?? 1000);
      this.timer.unref();
    }
  }

  /** Writes what is buffered now; resolves when it is in the store. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.flushing.then(async () => {
      if (batch.length === 0) return;
      try {
        await insertFetches(this.store, batch);
      } catch (err) {
        this.opts.onError?.(err);
      }
    });
    return this.flushing;
  }

  /** Fetches lost because the store could not keep up (reported by the log, not the API). */
  get droppedCount(): number {
    return this.dropped;
  }
}
