import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { explainInChannel, previewInChannel } from '../../channels/explain.js';
import { feedPath, putChannel, requireChannel, restoreChannel, rotateToken } from '../../channels/service.js';
import type { Publisher } from '../../publish/build/publisher.js';
import type { FeedStateCache } from '../../publish/serve/feed-state-cache.js';
import type { FetchLog } from '../../publish/serve/fetch-log.js';
import { reportOrder } from '../../stock/orders.js';
import { listChannels, listChannelVersions, type StoredChannel } from '../../store/channels.js';
import { listFetches } from '../../store/fetches.js';
import { latestPublication, latestPublications, listPublications } from '../../store/publications.js';
import type { Store } from '../../store/types.js';
import {
  apiErrors,
  apiSecurity,
  channelExplanationSchema,
  channelPreviewSchema,
  channelSchema,
  channelVersionSchema,
  channelWithPublicationSchema,
  documentedBody,
  documentRef,
  fetchPageSchema,
  idParams,
  idSkuParams,
  orderResultSchema,
  publicationPageSchema,
  publicationSchema,
  restoreBody,
} from '../schemas.js';
import { beforeSchema, limitSchema } from './paging.js';

/** What the channel routes need. */
export interface ChannelRouteOptions {
  store: Store;
  publisher: Publisher;
  states: FeedStateCache;
  fetchLog: FetchLog;
  /** The address marketplaces reach the service at; the request's own when unset. */
  publicUrl?: string | undefined;
}

const channels = { tags: ['channels'], security: apiSecurity } as const;

/** `{ outcome, channel }`: what a restore did. */
const restoreAnswer = {
  type: 'object',
  properties: {
    outcome: { type: 'string', enum: ['created', 'updated', 'unchanged'] },
    channel: channelSchema,
  },
  required: ['outcome', 'channel'],
} as const;

/** `{ outcome, channel, feedUrl }`: what PUT did. */
const saveAnswer = {
  ...restoreAnswer,
  properties: {
    ...restoreAnswer.properties,
    feedUrl: { type: 'string', description: 'the secret feed URL' },
  },
  required: [...restoreAnswer.required, 'feedUrl'],
} as const;

const atSchema = {
  type: 'string',
  format: 'date-time',
  description: 'the instant the rules run at (rule windows); now by default',
} as const;

/** The absolute feed URL under `base`, the address marketplaces reach the service at. */
function feedUrl(base: string, channel: StoredChannel): string {
  return `${base}${feedPath(channel)}`;
}

