import type { BuildInputs, Publication } from '../../store/publications.js';
import type { Session } from '../../store/types.js';
import type { FeedSerializer } from '../serialize/index.js';
import type { RenderInputs } from './piece-renderer.js';
import type { FieldMapper, RuleEvaluator } from './render-segment.js';

/** How a build was asked for, and by whom (both go into the publication and history). */
export interface BuildRequest {
  channelId: string;
  reason: string;
  actor: string;
  /** The instant rules are evaluated at (their windows); now by default. */
  at?: Date;
  /** Told the number of products read so far, after each batch. */
  onProgress?: (products: number) => void;
  /** Told, once the feed is written, where the build's time went (the benchmark's breakdown). */
  onTimings?: (timings: BuildTimings) => void;
  /**
   * Told when this build switched a new publication in; not when an automatic rebuild found
   * the feed already up to date and gave back the latest publication as it was.
   */
  onSwitchedIn?: (publication: Publication) => void;
  /**
   * When only the stock moved since the last publication, write again only the segments
   * that hold the moved skus (see stock-rebuild.ts); otherwise, or in any doubt, a whole
   * build. Automatic builds ask for it; a build on demand is always whole.
   */
  incremental?: boolean;
}

/** What one build of a channel works with, read once at its start. */
export interface BuildJob {
  db: Session;
  channel: { id: string; catalog: string };
  /** The versions the feed is built from (recorded in the publication). */
  inputs: BuildInputs;
  evaluator: RuleEvaluator;
  mapper: FieldMapper;
  serializer: FeedSerializer;
  /** The channel's rule sets and definition as plain data (what a render thread compiles). */
  render: RenderInputs;
  format: string;
  /** The version this build will publish, and the one in force before it. */
  version: number;
  previous: Publication | undefined;
  dataDir: string;
  /** The instant rules are evaluated at. */
  at: Date;
}

/** One attempt at a build (an import meanwhile starts another): its request, clock and folder. */
export interface BuildAttempt {
  req: BuildRequest;
  started: Date;
  now: () => Date;
  /** The channel's feeds folder, and the tag of this attempt's temporary file names. */
  dir: string;
  tag: string;
}

/**
 * Milliseconds a build spent in each phase, summed over its batches. The phases of the
 * build's own thread add up to its time; `thread` is the render threads' (summed), which overlaps
 * them. Writes to the feed and its gzip twin overlap the work that follows them, so `write`
 * is the time spent waiting.
 */
export interface BuildTimings {
  /** Waiting for the next batch of products from the store. */
  read: number;
  /** Rules, field mapping and item hashes of the segments rendered on this thread. */
  render: number;
  /** Their serializer (csv-stringify, the XML or JSON writer) and encoding with checksums. */
  serialize: number;
  /** Handing segments to the render threads, and waiting for the next one back. */
  wait: number;
  /** Waiting for the feed and gzip writes. */
  write: number;
  /** The item list and the diff against the previous publication. */
  items: number;
  /** Ending the files (fsync on close) and the last of gzip. */
  finish: number;
  /** The render threads: how many, the products they rendered, and their time (summed) in rendering and serializing. */
  thread: { count: number; products: number; render: number; serialize: number };
}
