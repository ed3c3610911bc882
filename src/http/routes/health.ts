import type { FastifyPluginAsync } from 'fastify';
import { pingStore } from '../../store/open.js';
import type { Store } from '../../store/types.js';

/** GET /health: liveness and store reachability; needs no key. */
export const healthRoutes: FastifyPluginAsync<{ store: Store }> = async (app, { store }) => {
  app.get(
    '/health',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            properties: { status: { const: 'ok' }, store: { type: 'string' } },
            required: ['status', 'store'],
          },
          503: {
            type: 'object',
            properties: {
              status: { const: 'unavailable' },
              store: { type: 'string' },
              message: { type: 'string' },
            },
          },
        },
      },
    },
    async (request, reply) => {
      try {
        await pingStore(store);
        return { status: 'ok' as const, store: store.kind };
      } catch (err) {
        request.log.error({ err }, 'store unreachable');
        return reply
          .status(503)
          .send({ status: 'unavailable', store: store.kind, message: 'the store cannot be reached' });
      }
    },
  );
};
