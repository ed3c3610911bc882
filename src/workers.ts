import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Starts the worker module `name` of the folder of `base` (the caller's `import.meta.url`):
 * its .js beside the caller when built, or its .ts through tsx when run from the sources.
 */
export function startWorker(base: string, name: string, workerData: unknown): Worker {
  const fromSources = base.endsWith('.ts');
  const url = new URL(`./${name}${fromSources ? '.ts' : '.js'}`, base);
  if (!fromSources) return new Worker(url, { workerData });
  // tsx is a development dependency: only the sources (tests, `tsx src/…`) come here. Its
  // API by absolute URL: the process may run in a folder with no node_modules.
  const tsx = path.join(
    path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')),
    'dist/esm/api/index.mjs',
  );
  const boot = `import(${JSON.stringify(pathToFileURL(tsx).href)}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}
