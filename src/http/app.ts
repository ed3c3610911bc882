import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { AppError } from '../errors.js';
import type { Store } from '../store/types.js';
import { keyMatches } from './api-key.js';
import { installErrorHandling } from './errors.js';
import { catalogRoutes } from './routes/catalogs.js';
import { healthRoutes } from './routes/health.js';
import { historyRoutes } from './routes/history.js';
import { importRoutes } from './routes/imports.js';
import { ruleRoutes } from './routes/rules.js';

/** What the HTTP app needs from the process. */
export interface AppOptions {
  store: Store;
  apiKey: string;
  /** Largest import upload, in bytes; larger ones answer 413 and change nothing. */
  maxUploadBytes: number;
  /** Lets linked feeds reach private addresses (FEEDWRIGHT_ALLOW_PRIVATE_SOURCES). */
  allowPrivateSources?: boolean;
  /** Called after a catalog definition changed through the API (the scheduler re-reads it). */
  onCatalogChanged?: () => void;
  logger?: FastifyServerOptions['logger'];
}

/**
 * Builds the fastify app: /health, the authenticated /api routes, and error mapping.
 * Listening is the caller's business (`serve`), so tests use `app.inject()`.
 */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
    },
    // A request must arrive whole within an hour (large uploads); headers within
    // http's headersTimeout (set by `serve`), so slow clients cannot hold sockets forever.
    requestTimeout: 60 * 60_000,
    bodyLimit: 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
  });
  installErrorHandling(app);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(healthRoutes, { store: opts.store });
  await app.register(
    async (api) => {
      api.addHook('onRequest', async (request) => {
        const header = request.headers.authorization ?? '';
        const m = /^Bearer\s+(.+)$/i.exec(header);
        if (!m?.[1] || !keyMatches(m[1].trim(), opts.apiKey)) {
          throw new AppError('UNAUTHORIZED', 'send Authorization: Bearer <FEEDWRIGHT_API_KEY>');
        }
      });
      await api.register(catalogRoutes, { store: opts.store, onCatalogChanged: opts.onCatalogChanged });
      await api.register(importRoutes, {
        store: opts.store,
        maxUploadBytes: opts.maxUploadBytes,
        allowPrivateSources: opts.allowPrivateSources ?? false,
      });
      await api.register(historyRoutes, { store: opts.store });
      await api.register(ruleRoutes, { store: opts.store });
    },
    { prefix: '/api' },
  );
  return app;
}
