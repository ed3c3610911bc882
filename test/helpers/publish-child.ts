/**
 * A child process for the build-kill test: opens the store (PostgreSQL when DATABASE_URL
 * is set, otherwise PGlite in PGLITE_DIR), builds a channel's feed into FEEDS_DATA_DIR, and
 * reports on stdout, one JSON object a line, how many products it has read. The parent
 * kills it part-way through.
 *
 * Usage: node --import tsx test/helpers/publish-child.ts <channel>
 */
import { buildChannelFeed } from '../../src/publish/build/build.js';
import { openPgStore } from '../../src/store/pg-store.js';
import { openPgliteStore } from '../../src/store/pglite-store.js';

const [channelId] = process.argv.slice(2);
const dataDir = process.env.FEEDS_DATA_DIR;
if (!channelId || !dataDir) {
  process.stderr.write('usage: FEEDS_DATA_DIR=… publish-child.ts <channel>\n');
  process.exit(2);
}

const report = (message: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(message)}\n`);

const store = process.env.DATABASE_URL
  ? await openPgStore(process.env.DATABASE_URL)
  : await openPgliteStore(process.env.PGLITE_DIR);
report({ event: 'opened' });
const publication = await buildChannelFeed(
  { store, dataDir },
  {
    channelId,
    reason: 'test',
    actor: 'test:child',
    onProgress: (rows) => report({ event: 'progress', rows }),
  },
);
report({ event: 'finished', version: publication.version });
await store.close();
