import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { putChannel } from '../src/channels/service.js';
import { buildApp } from '../src/http/app.js';
import { runImport } from '../src/import/run.js';
import { buildChannelFeed } from '../src/publish/build/build.js';
import { saveCatalog } from '../src/store/catalogs.js';
import { migrate } from '../src/store/migrate.js';
import { openPgliteStore } from '../src/store/pglite-store.js';
import { latestPublication } from '../src/store/publications.js';
import type { Store } from '../src/store/types.js';
import { killWhenPastRows } from './helpers/kill-child.js';
import { BACKEND, openTestStore, type TestStore } from './helpers/store.js';

const REPO = path.resolve(import.meta.dirname, '..');

function writeCatalog(file: string, rows: number, titlePrefix: string): void {
  const lines = ['sku,title,price,quantity'];
  for (let i = 0; i < rows; i++)
    lines.push(`K-${String(i).padStart(6, '0')},${titlePrefix} ${i},${i % 97}.5,${i % 11}`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
}

describe('a process killed while it builds a feed', () => {
  it('leaves the previous feed served whole, and the next build succeeds', { timeout: 180_000 }, async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-build-kill-'));
    const dataDir = path.join(tmp, 'data');
    const pgliteDir = path.join(tmp, 'pglite');
    let t: TestStore | undefined;
    let own: Store | undefined;
    let child: ChildProcess | undefined;
    const open = async () => {
      if (BACKEND === 'postgres') return (t as TestStore).store;
      own = await openPgliteStore(pgliteDir);
      return own;
    };
    try {
      if (BACKEND === 'postgres') t = await openTestStore();
      let db = await open();
      if (own) await migrate(own);
      await saveCatalog(db, { kind: 'catalog', id: 'kill' }, 'test');
      const feed = path.join(tmp, 'catalog.csv');
      writeCatalog(feed, 30_000, 'Before');
      const importFile = async (store: Store) =>
        runImport(store, {
          catalogId: 'kill',
          input: { kind: 'file', path: feed },
          mode: 'full',
          force: true,
          actor: 'test',
        });
      expect((await importFile(db)).status).toBe('applied');
      await db.transaction((tx) =>
        putChannel(
          tx,
          {
            kind: 'channel',
            id: 'killed',
            catalog: 'kill',
            format: 'csv',
            fields: { id: 'sku', name: 'title' },
          },
          'test',
        ),
      );
      const first = await buildChannelFeed(
        { store: db, dataDir },
        { channelId: 'killed', reason: 'test', actor: 'test' },
      );
      expect(first).toMatchObject({ version: 1, items: 30_000 });
      const before = fs.readFileSync(path.join(dataDir, 'feeds', 'killed', '1.csv'));
      // Every title changes, so a finished second build would differ everywhere.
      writeCatalog(feed, 30_000, 'After');
      expect((await importFile(db)).status).toBe('applied');
      if (own) {
        await own.close();
        own = undefined;
      }

      child = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(REPO, 'test/helpers/publish-child.ts'), 'killed'],
        {
          cwd: REPO,
          env: {
            ...process.env,
            DATABASE_URL: BACKEND === 'postgres' ? t?.databaseUrl : '',
            PGLITE_DIR: pgliteDir,
            FEEDS_DATA_DIR: dataDir,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const reports = await killWhenPastRows(child, 6_000);
      expect(reports).not.toContainEqual(expect.objectContaining({ event: 'finished' }));
      // The killed build left its temporary files, never a file under a served name.
      const names = fs.readdirSync(path.join(dataDir, 'feeds', 'killed'));
      expect(names.filter((n) => !n.startsWith('.tmp-')).sort()).toEqual([
        '1.csv',
        '1.csv.gz',
        '1.csv.index',
        '1.csv.items',
      ]);

      db = await open();
      expect((await latestPublication(db, 'killed'))?.version).toBe(1);
      const app = await buildApp({ store: db, apiKey: 'k', maxUploadBytes: 1024, dataDir });
      try {
        const channel = (
          await app.inject({ url: '/api/channels/killed', headers: { authorization: 'Bearer k' } })
        ).json();
        const served = await app.inject({ url: new URL(channel.feedUrl).pathname });
        expect(served.statusCode).toBe(200);
        expect(served.rawPayload.equals(before)).toBe(true);
        expect(served.headers.etag).toBe(`"${first.sha256}"`);
      } finally {
        await app.close();
      }

      // PostgreSQL frees the dead session's build lock once it notices the connection is gone.
      const second = await buildChannelFeed(
        { store: db, dataDir },
        { channelId: 'killed', reason: 'test', actor: 'test' },
      );
      expect(second).toMatchObject({ version: 2, items: 30_000, changed: 30_000 });
      expect(fs.readFileSync(path.join(dataDir, 'feeds', 'killed', '2.csv'), 'utf8')).toContain(
        'After 29999',
      );
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await own?.close();
      await t?.cleanup();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
