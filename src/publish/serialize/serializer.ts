import type { FeedValue } from '../../model/channel.js';

/**
 * Serializers of outgoing feeds (SPEC §3 "Publication"). A build calls `head()` once,
 * `items()` for each batch of mapped rows (in sku order), `tail()` once, and writes the
 * concatenation; a serializer may keep state between calls (JSON's commas), so it serves
 * one build only.
 */
export interface FeedSerializer {
  /** The `Content-Type` the feed is served with. */
  readonly contentType: string;
  head(): string;
  /** One batch of rows, each with one value per column, in column order. */
  items(rows: readonly (readonly FeedValue[])[]): string;
  /**
   * The same text as `items` without the serializer's state: `first` says whether these are
   * the feed's first rows (JSON writes no comma before them). A segment of a feed can so be
   * written again alone and come out as a whole build writes it.
   */
  rows(rows: readonly (readonly FeedValue[])[], first: boolean): string;
  tail(): string;
}
