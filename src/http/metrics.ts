import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { type OperationEvent, watchOperations } from '../metrics.js';
import { isId } from '../model/ids.js';
import type { FeedStateCache } from '../publish/serve/feed-state-cache.js';
import type { Store } from '../store/types.js';
import { apiSecurity, keyOnlyErrors } from './schemas.js';

/** The route whose answers time an order report (SPEC §5). */
const ORDERS_ROUTE = '/api/channels/:id/orders';
/** The route of outgoing feeds. */
const FEED_ROUTE = '/feeds/:channel/:file';
/** The channel label of a fetch that names no channel of this service (it cannot be an id). */
export const UNKNOWN_CHANNEL = '(unknown)';

/**
 * The service's metrics, in a registry of their own per app: tests building several apps in
 * one process never mix their counts, and nothing goes into prom-client's global registry.
 */
export class AppMetrics {
  readonly registry = new Registry();
  readonly imports = new Counter({
    name: 'feedwright_imports_total',
    help: 'Import runs by catalog and outcome (applied, held, not_modified, failed).',
    labelNames: ['catalog', 'status'],
    registers: [this.registry],
  });
  readonly importRows = new Counter({
    name: 'feedwright_import_rows_total',
    help: 'Valid feed rows of applied import runs (created, updated or unchanged products).',
    labelNames: ['catalog'],
    registers: [this.registry],
  });
  readonly builds = new Histogram({
    name: 'feedwright_build_duration_seconds',
    help: 'Time to build and switch in a channel feed, for builds that succeeded.',
    labelNames: ['channel'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly buildFailures = new Counter({
    name: 'feedwright_build_failures_total',
    help: 'Feed builds that failed (the previous feed stays served).',
    labelNames: ['channel'],
    registers: [this.registry],
  });
  readonly feedFetches = new Counter({
    name: 'feedwright_feed_fetches_total',
    help: `Requests for /feeds/ by channel and HTTP status; "${UNKNOWN_CHANNEL}" when no channel of that name exists.`,
    labelNames: ['channel', 'status'],
    registers: [this.registry],
  });
  readonly orderLatency = new Histogram({
    name: 'feedwright_order_duration_seconds',
    help: 'Time to answer an accepted order report (POST /api/channels/{id}/orders, 200 or 201).',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly oversells = new Counter({
    name: 'feedwright_ledger_oversells_total',
    help: 'Order lines that took the effective stock of a sku below zero.',
    labelNames: ['catalog', 'channel'],
    registers: [this.registry],
  });
  readonly oversoldUnits = new Counter({
    name: 'feedwright_ledger_oversold_units_total',
    help: 'Units sold that the effective stock did not have.',
    labelNames: ['catalog', 'channel'],
    registers: [this.registry],
  });

  /** Counts one thing the pipeline did. */
  observe(event: OperationEvent): void {
    switch (event.type) {
      case 'import':
        this.imports.inc({ catalog: event.catalog, status: event.status });
        if (event.status === 'applied') this.importRows.inc({ catalog: event.catalog }, event.validRows);
        return;
      case 'build':
        if (event.ok) this.builds.observe({ channel: event.channel }, event.seconds);
        else this.buildFailures.inc({ channel: event.channel });
        return;
      case 'oversell':
        this.oversells.inc({ catalog: event.catalog, channel: event.channel });
        this.oversoldUnits.inc({ catalog: event.catalog, channel: event.channel }, event.units);
        return;
    }
  }

  /** The Prometheus text: these metrics and the process's (CPU, memory, event loop, GC). */
  async text(): Promise<string> {
    return Registry.merge([this.registry, processRegistry()]).metrics();
  }
}

let processMetrics: Registry | undefined;

/**
 * prom-client's default process metrics, collected once per process: they describe the
 * process, not an app, and each collection installs observers that are never removed.
 */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

/** What the metrics need from the app. */
export interface MetricsOptions {
  store: Store;
  /** Tells known channels from made-up names in feed URLs (bounded label values). */
  states: FeedStateCache;
  /** The API key check: /metrics needs the key, like /api. */
  authenticate: onRequestHookHandler;
}

/**
 * Counts the app's work into `metrics` and serves `GET /metrics` (Prometheus text, behind
 * the API key): what the pipeline reports for this app's store, feed fetches by channel and
 * status, and the response time of order reports. Call before routes are registered.
 */
export async function installMetrics(
  app: FastifyInstance,
  metrics: AppMetrics,
  opts: MetricsOptions,
): Promise<void> {
  processRegistry();
  const unwatch = watchOperations(opts.store, (event) => metrics.observe(event));
  app.addHook('onClose', async () => unwatch());

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === ORDERS_ROUTE && request.method === 'POST') {
      if (reply.statusCode < 300) metrics.orderLatency.observe(reply.elapsedTime / 1000);
      return;
    }
    if (route === FEED_ROUTE || request.url.startsWith('/feeds/')) {
      const channel = await fetchedChannel(request, reply, opts.states);
      metrics.feedFetches.inc({ channel, status: String(reply.statusCode) });
    }
  });

  await app.register(async (scope) => {
    scope.addHook('onRequest', opts.authenticate);
    scope.get(
      '/metrics',
      {
        schema: {
          tags: ['operations'],
          summary: 'Prometheus metrics',
          description:
            'Imports by outcome, rows imported, build durations, feed fetches by status, order latency, ledger oversells and process metrics, in the Prometheus text format. Needs the API key, like /api; never rate limited.',
          security: apiSecurity,
          response: {
            200: {
              description: 'the metrics (text format 0.0.4)',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
            ...keyOnlyErrors(),
          },
        },
      },
      async (_request, reply) => {
        reply.header('content-type', metrics.registry.contentType);
        return metrics.text();
      },
    );
  });
}

/**
 * The channel a feed request names, when it is a channel of this service: label values stay
 * as many as the channels, whatever names a scanner tries. The route has just read the
 * channel's state, so the cache answers without the store.
 */
async function fetchedChannel(
  request: FastifyRequest,
  reply: FastifyReply,
  states: FeedStateCache,
): Promise<string> {
  const channel = (request.params as { channel?: unknown } | undefined)?.channel;
  if (typeof channel !== 'string' || !isId(channel)) return UNKNOWN_CHANNEL;
  // A feed or a 304 was answered from the channel's publication.
  if (reply.statusCode === 200 || reply.statusCode === 304) return channel;
  const state = await states.get(channel).catch(() => undefined);
  return state ? channel : UNKNOWN_CHANNEL;
}
