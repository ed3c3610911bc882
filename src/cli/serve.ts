import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Config, loadConfig } from '../config/config.js';
import { applyDefinitions, DefinitionsInvalidError } from '../definitions/apply.js';
import { ensureApiKey } from '../http/api-key.js';
import { buildApp } from '../http/app.js';
import { recoverInterruptedRuns } from '../import/run.js';
import { BackgroundWork, scheduleCatalogImports } from '../schedule/catalog-tasks.js';
import { fetchLogRetentionTask } from '../schedule/fetch-log-retention.js';
import { Scheduler } from '../schedule/scheduler.js';
import { migrate, readMigrations } from '../store/migrate.js';
import { openStore } from '../store/open.js';
import {
  acquireStoreLock,
  describeHolder,
  newLocalToken,
  StoreInUseError,
  type StoreLock,
} from '../store/store-lock.js';
import type { Store } from '../store/types.js';
import { parseCommandArgs } from './args.js';

/**
 * `feedwright serve [--dir DIR]`: applies DIR's definitions, starts the scheduler and
 * the HTTP API on PORT, and shuts down gracefully on SIGTERM or SIGINT.
 */
export async function serveCommand(args: string[], _json: boolean): Promise<number> {
  const { values } = parseCommandArgs(args, { dir: { type: 'string' } }, false);
  const config = loadConfig();
  // The embedded store is this process's while it runs: the lock names it, and tells the
  // command line where to reach it and with which credential.
  const localToken = newLocalToken();
  let lock: StoreLock | undefined;
  if (!config.databaseUrl) {
    try {
      lock = await acquireStoreLock(config.dataDir, 'serve', { token: localToken });
    } catch (err) {
      if (!(err instanceof StoreInUseError)) throw err;
      throw new Error(
        `the embedded store in ${config.dataDir} is in use by ${describeHolder(err.holder)}; stop that process first, or give this serve another DATA_DIR`,
      );
    }
  }
  const store = await openStore(config, {
    lock,
    onError: (err) => process.stderr.write(`feedwright: store connection error: ${err.message}\n`),
  });
  // Until it listens, a failed start closes what it opened (and lets go of the lock).
  const stops: Array<() => Promise<void>> = [() => store.close()];
  try {
    return await run(values.dir, config, store, lock, localToken, stops);
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    throw err;
  }
}

async function run(
  dirArg: string | undefined,
  config: Config,
  store: Store,
  lock: StoreLock | undefined,
  localToken: string,
  stops: Array<() => Promise<void>>,
): Promise<number> {
  await migrate(store);
  lock?.updateServe({ schema: Math.max(0, ...(await readMigrations()).map((m) => m.id)) });
  const dir = path.resolve(dirArg ?? '.');
  const { key, generated } = ensureApiKey(config.apiKey, config.dataDir);
  // The scheduler is started after the app is built: a catalog PUT reaches it late-bound.
  let syncSchedules: (() => Promise<unknown>) | undefined;
  const app = await buildApp({
    store,
    apiKey: key,
    ...(lock ? { localToken } : {}),
    definitionsDir: dir,
    maxUploadBytes: config.maxUploadBytes,
    allowPrivateSources: config.allowPrivateSources,
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    dataDir: config.dataDir,
    logger: { level: config.logLevel },
    rateLimitPerMinute: config.rateLimitPerMinute,
    timeouts: { headersMs: config.headersTimeoutMs, requestMs: config.requestTimeoutMs },
    onCatalogChanged: () => {
      void syncSchedules?.().catch((err: unknown) => app.log.error({ err }, 'schedule sync failed'));
    },
  });
  stops.push(() => app.close());
  const log = app.log;
  if (generated) {
    log.warn(
      { file: path.join(config.dataDir, 'api-key') },
      'generated an API key (set FEEDWRIGHT_API_KEY to choose one)',
    );
    process.stdout.write(`\nAPI key: ${key}\n(kept in ${path.join(config.dataDir, 'api-key')})\n\n`);
  }
  const recovered = await recoverInterruptedRuns(store);
  if (recovered > 0) log.warn({ runs: recovered }, 'marked interrupted import runs as failed');

  try {
    const result = await applyDefinitions(store, dir);
    log.info({ dir, applied: result.applied.map((a) => `${a.id}:${a.outcome}`) }, 'definitions applied');
  } catch (err) {
    if (!(err instanceof DefinitionsInvalidError)) throw err;
    // The versions in force stay; the service still starts.
    log.error({ dir, problems: err.problems }, 'definitions refused; the stored versions stay in force');
  }

  const scheduler = new Scheduler(store, (task, err) => log.error({ task, err }, 'scheduled task failed'));
  const work = new BackgroundWork();
  stops.push(
    () => scheduler.stop(),
    () => work.drain(),
  );
  const schedules = await scheduleCatalogImports(
    store,
    scheduler,
    work,
    config.allowPrivateSources,
    (msg, fields) => log.info(fields, msg),
    { onApplied: () => app.feeds.publisher.poke() },
  );
  syncSchedules = () => schedules.sync();
  scheduler.add(
    fetchLogRetentionTask(store, config.fetchLogDays, (moved) =>
      log.info({ moved, days: config.fetchLogDays }, 'fetch log pruned into hourly counts'),
    ),
  );
  // Feeds: built at once where stale (never built, or made from older data), then kept up to date.
  app.feeds.publisher.start();
  stops.push(() => app.feeds.publisher.stop());

  const address = await app.listen({ port: config.port, host: config.host });
  lock?.updateServe({ state: 'ready', url: reachableUrl(app.server.address()) });
  process.stdout.write(`feedwright listening on ${address} (store: ${store.kind})\n`);

  // The listeners go with the first signal: a second one stops the process at once (Node's
  // default), and the store's transactions keep the catalog whole even then.
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (received: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(received);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  lock?.updateServe({ state: 'stopping' });
  const { inFlight } = app.operations;
  log.info({ signal, requests: inFlight.size }, 'shutting down: no new requests, finishing those under way');
  // No new connections; new requests on open ones answer 503. Requests under way (an upload
  // being imported) may finish within the grace period; then their connections are cut, and
  // an import whose upload was cut is held, its catalog untouched.
  const closed = app.close();
  // A keep-alive connection that falls idle after its last answer is closed then, not when
  // the client lets go of it.
  const sweep = setInterval(() => app.server.closeIdleConnections(), 250);
  const grace = setTimeout(() => {
    log.warn(
      { requests: inFlight.size, graceMs: config.shutdownGraceMs },
      'shutdown grace period over: cutting the connections still open',
    );
    app.server.closeAllConnections();
  }, config.shutdownGraceMs);
  // No new firings; the scheduled imports running finish.
  await scheduler.stop();
  await closed;
  clearInterval(sweep);
  clearTimeout(grace);
  // Handlers outlive cut connections: an import records its outcome before the store closes.
  await inFlight.idle();
  await work.drain();
  await app.feeds.publisher.stop();
  // Lets go of DATA_DIR too.
  await store.close();
  log.info('stopped');
  return 0;
}

/** Where this machine reaches a server listening at `address`: loopback for "every address". */
export function reachableUrl(address: string | AddressInfo | null): string {
  if (address === null || typeof address === 'string') throw new Error(`serve listens on ${address}`);
  const host =
    address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}
