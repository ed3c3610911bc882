import type { Readable } from 'node:stream';
import type { SourceDriver } from './types.js';

/** The body of an upload (the API's `POST …/imports`, the CLI's `import --file -`). */
export function uploadDriver(upload: { stream: Readable; name?: string; size?: number }): SourceDriver {
  return {
    kind: 'upload',
    linked: false,
    describe: () => (upload.name ? `upload:${upload.name}` : 'upload'),
    open: async () => ({
      notModified: false,
      stream: upload.stream,
      name: upload.name,
      fetchedAt: new Date(),
      size: upload.size,
    }),
  };
}
