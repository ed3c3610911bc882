import { type Config, loadConfig } from '../config/config.js';
import { migrate } from '../store/migrate.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';

/** What every command gets: the configuration and a store brought up to date. */
export interface CommandContext {
  config: Config;
  store: Store;
  json: boolean;
  out: (text: string) => void;
}

/** Opens the store and migrates it: every start brings the schema up to date. */
export async function openContext(json: boolean): Promise<CommandContext> {
  const config = loadConfig();
  const store = await openStore(config, (err) => {
    process.stderr.write(`feedwright: store connection error: ${err.message}\n`);
  });
  await migrate(store);
  return { config, store, json, out: (text) => process.stdout.write(`${text}\n`) };
}
