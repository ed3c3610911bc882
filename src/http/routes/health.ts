import type { FastifyPluginAsync } from 'fastify';
import { pingStore } from '../../store/open.js';
import type { Store } from '../../store/types.js';

/** GET /health: liveness and store reachability; needs no key. */
export const healthRoutes: FastifyPluginAsync<{ store: Store }> = async (app, { store }) => {
  app.get(
    '/health',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness and store reachability',
        description: 'Needs no key. Answers 503 when the store cannot be reached.',
        response: {
          200: {
            description: 'the process is up and the store answers',
            type: 'object',
            properties: { status: { const: 'ok' }, store: { type: 'string' } },
            required: ['status', 'store'],
          },
          503: {
            description: 'the store cannot be reached',
            type: 'object',
            properties: {
              status: { const: 'unavailable' },
              store: { type: 'string' },
              message: { type: 'string' },
            },
            required: ['status', 'store', 'message'],
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
