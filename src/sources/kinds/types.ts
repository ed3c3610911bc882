import type { Readable } from 'node:stream';
import type { FeedValidators, FetchState } from '../../model/catalog.js';

/** What opening a source needs beyond the definition. */
export interface SourceContext {
  /** Lets linked URLs reach private and loopback addresses (FEEDWRIGHT_ALLOW_PRIVATE_SOURCES). */
  allowPrivateSources: boolean;
  /** What the last applied fetch of a linked source recorded: its GET becomes conditional. */
  previous?: FetchState;
  /** Environment holding the secrets a definition names (process.env by default). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** An opened source: its byte stream and how it is described in the run. */
export interface OpenedSource {
  notModified: false;
  stream: Readable;
  /** File name or URL path, used to guess the format. */
  name: string | undefined;
  /** Content-Type of a linked feed, the last hint for format detection. */
  contentType?: string;
  /** When the bytes were fetched: the time the feed reflects. */
  fetchedAt: Date;
  /** Its size in bytes when known beforehand (a file, a declared length): large feeds parse on a worker thread. */
  size?: number;
  /** What a linked source records once the run is applied, so that its next fetch can be conditional. */
  fetchState?: FetchState;
}

/** A linked feed that answered 304: nothing to read. */
export interface NotModifiedSource {
  notModified: true;
  fetchedAt: Date;
  validators: FeedValidators;
}

/**
 * Where the bytes of one import come from, resolved from the catalog's definition and
 * what the caller gave (an upload, a file named on the command line). The one interface
 * the import sees: it never asks which kind of source it holds.
 */
export interface SourceDriver {
  readonly kind: 'upload' | 'file' | 'url' | 'none';
  /**
   * Fetched over the network: it may answer 304 to a conditional fetch, and a failure before
   * its first byte means the feed "could not be fetched" rather than "opened".
   */
  readonly linked: boolean;
  /** How a run names it: `upload:name`, `file:/path`, `url:https://host/path?key=***`. */
  describe(): string;
  open(ctx: SourceContext): Promise<OpenedSource | NotModifiedSource>;
}

/**
 * A kind of source a catalog definition can name (`{ "file": … }`, `{ "url": … }`): told
 * apart by the one key it requires. Each kind is one file under `sources/kinds/`, listed
 * once in `SOURCE_KINDS`; the definition's schema, path resolution, redaction and the
 * import's driver all come from it.
 */
export interface SourceKind<S extends object> {
  readonly kind: 'file' | 'url';
  /** The property whose presence marks a definition's source as this kind. */
  readonly key: string;
  /** The JSON Schema of this kind's `source` object. */
  readonly schema: object;
  /** The driver that opens it for one import of the catalog `catalogId`. */
  driver(catalogId: string, source: S): SourceDriver;
  /** The source with its relative paths resolved against `dir` (a definition file's folder). */
  resolvePaths?(source: S, dir: string): S;
  /** The source as the API shows it: credentials and secrets masked. */
  redact?(source: S): S;
  /** A source sent back after it was read redacted: masked parts take the stored value. */
  restore?(source: S, stored: S): S;
  /** The local file the source reads, when it reads one (for a progress bar's total). */
  localPath?(source: S): string | undefined;
}
