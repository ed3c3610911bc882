import type { FastifyPluginAsync } from 'fastify';
import { readHistory } from '../../store/history.js';
import type { Store } from '../../store/types.js';
import { limitSchema } from './paging.js';

interface HistoryQuery {
  catalog?: string;
  channel?: string;
  sku?: string;
  type?: string;
  since?: string;
  before?: number;
  limit: number;
}

/** GET /api/history: the unified log, newest first, filtered and paged by cursor. */
export const historyRoutes: FastifyPluginAsync<{ store: Store }> = async (app, { store }) => {
  app.get<{ Querystring: HistoryQuery }>(
    '/history',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            catalog: { type: 'string' },
            channel: { type: 'string' },
            sku: { type: 'string' },
            type: { type: 'string', pattern: '^[a-z]+(\\.[a-z_]+)?$' },
            since: { type: 'string', format: 'date-time' },
            before: { type: 'integer', minimum: 1 },
            limit: limitSchema,
          },
        },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await readHistory(store, {
        catalog: q.catalog,
        channel: q.channel,
        sku: q.sku,
        type: q.type,
        since: q.since ? new Date(q.since) : undefined,
        before: q.before,
        limit: q.limit,
      });
      return page;
    },
  );
};
