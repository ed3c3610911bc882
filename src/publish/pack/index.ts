/**
 * The feed storage format: how a built feed lies on disk. A publication's feed, gzip twin and
 * item list are cut into pieces (head, segments, tail; pieces.ts) held in packs, whole or
 * delta, with an index per publication (index-check.ts reads and checks it). The gzip twin is
 * one member framed around pieces deflated alone (gzip.ts), its CRC-32 combined from theirs
 * (crc.ts). PieceWriter writes a pack and its index (writer.ts), PackReader opens packs
 * (reader.ts), openPublication serves a publication's files as one stream (feed-reader.ts),
 * files.ts names the files and prunes them.
 *
 * This index is the module's interface: code outside src/publish/pack imports from here only.
 */
export {
  FeedFilesMissing,
  type OpenedFeed,
  openPublication,
  type PublishedFeed,
  readPublication,
} from './feed-reader.js';
export {
  channelFeedsDir,
  type PublicationFiles,
  pruneFeeds,
  publicationFiles,
  syncDir,
  temporaryFiles,
} from './files.js';
export { GZIP_LEVEL } from './gzip.js';
export { type IndexExpectation, readFeedIndex } from './index-check.js';
export {
  type EncodedText,
  encodeText,
  type FeedIndex,
  type FeedPiece,
  MAX_DELTA_PACKS,
  type NewPiece,
  type PackFile,
  type PackRef,
  SEGMENT_PRODUCTS,
} from './pieces.js';
export { PackReader } from './reader.js';
export { PieceWriter, type WrittenFeed } from './writer.js';
