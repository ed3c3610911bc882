import { type FeedState, feedState } from '../../store/publications.js';
import type { Store } from '../../store/types.js';

/**
 * The serving state of channels (token, enabled, publication in force), read from the
 * store at most once per `ttlMs` per channel: a marketplace polling a feed, or a 304 storm,
 * costs no query. Changes made in this process invalidate their entry at once; changes
 * made by another process are seen within `ttlMs`.
 */
export class FeedStateCache {
  private readonly entries = new Map<string, { at: number; state: Promise<FeedState | undefined> }>();

  constructor(
    private readonly store: Store,
    private readonly ttlMs = 1000,
  ) {}

  /** The state of a channel, or undefined when there is no such channel. */
  get(channelId: string): Promise<FeedState | undefined> {
    const now = Date.now();
    const hit = this.entries.get(channelId);
    if (hit && now - hit.at < this.ttlMs) return hit.state;
    const state = feedState(this.store, channelId);
    this.entries.set(channelId, { at: now, state });
    // A failed read is not cached: the next request asks again.
    state.catch(() => this.entries.delete(channelId));
    if (this.entries.size > 10_000) this.entries.delete(this.entries.keys().next().value as string);
    return state;
  }

  /** Forgets a channel's state (after a publication, a token rotation or a definition change). */
  invalidate(channelId?: string): void {
    if (channelId === undefined) this.entries.clear();
    else this.entries.delete(channelId);
  }
}