/** A channel as the API shows it: the definition in force, its version and feed URL. */
function publicChannel(base: string, c: StoredChannel) {
  return {
    id: c.id,
    catalog: c.catalog,
    version: c.version,
    enabled: c.definition.enabled !== false,
    definition: c.definition,
    author: c.author,
    feedUrl: feedUrl(base, c),
    tokenRotatedAt: c.tokenRotatedAt,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
}

/** Channels: definitions, feed URLs, publishing, publications and the fetch log (SPEC §5). */
export const channelRoutes: FastifyPluginAsync<ChannelRouteOptions> = async (app, opts) => {
  // The public address when one is set, else the address the request came to.
  const base = (request: FastifyRequest) => opts.publicUrl ?? `${request.protocol}://${request.host}`;
  const { store, publisher, states } = opts;

  app.get(
    '/channels',
    {
      schema: {
        ...channels,
        summary: 'Channels',
        description:
          'Every channel, by id: its definition in force, feed URL and last publication (without its sku ' +
          'lists).',
        response: {
          200: {
            description: 'the channels',
            type: 'object',
            properties: { channels: { type: 'array', items: channelWithPublicationSchema } },
            required: ['channels'],
          },
          ...apiErrors(),
        },
      },
    },
    async (request) => {
      const channels = await listChannels(store);
      const latest = await latestPublications(store);
      return {
        channels: channels.map((c) => {
          const last = latest.get(c.id);
          return {
            ...publicChannel(base(request), c),
            lastPublication: last ? { ...last, diff: undefined } : null,
          };
        }),
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/channels/:id',
    {
      schema: {
        ...channels,
        summary: 'One channel',
        description: 'The definition in force, its version, feed URL and last publication.',
        params: idParams,
        response: {
          200: { ...channelWithPublicationSchema, description: 'the channel' },
          ...apiErrors('BAD_REQUEST', 'CHANNEL_NOT_FOUND'),
        },
      },
    },
    async (request) => {
      const channel = await requireChannel(store, request.params.id);
      const last = await latestPublication(store, channel.id);
      return { ...publicChannel(base(request), channel), lastPublication: last ?? null };
    },
  );

  app.put<{ Params: { id: string } }>(
    '/channels/:id',
    {
      schema: {
        ...channels,
        summary: 'Create or change a channel',
        description:
          'Validates the definition (422 `CHANNEL_INVALID` names the JSON path of every problem, and a ' +
          'catalog or rule set that does not exist) and saves it as a new version; answers the feed URL. ' +
          'The same definition again changes nothing.',
        params: idParams,
        response: {
          200: { ...saveAnswer, description: 'updated, or unchanged' },
          201: { ...saveAnswer, description: 'created' },
          ...apiErrors('BAD_REQUEST', 'CHANNEL_INVALID'),
        },
      },
      config: documentedBody({
        ...documentRef('ChannelDefinition'),
        description: 'the channel definition; its id must be the one in the URL',
      }),
    },
    async (request, reply) => {
      const result = await store.transaction((tx) =>
        putChannel(tx, request.body, request.actor, { expectedId: request.params.id }),
      );
      states.invalidate(result.channel.id);
      if (result.outcome !== 'unchanged') publisher.poke();
      return reply.status(result.outcome === 'created' ? 201 : 200).send({
        outcome: result.outcome,
        channel: publicChannel(base(request), result.channel),
        feedUrl: feedUrl(base(request), result.channel),
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/channels/:id/versions',
    {
      schema: {
        ...channels,
        summary: 'Versions of a channel',
        description: 'Every accepted version of the definition, newest first.',
        params: idParams,
        response: {
          200: {
            description: 'the versions, newest first',
            type: 'object',
            properties: { versions: { type: 'array', items: channelVersionSchema } },
            required: ['versions'],
          },
          ...apiErrors('BAD_REQUEST', 'CHANNEL_NOT_FOUND'),
        },
      },
    },
    async (request) => {
      await requireChannel(store, request.params.id);
      return { versions: await listChannelVersions(store, request.params.id) };
    },
  );

  app.post<{ Params: { id: string }; Body: { version: number } }>(
    '/channels/:id/restore',
    {
      schema: {
        ...channels,
        summary: 'Bring an old version of a channel back',
        description: 'Saves an older definition as a new version; the feed URL stays the same.',
        params: idParams,
        body: restoreBody,
        response: {
          200: { ...restoreAnswer, description: 'the new version' },
          ...apiErrors('BAD_REQUEST', 'CHANNEL_NOT_FOUND', 'CHANNEL_INVALID'),
        },
      },
    },
    async (request) => {
      const result = await restoreChannel(store, request.params.id, request.body.version, request.actor);
      states.invalidate(result.channel.id);
      return { outcome: result.outcome, channel: publicChannel(base(request), result.channel) };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/channels/:id/token',
    {
      schema: {
        ...channels,
        summary: 'Rotate the feed token',
        description: 'A new secret feed URL; the old one answers 404 from now on.',
        params: idParams,
        response: {
          200: {
            description: 'the new feed URL',
            type: 'object',
            properties: {
              feedUrl: { type: 'string' },
              tokenRotatedAt: { type: 'string', format: 'date-time' },
            },
            required: ['feedUrl', 'tokenRotatedAt'],
          },
          ...apiErrors('BAD_REQUEST', 'CHANNEL_NOT_FOUND'),
        },
      },
    },
    async (request) => {
      const channel = await store.transaction((tx) => rotateToken(tx, request.params.id, request.actor));
      states.invalidate(channel.id);
      return { feedUrl: feedUrl(base(request), channel), tokenRotatedAt: channel.tokenRotatedAt };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/channels/:id/publish',
    {
      schema: {
        ...channels,
        summary: 'Publish now',
        description:
          "Builds the channel's feed now and answers when the new publication is served. Requests made " +
          'together join the same build.',
        params: idParams,
        response: {
          201: { ...publicationSchema, description: 'the new publication' },
          ...apiErrors(
            'BAD_REQUEST',
            'CHANNEL_NOT_FOUND',
            'CHANNEL_DISABLED',
            'PUBLISH_BUSY',
            'PUBLISH_FAILED',
          ),
        },
      },
    },
    async (request, reply) => {
      const publication = await publisher.publish(request.params.id, request.actor);
      return reply.status(201).send(publication);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { before?: number; limit: number } }>(
    '/channels/:id/publications',
    {
      schema: {
        ...channels,
        summary: 'Publications of a channel',
        description: 'Every built version of the feed, newest first, with its counts, diff and exclusions.',
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            before: beforeSchema('versions'),
            limit: limitSchema,
          },
        },
        response: {
          200: { ...publicationPageSchema, description: 'a page of publications, newest first' },
          ...apiErrors('BAD_REQUEST', 'CHANNEL_NOT_FOUND'),
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
        ...channels,
        summary: 'The fetch log of a channel',
        description: 'Every request for the feed URL, newest first: status, bytes, version, user agent.',
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            before: beforeSchema('fetches'),
            since: { type: 'string', format: 'date-time', description: 'fetches at or after this time' },
            limit: limitSchema,
          },
        },
        response: {
          200: { ...fetchPageSchema, description: 'a page of fetches, newest first' },
          ...apiErrors('BAD_REQUEST', 'CHANNEL_NOT_FOUND'),
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
        ...channels,
        summary: 'Explain a product in a channel',
        description:
          "The trace of one product through the channel's rule sets in order, rule by rule, and the row " +
          "the channel's feed holds for it (null when it is left out).",
        params: idSkuParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { at: atSchema },
        },
        response: {
          200: { ...channelExplanationSchema, description: 'the trace and the feed row' },
          ...apiErrors('BAD_REQUEST', 'CHANNEL_NOT_FOUND', 'PRODUCT_NOT_FOUND', 'RULE_SET_NOT_FOUND'),
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
        ...channels,
        summary: 'Preview the rules of a channel',
        description:
          "Runs the channel's rules over its catalog, with a draft rule set (not saved) in place of the " +
          'stored one of the same id (or after them): per-rule counts, samples and their feed rows. ' +
          'Changes nothing.',
        params: idParams,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            ruleSet: { type: 'object', description: 'a draft rule set (see RuleSet), not saved' },
            at: atSchema,
            samples: { type: 'integer', minimum: 0, maximum: 50, description: 'samples per rule (3)' },
          },
        },
        response: {
          200: { ...channelPreviewSchema, description: 'the preview' },
          ...apiErrors('BAD_REQUEST', 'CHANNEL_NOT_FOUND', 'RULE_SET_NOT_FOUND', 'RULE_INVALID'),
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
    {
      schema: {
        tags: ['orders'],
        security: apiSecurity,
        summary: 'Report an order',
        description:
          'A paid (or unpaid) order takes its units from the stock ledger, a cancelled or refunded one gives ' +
          'them back, once. The same report again moves nothing (200).',
        params: idParams,
        response: {
          200: { ...orderResultSchema, description: 'a report seen before: nothing moved' },
          201: { ...orderResultSchema, description: 'a new report, applied' },
          ...apiErrors('BAD_REQUEST', 'ORDER_INVALID', 'CHANNEL_NOT_FOUND'),
        },
      },
      config: documentedBody({ ...documentRef('OrderReport'), description: 'the order' }),
    },
    async (request, reply) => {
      const result = await reportOrder(store, request.params.id, request.body, request.actor);
      // A report seen before changes nothing: 200; a new one 201.
      return reply.status(result.duplicate ? 200 : 201).send(result);
    },
  );
};
