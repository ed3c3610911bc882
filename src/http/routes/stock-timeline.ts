import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../errors.js';
import { getCatalog } from '../../store/catalogs.js';
import { stockTimeline } from '../../store/stock-timeline.js';
import type { Store } from '../../store/types.js';
import { apiErrors, apiSecurity, idSkuParams, nullableInteger, nullableString } from '../schemas.js';

/** The stock at one moment: imported, pending ledger sum, effective. */
const stockState = {
  type: 'object',
  properties: {
    imported: { ...nullableInteger, description: 'the imported quantity; null when stock is not managed' },
    pending: { type: 'integer', description: 'the sum of the pending ledger entries' },
    effective: { ...nullableInteger, description: 'imported + pending, floored at 0' },
  },
  required: ['imported', 'pending', 'effective'],
} as const;

const stockPoint = {
  type: 'object',
  properties: {
    at: { type: 'string', format: 'date-time' },
    cause: {
      type: 'string',
      description:
        'what moved the stock: import, created, removed, order, cancellation, refund, adjustment ' +
        '(comma-separated when several happened at one instant)',
    },
    ...stockState.properties,
    moved: { type: 'integer', description: 'the sum of the ledger entries made at this instant' },
    run: { ...nullableInteger, description: 'the import run that changed the quantity or reflected entries' },
    reflected: { type: 'integer', description: 'ledger entries that run reflected' },
    channel: { ...nullableString, description: 'the channel of the order (first entry of the instant)' },
    order: { ...nullableString, description: 'the order id (first entry of the instant)' },
  },
  required: [...stockState.required, 'at', 'cause', 'moved', 'run', 'reflected', 'channel', 'order'],
} as const;

/** GET /api/catalogs/{id}/products/{sku}/stock-timeline: a product's stock over time. */
export const stockTimelineRoutes: FastifyPluginAsync<{ store: Store }> = async (app, { store }) => {
  app.get<{ Params: { id: string; sku: string }; Querystring: { since?: string; limit: number } }>(
    '/catalogs/:id/products/:sku/stock-timeline',
    {
      schema: {
        tags: ['stock'],
        security: apiSecurity,
        summary: "A product's stock over time",
        description:
          'One point per instant the stock changed (an import changed the quantity or reflected ledger ' +
          'entries; an order, cancellation, refund or stock push made an entry), oldest first, each with ' +
          'the imported quantity, the pending ledger sum and the effective stock right after it. The ' +
          'newest `limit` changes since `since`; `before` is the stock before the first point, `now` ' +
          'the stock now.',
        params: idSkuParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            since: { type: 'string', format: 'date-time', description: 'changes at or after this time' },
            limit: {
              type: 'integer',
              minimum: 1,
              maximum: 2000,
              default: 500,
              description: 'at most this many changes, the newest',
            },
          },
        },
        response: {
          200: {
            description: 'the points, oldest first',
            type: 'object',
            properties: {
              points: { type: 'array', items: stockPoint },
              before: { ...stockState, description: 'the stock just before the first point' },
              now: { ...stockState, description: 'the stock now' },
              truncated: { type: 'boolean', description: 'older changes exist than the first point' },
            },
            required: ['points', 'before', 'now', 'truncated'],
          },
          ...apiErrors('BAD_REQUEST', 'CATALOG_NOT_FOUND', 'PRODUCT_NOT_FOUND'),
        },
      },
    },
    async (request) => {
      const { id, sku } = request.params;
      if (!(await getCatalog(store, id))) throw new AppError('CATALOG_NOT_FOUND', `no catalog "${id}"`);
      const { since, limit } = request.query;
      const timeline = await stockTimeline(store, id, sku, {
        since: since === undefined ? undefined : new Date(since),
        limit,
      });
      if (!timeline) throw new AppError('PRODUCT_NOT_FOUND', `catalog "${id}" has no product "${sku}"`);
      return timeline;
    },
  );
};
