import { addFetchHours, type FeedFetch, type FetchHour, insertFetches } from '../../store/fetches.js';
import type { Store } from '../../store/types.js';

/** Most fetches kept in memory when the store cannot take them (oldest dropped first). */
const MAX_BUFFERED = 100_000;

/**
 * Refused requests (a wrong token, a malformed name: 404) kept one by one per channel and
 * minute; past them, a refusal is only counted in its hour (channel_fetch_hours), so that
 * anyone guessing tokens cannot grow the log.
 */
export const REFUSALS_KEPT_PER_MINUTE = 10;

/** Longest user agent kept in the log: enough to tell a client, too little to fill a disk. */
export const MAX_USER_AGENT_LENGTH = 256;

/**
 * The fetch log's writer: serving a feed only appends to a buffer, and the buffer goes to
 * the store in one statement every `flushMs` or every `batchSize` fetches, so logging
 * never slows a response. A store that is down costs log lines, never responses.
 */
export class FetchLog {
  private buffer: FeedFetch[] = [];
  /** Refusals kept this minute, by channel. */
  private refusals = new Map<string, number>();
  private refusalMinute = -1;
  /** Refusals only counted, by channel and hour, not yet written. */
  private counted = new Map<string, FetchHour>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private dropped = 0;

  constructor(
    private readonly store: Store,
    private readonly opts: { flushMs?: number; batchSize?: number; onError?: (err: unknown) => void } = {},
  ) {}

  /** Records one fetch (written within `flushMs`); past the bound, a refusal is only counted. */
  add(fetch: FeedFetch): void {
    if (fetch.userAgent !== null && fetch.userAgent.length > MAX_USER_AGENT_LENGTH) {
      fetch = { ...fetch, userAgent: fetch.userAgent.slice(0, MAX_USER_AGENT_LENGTH) };
    }
    if (fetch.status === 404 && !this.keepRefusal(fetch)) {
      this.schedule();
      return;
    }
    if (this.buffer.length >= MAX_BUFFERED) {
      this.buffer.shift();
      this.dropped++;
    }
    this.buffer.push(fetch);
    if (this.buffer.length >= (this.opts.batchSize ?? 1000)) void this.flush();
    else this.schedule();
  }

  /** Whether a refusal is kept one by one; if not, it is counted in its hour. */
  private keepRefusal(fetch: FeedFetch): boolean {
    const minute = Math.floor(fetch.at.getTime() / 60_000);
    if (minute !== this.refusalMinute) {
      this.refusalMinute = minute;
      this.refusals.clear();
    }
    const kept = this.refusals.get(fetch.channel) ?? 0;
    if (kept < REFUSALS_KEPT_PER_MINUTE) {
      this.refusals.set(fetch.channel, kept + 1);
      return true;
    }
    const hour = new Date(Math.floor(fetch.at.getTime() / 3_600_000) * 3_600_000);
    const key = `${fetch.channel}\u0000${hour.getTime()}`;
    const counted = this.counted.get(key);
    if (counted) counted.fetches++;
    else this.counted.set(key, { channel: fetch.channel, hour, kind: '404', fetches: 1, bytes: 0 });
    return false;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => void this.flush(), this.opts.flushMs ?? 1000);
    this.timer.unref();
  }

  /** Writes what is buffered now; resolves when it is in the store. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    const hours = [...this.counted.values()];
    this.counted = new Map();
    this.flushing = this.flushing.then(async () => {
      if (batch.length === 0 && hours.length === 0) return;
      try {
        await insertFetches(this.store, batch);
        await addFetchHours(this.store, hours);
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
