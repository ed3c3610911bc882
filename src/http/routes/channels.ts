import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ID_PATTERN } from '../../catalog/definition.js';
import { explainInChannel, previewInChannel } from '../../channels/explain.js';
import { feedPath, putChannel, requireChannel, restoreChannel, rotateToken } from '../../channels/service.js';
import type { FeedStateCache } from '../../publish/feed-state-cache.js';
import type { FetchLog } from '../../publish/fetch-log.js';
import type { Publisher } from '../../publish/publisher.js';
import { reportOrder } from '../../stock/orders.js';
import { listChannels, listChannelVersions, type StoredChannel } from '../../store/channels.js';
import {
  latestPublication,
  latestPublications,
  listFetches,
  listPublications,
} from '../../store/publications.js';
import type { Store } from '../../store/types.js';
import { limitSchema } from './paging.js';

/** What the channel routes need. */
export interface ChannelRouteOptions {
  store: Store;
  publisher: Publisher;
  states: FeedStateCache;
  fetchLog: FetchLog;
}

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', pattern: ID_PATTERN } },
  required: ['id'],
} as const;

/** The absolute feed URL as this request reached the server. */
function feedUrl(request: FastifyRequest, channel: StoredChannel): string {
  return `${request.protocol}://${request.host}${feedPath(channel)}`;
}

/** A channel as the API shows it: the definition in force, its version and feed URL. */
function publicChannel(request: FastifyRequest, c: StoredChannel) {
  return {
    id: c.id,
    catalog: c.catalog,
    version: c.version,
    enabled: c.definition.enabled !== false,
    definition: c.definition,
    author: c.author,
    feedUrl: feedUrl(request, c),
    tokenRotatedAt: c.tokenRotatedAt,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
}

/** Channels: definitions, feed URLs, publishing, publications and the fetch log (SPEC §5). */
export const channelRoutes: FastifyPluginAsync<ChannelRouteOptions> = async (app, opts) => {
  const { store, publisher, states } = opts;

  app.get('/channels', async (request) => {
    const channels = await listChannels(store);
    const latest = await latestPublications(store);
    return {
      channels: channels.map((c) => {
        const last = latest.get(c.id);
        return { ...publicChannel(request, c), lastPublication: last ? { ...last, diff: undefined } : null };
      }),
    };
  });

  app.get<{ Params: { id: string } }>('/channels/:id', { schema: { params: idParams } }, async (request) => {
    const channel = await requireChannel(store, request.params.id);
    const last = await latestPublication(store, channel.id);
    return { ...publicChannel(request, channel), lastPublication: last ?? null };
  });

  app.put<{ Params: { id: string } }>(
    '/channels/:id',
    { schema: { params: idParams } },
    async (request, reply) => {
      const result = await store.transaction((tx) =>
        putChannel(tx, request.body, 'api', { expectedId: request.params.id }),
      );
      states.invalidate(result.channel.id);
      if (result.outcome !== 'unchanged') publisher.poke();
      return reply.status(result.outcome === 'created' ? 201 : 200).send({
        outcome: result.outcome,
        channel: publicChannel(request, result.channel),
        feedUrl: feedUrl(request, result.channel),
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/channels/:id/versions',
    { schema: { params: idParams } },
    async (request) => {
      await requireChannel(store, request.params.id);
      return { versions: await listChannelVersions(store, request.params.id) };
    },
  );

  app.post<{ Params: { id: string }; Body: { version: number } }>(
    '/channels/:id/restore',
    {
      schema: {
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['version'],
          properties: { version: { type: 'integer', minimum: 1 } },
        },
      },
    },
    async (request) => {
      const result = await restoreChannel(store, request.params.id, request.body.version, 'api');
      states.invalidate(result.channel.id);
      return { outcome: result.outcome, channel: publicChannel(request, result.channel) };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/channels/:id/token',
    { schema: { params: idParams } },
    async (request) => {
      const channel = await store.transaction((tx) => rotateToken(tx, request.params.id, 'api'));
      states.invalidate(channel.id);
      return { feedUrl: feedUrl(request, channel), tokenRotatedAt: channel.tokenRotatedAt };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/channels/:id/publish',
    { schema: { params: idParams } },
    async (request, reply) => {
      const publication = await publisher.publish(request.params.id, 'api');
      return reply.status(201).send(publication);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { before?: number; limit: number } }>(
    '/channels/:id/publications',
    {
      schema: {
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { before: { type: 'integer', minimum: 1 }, limit: limitSchema },
        },
      },
    },
    async (request) => {
      await requireChannel(store, request.params.id);
      return listPublications(store, request.params.id, request.query);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { before?: number; since?: string; limit: number } }>(
    '/channels/:id/fetches',
    {
      schema: {
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            before: { type: 'integer', minimum: 1 },
            since: { type: 'string', format: 'date-time' },
            limit: limitSchema,
          },
        },
      },
    },
    async (request) => {
      await requireChannel(store, request.params.id);
      // What this process served a moment ago is in the answer, not a second later.
      await opts.fetchLog.flush();
      const { before, since, limit } = request.query;
      return listFetches(store, request.params.id, {
        before,
        since: since === undefined ? undefined : new Date(since),
        limit,
      });
    },
  );

  app.get<{ Params: { id: string; sku: string }; Querystring: { at?: string } }>(
    '/channels/:id/explain/:sku',
    {
      schema: {
        params: {
          type: 'object',
          properties: { id: { type: 'string', pattern: ID_PATTERN }, sku: { type: 'string', minLength: 1 } },
          required: ['id', 'sku'],
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { at: { type: 'string', format: 'date-time' } },
        },
      },
    },
    async (request) =>
      explainInChannel(store, {
        channelId: request.params.id,
        sku: request.params.sku,
        at: request.query.at === undefined ? new Date() : new Date(request.query.at),
      }),
  );

  app.post<{ Params: { id: string }; Body: { ruleSet?: unknown; at?: string; samples?: number } }>(
    '/channels/:id/preview',
    {
      schema: {
        params: idParams,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            ruleSet: { type: 'object' },
            at: { type: 'string', format: 'date-time' },
            samples: { type: 'integer', minimum: 0, maximum: 50 },
          },
        },
      },
    },
    async (request) => {
      const b = request.body ?? {};
      return previewInChannel(store, {
        channelId: request.params.id,
        draft: b.ruleSet,
        at: b.at === undefined ? new Date() : new Date(b.at),
        samples: b.samples,
      });
    },
  );

  app.post<{ Params: { id: string } }>(
    '/channels/:id/orders',
    { schema: { params: idParams } },
    async (request, reply) => {
      const result = await reportOrder(store, request.params.id, request.body, 'api');
      // A report seen before changes nothing: 200; a new one 201.
      return reply.status(result.duplicate ? 200 : 201).send(result);
    },
  );
};
