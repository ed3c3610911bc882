import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { OPERATION_DEFAULTS } from '../config/config.js';
import { AppError } from '../errors.js';
import { Publisher } from '../publish/build/publisher.js';
import { FeedStateCache } from '../publish/serve/feed-state-cache.js';
import { FetchLog } from '../publish/serve/fetch-log.js';
import type { Store } from '../store/types.js';
import { keyMatches } from './api-key.js';
import { DASHBOARD_DIST } from './dashboard-build.js';
import { type ErrorBody, installErrorHandling, refuseNulCharacters } from './errors.js';
import { InFlight } from './in-flight.js';
import { AppMetrics, installMetrics } from './metrics.js';
import { registerOpenApi } from './openapi.js';
import { limitRequests } from './rate-limit.js';
import { catalogRoutes } from './routes/catalogs.js';
import { channelRoutes } from './routes/channels.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { definitionRoutes } from './routes/definitions.js';
import { feedRoutes } from './routes/feeds.js';
import { fetchStatsRoutes } from './routes/fetch-stats.js';
import { healthRoutes } from './routes/health.js';
import { historyRoutes } from './routes/history.js';
import { importRoutes } from './routes/imports.js';
import { ruleReferenceRoutes } from './routes/rule-reference.js';
import { ruleRoutes } from './routes/rules.js';
import { stockTimelineRoutes } from './routes/stock-timeline.js';

/** What the HTTP app needs from the process. */
export interface AppOptions {
  store: Store;
  apiKey: string;
  /**
   * `serve`'s credential for the command line on this machine (kept in DATA_DIR/store.lock,
   * readable by its user only): accepted like the key, from this machine only, and what it
   * does is recorded as done by `cli`.
   */
  localToken?: string;
  /** Largest import upload, in bytes; larger ones answer 413 and change nothing. */
  maxUploadBytes: number;
  /** Lets linked feeds reach private addresses (FEEDWRIGHT_ALLOW_PRIVATE_SOURCES). */
  allowPrivateSources?: boolean;
  /** The address marketplaces reach the service at, for feed URLs (FEEDWRIGHT_PUBLIC_URL). */
  publicUrl?: string;
  /** Called after a catalog definition changed through the API (the scheduler re-reads it). */
  onCatalogChanged?: () => void;
  /** Where built feeds live (DATA_DIR). */
  dataDir: string;
  /**
   * The definitions folder `serve` applied at start (`--dir`): a folder applied through the
   * API without a `base` resolves its relative file sources there. The working directory by default.
   */
  definitionsDir?: string;
  /** The built dashboard (`npm run build` writes dist/dashboard, the default). */
  dashboardDir?: string;
  /**
   * Keeps channel feeds up to date; `serve` starts it. Without one, the app makes its own,
   * not started: feeds are then built on demand and by `publisher.check()`.
   */
  publisher?: Publisher;
  /** The fetch log's writer (made here when not given; `serve` flushes it on shutdown). */
  fetchLog?: FetchLog;
  logger?: FastifyServerOptions['logger'];
  /** /api requests a client may make per minute (429 past it); unset or 0: no limit. */
  rateLimitPerMinute?: number;
  /**
   * How long a client may take to send a request's headers, and the whole request (uploads
   * included); slower ones are disconnected. 30 s and one hour by default.
   */
  timeouts?: { headersMs: number; requestMs: number };
}

/**
 * Builds the fastify app: /health, /metrics, the authenticated (and, when asked, rate
 * limited) /api routes, and error mapping.
 * Listening is the caller's business (`serve`), so tests use `app.inject()`.
 */
