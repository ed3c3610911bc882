import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { CatalogDefinition, UrlSource } from '../catalog/definition.js';
import { AppError } from '../errors.js';
import type { FeedValidators } from './fetch-state.js';
import { redactUrl } from './ssrf.js';
import { fetchFeed } from './url.js';

/** Where the bytes of one import come from. */
export type ImportInput =
  | { kind: 'upload'; stream: Readable; name?: string; size?: number }
  | { kind: 'file'; path: string }
  | { kind: 'default' };

/** What opening a source needs beyond the definition. */
export interface SourceContext {
  /** Lets linked URLs reach private and loopback addresses (FEEDWRIGHT_ALLOW_PRIVATE_SOURCES). */
  allowPrivateSources: boolean;
  /** Validators of the last applied fetch of this URL: the GET becomes conditional. */
  previous?: FeedValidators;
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
  /** ETag and Last-Modified of a linked feed, kept once the run is applied. */
  validators?: FeedValidators;
}

/** A linked feed that answered 304: nothing to read. */
export interface NotModifiedSource {
  notModified: true;
  fetchedAt: Date;
  validators: FeedValidators;
}

/**
 * How a run names its source, without opening it: `upload`, `file:/path`, or
 * `url:https://host/path?key=***` (credentials and query values never reach a record).
 */
export function describeSource(def: CatalogDefinition, input: ImportInput): string {
  if (input.kind === 'upload') return input.name ? `upload:${input.name}` : 'upload';
  if (input.kind === 'file') return `file:${input.path}`;
  if (def.source && 'file' in def.source) return `file:${def.source.file}`;
  if (def.source && 'url' in def.source) return `url:${safeRedact(def.source.url)}`;
  return 'none';
}

/**
 * Opens the bytes of an import: an upload, a file named on the command line, the
 * catalog's file, or its linked URL (fetched with the SSRF guard, conditionally when
 * validators are known).
 */
export async function openSource(
  def: CatalogDefinition,
  input: ImportInput,
  ctx: SourceContext,
): Promise<OpenedSource | NotModifiedSource> {
  const fetchedAt = new Date();
  if (input.kind === 'upload')
    return { notModified: false, stream: input.stream, name: input.name, fetchedAt, size: input.size };
  const file =
    input.kind === 'file' ? input.path : def.source && 'file' in def.source ? def.source.file : undefined;
  if (file !== undefined) {
    const { stream, size } = await openFile(file);
    return { notModified: false, stream, name: file, fetchedAt, size };
  }
  if (def.source && 'url' in def.source) return openUrl(def.id, def.source, ctx);
  throw new AppError('IMPORT_NO_SOURCE', `catalog ${def.id} has no source; upload a feed or give a file`);
}

async function openUrl(
  catalogId: string,
  source: UrlSource,
  ctx: SourceContext,
): Promise<OpenedSource | NotModifiedSource> {
  const env = ctx.env ?? process.env;
  const secret = (name: string, where: string) => {
    const value = env[name];
    if (value === undefined) {
      // The operator reads this in a scheduler log or a held run: it names what to set, and where.
      throw new AppError(
        'IMPORT_SOURCE_UNREADABLE',
        `${where} of catalog ${catalogId} names the environment variable ${name}, which is not set`,
      );
    }
    return value;
  };
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(source.headers ?? {})) {
    headers[name] = typeof value === 'string' ? value : secret(value.env, `source.headers.${name}`);
  }
  const result = await fetchFeed(source.url, {
    allowPrivate: ctx.allowPrivateSources,
    auth: source.auth
      ? {
          username: source.auth.username,
          password: secret(source.auth.passwordEnv, 'source.auth.passwordEnv'),
        }
      : undefined,
    headers,
    previous: ctx.previous,
    signal: ctx.signal,
  });
  const validators = { etag: result.etag, lastModified: result.lastModified };
  if (result.status === 'not-modified') return { notModified: true, fetchedAt: result.fetchedAt, validators };
  return {
    notModified: false,
    stream: result.stream,
    name: new URL(result.finalUrl).pathname,
    contentType: result.contentType,
    fetchedAt: result.fetchedAt,
    validators,
    size: result.contentLength,
  };
}

function safeRedact(url: string): string {
  try {
    return redactUrl(new URL(url));
  } catch {
    return 'invalid-url';
  }
}

async function openFile(file: string): Promise<{ stream: Readable; size: number }> {
  const resolved = path.resolve(file);
  try {
    const handle = await fs.promises.open(resolved, 'r');
    const stat = await handle.stat();
    if (!stat.isFile()) {
      await handle.close();
      throw new AppError('IMPORT_SOURCE_UNREADABLE', `${resolved} is not a file`);
    }
    return { stream: handle.createReadStream({ highWaterMark: 256 * 1024 }), size: stat.size };
  } catch (err) {
    if (err instanceof AppError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(err);
    throw new AppError('IMPORT_SOURCE_UNREADABLE', `cannot read ${resolved}: ${why}`, { cause: err });
  }
}
