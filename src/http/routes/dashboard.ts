import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../errors.js';
import { errorSchema } from '../errors.js';

// The page talks only to its own origin; product images come from the merchant's shop.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  'img-src * data:',
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>feedwright</title>
<p>The dashboard is not built. Run <code>npm run build</code> (<code>npm start</code> does it), then start
<code>feedwright serve</code> again.
The API answers at <a href="/docs">/docs</a>.</p>`;

/**
 * The dashboard: `/` answers its page (revalidated on every load), `/assets/*` its
 * content-hashed bundle (cached for a year). The page signs in with the API key and
 * calls /api like any client; serving it needs no key.
 */
export const dashboardRoutes: FastifyPluginAsync<{ dir: string }> = async (app, { dir }) => {
  const indexFile = path.join(dir, 'index.html');
  const assets = path.join(dir, 'assets');
  // The assets are served from what was built when the server started: a page built later
  // is not served without them (it would load nothing) until the server starts again.
  const built = existsSync(assets);
  app.get(
    '/',
    {
      schema: {
        tags: ['dashboard'],
        summary: 'The dashboard',
        description: 'The single-page dashboard; it signs in with the API key.',
        response: {
          200: { description: 'the page', content: { 'text/html': { schema: { type: 'string' } } } },
          503: {
            description: 'the dashboard is not built (npm run build)',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (_request, reply) => {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
      if (!built || !existsSync(indexFile)) {
        return reply.status(503).type('text/html; charset=utf-8').send(NOT_BUILT);
      }
      reply.header('cache-control', 'no-cache');
      return reply.type('text/html; charset=utf-8').send(await readFile(indexFile));
    },
  );
  if (!built) {
    // Not built: the page says so; its assets are simply not there (no warning at each start).
    app.get(
      '/assets/*',
      {
        schema: {
          tags: ['dashboard'],
          summary: "The dashboard's assets",
          description: 'Not built yet: every asset answers 404 (run npm run build).',
          response: {
            404: { description: 'not built', content: { 'application/json': { schema: errorSchema } } },
          },
        },
      },
      async () => {
        throw new AppError('NOT_FOUND', 'the dashboard is not built (npm run build)');
      },
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: assets,
    prefix: '/assets/',
    decorateReply: false,
    wildcard: true,
    immutable: true,
    maxAge: '365d',
    schemaHide: false,
  });
};
