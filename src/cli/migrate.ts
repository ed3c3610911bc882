import { loadConfig } from '../config/config.js';
import { migrate, readMigrations } from '../store/migrate.js';
import { openStore } from '../store/open.js';
import { describeHolder, type StoreLock } from '../store/store-lock.js';
import { reachStore } from './context.js';

/**
 * `feedwright migrate`: brings the store's schema up to date. Beside a `serve` that holds the
 * embedded store, there is nothing to do when that serve migrated it (at its start) as far as
 * this feedwright's migrations go; a newer migration needs the serve stopped first.
 */
export async function migrateCommand(_args: string[], json: boolean): Promise<number> {
  const config = loadConfig();
  let lock: StoreLock | undefined;
  if (!config.databaseUrl) {
    const reached = await reachStore(config.dataDir, 'migrate');
    if ('lock' in reached) lock = reached.lock;
    else {
      const { holder } = reached;
      const latest = Math.max(0, ...(await readMigrations()).map((m) => m.id));
      const schema = holder.serve?.schema ?? 0;
      if (latest > schema) {
        throw new Error(
          `${describeHolder(holder)} holds the embedded store in ${config.dataDir} with migrations up to ${schema}, and this feedwright has migrations up to ${latest}: stop it, then run migrate (or start the new version's serve, which migrates at start)`,
        );
      }
      if (json) process.stdout.write(`${JSON.stringify({ applied: [] })}\n`);
      else process.stdout.write(`schema is up to date (migrated by feedwright serve, pid ${holder.pid})\n`);
      return 0;
    }
  }
  const store = await openStore(config, { lock, command: 'migrate' });
  try {
    const applied = await migrate(store);
    if (json)
      process.stdout.write(
        `${JSON.stringify({ applied: applied.map((m) => ({ id: m.id, name: m.name })) })}\n`,
      );
    else if (applied.length === 0) process.stdout.write('schema is up to date\n');
    else
      for (const m of applied) process.stdout.write(`applied ${String(m.id).padStart(6, '0')}_${m.name}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