/** The longest path segment the router takes: a sku of MAX_SKU_LENGTH characters, percent-encoded. */
const MAX_PARAM_LENGTH = 1024;

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const timeouts = opts.timeouts ?? {
    headersMs: OPERATION_DEFAULTS.headersTimeoutMs,
    requestMs: OPERATION_DEFAULTS.requestTimeoutMs,
  };
  const app = Fastify({
    logger: opts.logger ?? false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
    },
    // Slow clients cannot hold sockets forever (slowloris): the headers must arrive within
    // headersMs, the whole request (a large upload) within requestMs.
    requestTimeout: timeouts.requestMs,
    http: {
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      // Node looks for late clients this often (30 s by default, which would double the wait).
      connectionsCheckingInterval: Math.min(5_000, Math.max(100, Math.floor(timeouts.headersMs / 4))),
    },
    bodyLimit: 1024 * 1024,
    // A sku is at most 100 characters, and percent-encoded up to 9 times as long.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    // What the router refuses before any route answers in the API's error shape too.
    frameworkErrors: (err, request, reply) => {
      const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      const body: ErrorBody = {
        error: tooLong
          ? { code: 'URI_TOO_LONG', message: `a path segment is longer than ${MAX_PARAM_LENGTH} characters` }
          : {
              code: 'BAD_REQUEST',
              message: 'the URL is malformed (a percent sign not followed by two hex digits?)',
            },
      };
      request.log.info({ code: body.error.code }, 'request refused');
      // The router's reply is typed for any route; this answer is the plain error body.
      return (reply as FastifyReply).status(tooLong ? 414 : 400).send(body);
    },
  });
  installErrorHandling(app);
  refuseNulCharacters(app);
  // Before any route: a shutdown waits for the handlers under way (see `serve`).
  const inFlight = new InFlight();
  inFlight.install(app);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  // Before any route (the OpenAPI document at /docs lists the routes added after it), and
  // after the hooks above, which /docs gets too.
  await registerOpenApi(app);
  await app.register(healthRoutes, { store: opts.store });
  const states = new FeedStateCache(opts.store);
  const fetchLog =
    opts.fetchLog ??
    new FetchLog(opts.store, { onError: (err) => app.log.error({ err }, 'fetch log write failed') });
  const publisher =
    opts.publisher ??
    new Publisher({
      store: opts.store,
      dataDir: opts.dataDir,
      onPublished: (p) => {
        states.invalidate(p.channel);
        app.log.info(
          { channel: p.channel, version: p.version, items: p.items, ms: p.buildMs },
          'feed published',
        );
      },
      onFailed: (channel, err) => app.log.error({ err, channel }, 'feed build failed'),
    });
  const metrics = new AppMetrics();
  /** Who the request's credential is: `api` (the key), `cli` (serve's local token), or nobody. */
  const credential = (request: FastifyRequest): 'api' | 'cli' | undefined => {
    const m = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
    const presented = m?.[1]?.trim();
    if (presented === undefined) return undefined;
    if (keyMatches(presented, opts.apiKey)) return 'api';
    if (opts.localToken && fromThisMachine(request) && keyMatches(presented, opts.localToken)) return 'cli';
    return undefined;
  };
  const hasKey = (request: FastifyRequest) => credential(request) !== undefined;
  app.decorateRequest('actor', 'api');
  const requireApiKey = async (request: FastifyRequest) => {
    const who = credential(request);
    if (who === undefined)
      throw new AppError('UNAUTHORIZED', 'send Authorization: Bearer <FEEDWRIGHT_API_KEY>');
    request.actor = who;
  };
  await installMetrics(app, metrics, { store: opts.store, states, authenticate: requireApiKey });
  // Any change through the API (an import, a rule set, a channel or catalog definition) may
  // make feeds stale: ask the publisher to check (debounced; the store decides what is stale).
  app.addHook('onResponse', async (request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD' && reply.statusCode < 400) publisher.poke();
  });
  await app.register(feedRoutes, { dataDir: opts.dataDir, states, fetchLog });
  await app.register(dashboardRoutes, { dir: opts.dashboardDir ?? DASHBOARD_DIST });
  app.addHook('onClose', async () => {
    await fetchLog.flush();
  });
  await app.register(
    async (api) => {
      // The limit first: requests with a wrong key count too.
      await limitRequests(api, { perMinute: opts.rateLimitPerMinute ?? 0, hasKey });
      api.addHook('onRequest', requireApiKey);
      await api.register(catalogRoutes, { store: opts.store, onCatalogChanged: opts.onCatalogChanged });
      await api.register(definitionRoutes, {
        store: opts.store,
        states,
        onCatalogChanged: opts.onCatalogChanged,
        definitionsDir: opts.definitionsDir ?? process.cwd(),
      });
      await api.register(importRoutes, {
        store: opts.store,
        maxUploadBytes: opts.maxUploadBytes,
        allowPrivateSources: opts.allowPrivateSources ?? false,
      });
      await api.register(historyRoutes, { store: opts.store });
      await api.register(ruleRoutes, { store: opts.store });
      await api.register(ruleReferenceRoutes, { store: opts.store });
      await api.register(channelRoutes, {
        store: opts.store,
        publisher,
        states,
        fetchLog,
        publicUrl: opts.publicUrl,
      });
      await api.register(fetchStatsRoutes, { store: opts.store, fetchLog });
      await api.register(stockTimelineRoutes, { store: opts.store });
    },
    { prefix: '/api' },
  );
  app.decorate('feeds', { publisher, states, fetchLog });
  app.decorate('operations', { metrics, inFlight });
  return app;
}

/**
 * Whether a request comes from this machine: over loopback, or to the machine's own address
 * from that same address (serve listening on one interface only).
 */
function fromThisMachine(request: FastifyRequest): boolean {
  const remote = request.socket.remoteAddress;
  if (remote === undefined) return false;
  if (remote === '::1' || remote.startsWith('127.') || remote.startsWith('::ffff:127.')) return true;
  return remote === request.socket.localAddress;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who makes the request, as history records it: `api` (the API key) or `cli` (serve's local token). */
    actor: string;
  }
  interface FastifyInstance {
    /** The app's feed machinery (publisher, serving state, fetch log), for `serve` and tests. */
    feeds: AppFeeds;
    /** The app's metrics and its count of handlers under way, for `serve` and tests. */
    operations: AppOperations;
  }
}

/** The app's metrics and its count of handlers under way. */
export interface AppOperations {
  metrics: AppMetrics;
  inFlight: InFlight;
}

/** The app's feed machinery, for `serve` and tests. */
export interface AppFeeds {
  publisher: Publisher;
  states: FeedStateCache;
  fetchLog: FetchLog;
}
