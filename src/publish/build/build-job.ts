import type { BuildInputs, Publication } from '../../store/publications.js';
import type { Session } from '../../store/types.js';
import type { FeedSerializer } from '../serialize/index.js';
import type { FieldMapper, RuleEvaluator } from './render-segment.js';

/** What one build of a channel works with, read once at its start. */
export interface BuildJob {
  db: Session;
  channel: { id: string; catalog: string };
  /** The versions the feed is built from (recorded in the publication). */
  inputs: BuildInputs;
  evaluator: RuleEvaluator;
  mapper: FieldMapper;
  serializer: FeedSerializer;
  format: string;
  /** The version this build will publish, and the one in force before it. */
  version: number;
  previous: Publication | undefined;
  dataDir: string;
  /** The instant rules are evaluated at. */
  at: Date;
}
