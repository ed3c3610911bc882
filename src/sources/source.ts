import type { Readable } from 'node:stream';
import { AppError } from '../errors.js';
import type { CatalogDefinition, CatalogSource } from '../model/catalog.js';
import { fileDriver, fileSource } from './kinds/file.js';
import { linkedUrlSource } from './kinds/linked-url.js';
import type { SourceDriver, SourceKind } from './kinds/types.js';
import { uploadDriver } from './kinds/upload.js';

export type {
  NotModifiedSource,
  OpenedSource,
  SourceContext,
  SourceDriver,
  SourceKind,
} from './kinds/types.js';

/**
 * The kinds of source a catalog definition can name, told apart by their key (`url`,
 * `file`). The last one is the default: the definition's schema checks a source without
 * any other kind's key against it, so its errors come from the one kind the author meant.
 */
// biome-ignore lint/suspicious/noExplicitAny: each kind takes its own source shape; sourceKind() pairs a source with its kind.
const SOURCE_KINDS: ReadonlyArray<SourceKind<any>> = [linkedUrlSource, fileSource];

/** Where the bytes of one import come from, as the caller asks. */
export type ImportInput =
  | { kind: 'upload'; stream: Readable; name?: string; size?: number }
  | { kind: 'file'; path: string }
  | { kind: 'default' };

/** The kind of a definition's source: the one whose key it has (the last kind otherwise). */
function sourceKind<S extends CatalogSource>(source: S): SourceKind<S> {
  const kind = SOURCE_KINDS.find((k) => k.key in source) ?? SOURCE_KINDS[SOURCE_KINDS.length - 1];
  if (!kind) throw new Error('no source kind is declared');
  return kind;
}

/**
 * The driver for one import: an upload, a file named on the command line, or the
 * catalog's own source (its file, its linked URL). A catalog without one gets a driver
 * whose `open` says so: the run is held as "could not be opened".
 */
export function sourceFor(def: CatalogDefinition, input: ImportInput): SourceDriver {
  if (input.kind === 'upload') return uploadDriver(input);
  if (input.kind === 'file') return fileDriver(input.path);
  if (def.source) return sourceKind(def.source).driver(def.id, def.source);
  return {
    kind: 'none',
    linked: false,
    describe: () => 'none',
    open: async () => {
      throw new AppError('IMPORT_NO_SOURCE', `catalog ${def.id} has no source; upload a feed or give a file`);
    },
  };
}

/** The JSON Schema of a definition's `source`: each kind's schema, chosen by its key. */
export function sourceSchema(): object {
  const [last, ...others] = [...SOURCE_KINDS].reverse();
  if (!last) throw new Error('no source kind is declared');
  return others.reduce<object>(
    (otherwise, kind) => ({
      type: 'object',
      if: { properties: { [kind.key]: true }, required: [kind.key] },
      then: kind.schema,
      else: otherwise,
    }),
    last.schema,
  );
}

/** A source with its relative paths resolved against `dir` (the folder of its definition file). */
export function resolveSourcePaths<S extends CatalogSource>(source: S, dir: string): S {
  return sourceKind(source).resolvePaths?.(source, dir) ?? source;
}

/** A source as the API and the dashboard show it: credentials and secrets masked. */
export function redactSource<S extends CatalogSource>(source: S): S {
  return sourceKind(source).redact?.(source) ?? source;
}

/**
 * A source a client sends back after reading it redacted (a dashboard form): where it kept
 * a masked part, the stored secret is kept. Sources of different kinds share nothing.
 */
export function restoreSource<S extends CatalogSource>(source: S, stored: CatalogSource | undefined): S {
  const kind = sourceKind(source);
  if (!stored || sourceKind(stored) !== kind) return source;
  return kind.restore?.(source, stored as S) ?? source;
}

/** The local file a source reads, when it reads one. */
export function localSourcePath(source: CatalogSource): string | undefined {
  return sourceKind(source).localPath?.(source);
}
