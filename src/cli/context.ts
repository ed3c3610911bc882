import { type Config, loadConfig } from '../config/config.js';
import { getChannel } from '../store/channels.js';
import { migrate } from '../store/migrate.js';
import { openStore } from '../store/open.js';
import {
  acquireStoreLock,
  describeHolder,
  type StoreHolder,
  StoreInUseError,
  type StoreLock,
} from '../store/store-lock.js';
import type { Store } from '../store/types.js';
import { ServeClient, seg } from './serve-client.js';

interface BaseContext {
  config: Config;
  json: boolean;
  out: (text: string) => void;
  /** Closes the store (letting go of DATA_DIR) or forgets the server. */
  close(): Promise<void>;
}

/** A command working on the store itself, opened by this process and brought up to date. */
export interface StoreContext extends BaseContext {
  via: 'store';
  store: Store;
}

/** A command working through the API of the `serve` that holds the embedded store. */
export interface ServerContext extends BaseContext {
  via: 'server';
  server: ServeClient;
}

/**
 * What every command gets: the configuration and either the store (PostgreSQL, or the
 * embedded store when no other process holds it) or the running server's API.
 */
export type CommandContext = StoreContext | ServerContext;

const out = (text: string) => process.stdout.write(`${text}\n`);

/** How long a command waits for a `serve` that is starting (or stopping) before it gives up. */
export const SERVE_WAIT_MS = 120_000;

/**
 * Opens what `command` works on. With PostgreSQL, the store (any number of processes may
 * share it). With the embedded store: the store itself when no live process holds DATA_DIR;
 * the API of the `serve` that holds it (waiting while it starts, or until it has stopped);
 * an error naming the process otherwise.
 */
export async function openContext(json: boolean, command: string): Promise<CommandContext> {
  const config = loadConfig();
  if (!config.databaseUrl) {
    const reached = await reachStore(config.dataDir, command);
    if ('holder' in reached) {
      const server = new ServeClient(reached.holder, reached.endpoint, config.dataDir);
      return { via: 'server', server, config, json, out, close: async () => {} };
    }
    return openStoreContext(config, json, command, reached.lock);
  }
  return openStoreContext(config, json, command, undefined);
}

async function openStoreContext(
  config: Config,
  json: boolean,
  command: string,
  lock: StoreLock | undefined,
): Promise<StoreContext> {
  const store = await openStore(config, {
    lock,
    command,
    onError: (err) => process.stderr.write(`feedwright: store connection error: ${err.message}\n`),
  });
  try {
    await migrate(store);
  } catch (err) {
    await store.close();
    throw err;
  }
  return { via: 'store', store, config, json, out, close: () => store.close() };
}

/** The embedded store's lock, taken by this process, or the ready `serve` that holds it. */
export type ReachedStore =
  | { lock: StoreLock }
  | { holder: StoreHolder; endpoint: { url: string; token: string } };

/**
 * Takes DATA_DIR's lock for `command` (taking over a stale one), or finds the `serve` that
 * holds it: a serve still starting is waited for until it listens, one stopping until it has
 * let go, within `waitMs`. Any other holder is an error that names it.
 */
export async function reachStore(
  dataDir: string,
  command: string,
  options: { waitMs?: number; onWait?: (holder: StoreHolder) => void } = {},
): Promise<ReachedStore> {
  const deadline = Date.now() + (options.waitMs ?? SERVE_WAIT_MS);
  let told = false;
  for (;;) {
    let holder: StoreHolder;
    try {
      return { lock: await acquireStoreLock(dataDir, command) };
    } catch (err) {
      if (!(err instanceof StoreInUseError)) throw err;
      holder = err.holder;
    }
    const serve = holder.serve;
    if (!serve) {
      throw new Error(
        `the embedded store in ${dataDir} is in use by ${describeHolder(holder)}; one process at a time may open it: try again when it has finished`,
      );
    }
    if (serve.state === 'ready' && serve.url)
      return { holder, endpoint: { url: serve.url, token: serve.token } };
    if (Date.now() >= deadline) {
      throw new Error(
        `the embedded store in ${dataDir} is held by ${describeHolder(holder)}, still ${serve.state} after ${Math.round(
          (options.waitMs ?? SERVE_WAIT_MS) / 1000,
        )} s; try again later`,
      );
    }
    if (!told) {
      told = true;
      (options.onWait ?? tellWaiting)(holder);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function tellWaiting(holder: StoreHolder): void {
  // Like progress, only on a terminal: scripts read stderr for failures.
  if (!process.stderr.isTTY) return;
  const what = holder.serve?.state === 'stopping' ? 'to stop' : 'to start listening';
  process.stderr.write(`feedwright: waiting for ${describeHolder(holder)} ${what}…\n`);
}

/** A channel's id and catalog, or undefined when there is no such channel. */
export async function findChannel(
  ctx: CommandContext,
  id: string,
): Promise<{ id: string; catalog: string } | undefined> {
  if (ctx.via === 'store') return getChannel(ctx.store, id);
  const answer = await ctx.server.send<{ id: string; catalog: string }>('GET', `/api/channels/${seg(id)}`);
  // Not found, or not even a channel id (a rule set's id may be any string).
  if (answer.status === 404 || answer.status === 400) return undefined;
  if (answer.status >= 300) throw ctx.server.failure(answer);
  return answer.body;
}
