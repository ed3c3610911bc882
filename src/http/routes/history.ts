import type { FastifyPluginAsync } from 'fastify';
import { readHistory } from '../../store/history.js';
import type { Store } from '../../store/types.js';
import { apiErrors, apiSecurity, historyPageSchema } from '../schemas.js';
import { beforeSchema, limitSchema } from './paging.js';

interface HistoryQuery {
  catalog?: string;
  channel?: string;
  sku?: string;
  run?: number;
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
        tags: ['history'],
        security: apiSecurity,
        summary: 'The history',
        description:
          'The append-only log of imports, product changes, rule set and channel versions, publications, ' +
          'orders and stock movements, newest first. Filters combine; `before` pages back.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            catalog: {
              type: 'string',
              description: 'events of this catalog, and changes of the rule sets its channels use',
            },
            channel: {
              type: 'string',
              description: 'events of this channel, and changes of the rule sets it uses',
            },
            sku: { type: 'string', description: 'events of this product' },
            run: { type: 'integer', minimum: 1, description: 'events of this import run' },
            type: {
              type: 'string',
              pattern: '^[a-z]+(\\.[a-z_]+)?$',
              description: 'an exact type (`import.held`) or a family (`import`)',
            },
            since: { type: 'string', format: 'date-time', description: 'events at or after this time' },
            before: beforeSchema('events'),
            limit: limitSchema,
          },
        },
        response: {
          200: { ...historyPageSchema, description: 'a page of events, newest first' },
          ...apiErrors('BAD_REQUEST'),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await readHistory(store, {
        catalog: q.catalog,
        channel: q.channel,
        sku: q.sku,
        run: q.run,
        type: q.type,
        since: q.since ? new Date(q.since) : undefined,
        before: q.before,
        limit: q.limit,
      });
      return page;
    },
  );
};
