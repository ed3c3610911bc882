import { loadConfig } from '../config/config.js';
import { migrate } from '../store/migrate.js';
import { openStore } from '../store/open.js';

/** `feedwright migrate`: brings the store's schema up to date. */
export async function migrateCommand(_args: string[], json: boolean): Promise<number> {
  const store = await openStore(loadConfig());
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
