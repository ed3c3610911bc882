import path from 'node:path';
import { applyDefinitions, DefinitionsInvalidError } from '../apply/apply-definitions.js';
import { recoverInterruptedRuns } from '../catalog/import-run.js';
import { ensureApiKey } from '../http/api-key.js';
import { buildApp } from '../http/app.js';
import { BackgroundWork, scheduleCatalogImports } from '../schedule/catalog-tasks.js';
import { Scheduler } from '../schedule/scheduler.js';
import { parseCommandArgs } from './args.js';
import { openContext } from './context.js';

/**
 * `feedwright serve [--dir DIR]`: applies DIR's definitions, starts the scheduler and
 * the HTTP API on PORT, and shuts down gracefully on SIGTERM or SIGINT.
 */
export async function serveCommand(args: string[], _json: boolean): Promise<number> {
  const { values } = parseCommandArgs(args, { dir: { type: 'string' } }, false);
  const ctx = await openContext(false);
  const { config, store } = ctx;
  const { key, generated } = ensureApiKey(config.apiKey, config.dataDir);
  // The scheduler is started after the app is built: a catalog PUT reaches it late-bound.
  let syncSchedules: (() => Promise<unknown>) | undefined;
  const app = await buildApp({
    store,
    apiKey: key,
    maxUploadBytes: config.maxUploadBytes,
    allowPrivateSources: config.allowPrivateSources,
    dataDir: config.dataDir,
    logger: { level: config.logLevel },
    onCatalogChanged: () => {
      void syncSchedules?.().catch((err: unknown) => app.log.error({ err }, 'schedule sync failed'));
    },
  });
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

  const dir = path.resolve(values.dir ?? '.');
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
  const schedules = await scheduleCatalogImports(
    store,
    scheduler,
    work,
    config.allowPrivateSources,
    (msg, fields) => log.info(fields, msg),
    { onApplied: () => app.feeds.publisher.poke() },
  );
  syncSchedules = () => schedules.sync();
  // Feeds: built at once where stale (never built, or made from older data), then kept up to date.
  app.feeds.publisher.start();

  const address = await app.listen({ port: config.port, host: config.host });
  // Headers must arrive within 30 s: slowloris clients are dropped.
  app.server.headersTimeout = 30_000;
  process.stdout.write(`feedwright listening on ${address} (store: ${store.kind})\n`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      void (async () => {
        await scheduler.stop();
        await app.close();
        await work.drain();
        await app.feeds.publisher.stop();
        await store.close();
        resolve();
      })();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
