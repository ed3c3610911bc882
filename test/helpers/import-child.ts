/**
 * A child process for the SIGKILL test: opens the store (PostgreSQL when DATABASE_URL is
 * set, otherwise PGlite in DATA_DIR), imports a file into a catalog, and reports on stdout,
 * one JSON object a line, when the run exists and how far it has read. The parent kills it
 * part-way through.
 *
 * Usage: node --import tsx test/helpers/import-child.ts <catalog> <file>
 */
import { runImport } from '../../src/import/run.js';
import { openPgStore } from '../../src/store/pg-store.js';
import { openPgliteStore } from '../../src/store/pglite-store.js';

const [catalogId, file] = process.argv.slice(2);
if (!catalogId || !file) {
  process.stderr.write('usage: import-child.ts <catalog> <file>\n');
  process.exit(2);
}

const report = (message: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(message)}\n`);

const store = process.env.DATABASE_URL
  ? await openPgStore(process.env.DATABASE_URL)
  : await openPgliteStore(process.env.DATA_DIR);
report({ event: 'opened' });
const run = await runImport(store, {
  catalogId,
  input: { kind: 'file', path: file },
  mode: 'full',
  force: true,
  actor: 'test:child',
  onProgress: (p) => report({ event: 'progress', phase: p.phase, rows: p.rows }),
});
report({ event: 'finished', status: run.status });
await store.close();
