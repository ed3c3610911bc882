import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { CatalogDefinition } from '../catalog/definition.js';
import { AppError } from '../errors.js';

/** Where the bytes of one import come from. */
export type ImportInput =
  | { kind: 'upload'; stream: Readable; name?: string }
  | { kind: 'file'; path: string }
  | { kind: 'default' };

/** An opened source: its byte stream and how it is described in the run. */
export interface OpenedSource {
  stream: Readable;
  /** Shown in the run record: `upload`, `file:/path`, `url:https://…`. */
  label: string;
  /** File name or URL path, used to guess the format. */
  name: string | undefined;
  /** When the bytes were fetched: the time the feed reflects. */
  fetchedAt: Date;
}

/**
 * Opens the bytes of an import: an upload, a file named on the command line, or the
 * catalog's own source. Linked URLs are fetched by their own module (a later stage);
 * until then they are refused with a clear error.
 */
export async function openSource(def: CatalogDefinition, input: ImportInput): Promise<OpenedSource> {
  const fetchedAt = new Date();
  if (input.kind === 'upload') {
    return {
      stream: input.stream,
      label: input.name ? `upload:${input.name}` : 'upload',
      name: input.name,
      fetchedAt,
    };
  }
  const file =
    input.kind === 'file' ? input.path : def.source && 'file' in def.source ? def.source.file : undefined;
  if (file !== undefined)
    return { stream: await openFile(file), label: `file:${file}`, name: file, fetchedAt };
  if (def.source && 'url' in def.source) {
    throw new AppError(
      'IMPORT_NO_SOURCE',
      `catalog ${def.id}: fetching linked URLs is not supported yet; upload the feed instead`,
    );
  }
  throw new AppError('IMPORT_NO_SOURCE', `catalog ${def.id} has no source; upload a feed or give a file`);
}

async function openFile(file: string): Promise<Readable> {
  const resolved = path.resolve(file);
  try {
    const handle = await fs.promises.open(resolved, 'r');
    const stat = await handle.stat();
    if (!stat.isFile()) {
      await handle.close();
      throw new AppError('IMPORT_SOURCE_UNREADABLE', `${resolved} is not a file`);
    }
    return handle.createReadStream({ highWaterMark: 256 * 1024 });
  } catch (err) {
    if (err instanceof AppError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(err);
    throw new AppError('IMPORT_SOURCE_UNREADABLE', `cannot read ${resolved}: ${why}`, { cause: err });
  }
}
