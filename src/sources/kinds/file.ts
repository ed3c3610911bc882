import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '../../errors.js';
import type { FileSource } from '../../model/catalog.js';
import type { SourceDriver, SourceKind } from './types.js';

/** A feed file on this machine: a catalog's `{ "file": … }`, or a path given to one import. */
export const fileSource: SourceKind<FileSource> = {
  kind: 'file',
  key: 'file',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['file'],
    properties: { file: { type: 'string', minLength: 1 } },
  },
  driver: (_catalogId, source) => fileDriver(source.file),
  resolvePaths: (source, dir) => ({ file: path.resolve(dir, source.file) }),
  localPath: (source) => source.file,
};

/** Opens the file at `file` (resolved against the working folder). */
export function fileDriver(file: string): SourceDriver {
  return {
    kind: 'file',
    linked: false,
    describe: () => `file:${file}`,
    open: async () => {
      const fetchedAt = new Date();
      const { stream, size } = await openFile(file);
      return { notModified: false, stream, name: file, fetchedAt, size };
    },
  };
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
