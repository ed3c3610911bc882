import type { FastifyPluginAsync } from 'fastify';
import { requireChannel } from '../../channels/service.js';
import { AppError } from '../../errors.js';
import { ID_PATTERN } from '../../model/ids.js';
import type { FetchLog } from '../../publish/serve/fetch-log.js';
import { fetchStats, latestFetches, MAX_FETCHERS } from '../../store/fetches.js';
import type { Store } from '../../store/types.js';
import { isTimeZone } from '../../time/zone.js';
import { apiErrors, apiSecurity, nullableDateTime, nullableString } from '../schemas.js';

/** What the fetch statistics routes need. */
export interface FetchStatsRouteOptions {
  store: Store;
  /** Flushed before reading, so a fetch served a moment ago is counted. */
  fetchLog?: FetchLog;
}

/** The longest period one answer covers, per bucket size: 31 days of hours, 400 days of days. */
export const MAX_PERIOD_MS = { hour: 31 * 86_400_000, day: 400 * 86_400_000 } as const;
/** The period when `since` is left out: the last 48 hours, or the last 30 days. */
export const DEFAULT_PERIOD_MS = { hour: 48 * 3_600_000, day: 30 * 86_400_000 } as const;

// PostgreSQL's invalid_parameter_value: what it answers to a time zone it does not know.
const PG_INVALID_PARAMETER = '22023';

const fetchSummarySchema = {
  type: ['object', 'null'],
  properties: {
    at: { type: 'string', format: 'date-time' },
    method: { type: 'string', enum: ['GET', 'HEAD'], description: 'HEAD asks for the headers only' },
    status: { type: 'integer', description: 'the HTTP status answered' },
    bytes: { type: 'integer' },
    version: { type: ['integer', 'null'], description: 'the publication served; null when none was' },
    encoding: { ...nullableString, description: '"gzip" when sent gzipped' },
    userAgent: nullableString,
    address: nullableString,
  },
  required: ['at', 'method', 'status', 'bytes', 'version', 'encoding', 'userAgent', 'address'],
} as const;

const latestFetchSchema = {
  type: 'object',
  properties: {
    channel: { type: 'string' },
    lastFetch: { ...fetchSummarySchema, description: 'the newest request for the feed URL, null if none' },
    lastDelivery: {
      ...fetchSummarySchema,
      description:
        'the newest request that left the client holding a version: a GET answered 200, or a 304 confirming it',
    },
  },
  required: ['channel', 'lastFetch', 'lastDelivery'],
} as const;

/**
 * Aggregates of the fetch log, for the dashboard's channel pages: which version each channel's
 * marketplace last got, and fetches per hour or day by status. The log can be large: the
 * counting is done by the store, bounded by the period asked for.
 */
export const fetchStatsRoutes: FastifyPluginAsync<FetchStatsRouteOptions> = async (app, opts) => {
  const { store } = opts;

  app.get(
    '/fetches/latest',
    {
      schema: {
        tags: ['channels'],
        security: apiSecurity,
        summary: 'The last fetch of every channel',
        description:
          "Every channel's newest fetch and newest delivery (a 200 with a body, or a 304): which publication " +
          'version its marketplace holds, and when it last asked.',
        response: {
          200: {
            type: 'object',
            properties: { channels: { type: 'array', items: latestFetchSchema } },
            required: ['channels'],
          },
          ...apiErrors(),
        },
      },
    },
    async () => {
      await opts.fetchLog?.flush();
      return { channels: await latestFetches(store) };
    },
  );

  app.get<{
    Params: { id: string };
    Querystring: { since?: string; until?: string; bucket: 'hour' | 'day'; tz: string };
  }>(
    '/channels/:id/fetch-stats',
    {
      schema: {
        tags: ['channels'],
        security: apiSecurity,
        summary: "A channel's fetches per hour or day, by status",
        description:
          'Counts of the fetch log in [since, until) per bucket and kind (the HTTP status, or `head` for a ' +
          'HEAD request), the clients (user agents) that fetched, most recent first, with the newest version ' +
          'each got, and the newest fetch and delivery overall. At most 31 days of hours or 400 days of days.',
        params: {
          type: 'object',
          properties: { id: { type: 'string', pattern: ID_PATTERN } },
          required: ['id'],
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            since: {
              type: 'string',
              format: 'date-time',
              description: 'start of the period; by default 48 hours (hour) or 30 days (day) before `until`',
            },
            until: {
              type: 'string',
              format: 'date-time',
              description: 'end of the period (excluded); now by default',
            },
            bucket: { type: 'string', enum: ['hour', 'day'], default: 'hour' },
            tz: {
              type: 'string',
              pattern: '^[A-Za-z0-9_+/-]{1,64}$',
              default: 'UTC',
              description: 'the IANA time zone days start in (`Europe/Paris`)',
            },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              channel: { type: 'string' },
              bucket: { type: 'string', enum: ['hour', 'day'] },
              tz: { type: 'string' },
              since: { type: 'string', format: 'date-time' },
              until: { type: 'string', format: 'date-time' },
              buckets: {
                type: 'array',
                description: 'non-empty buckets only, oldest first',
                items: {
                  type: 'object',
                  properties: {
                    start: { type: 'string', format: 'date-time' },
                    kind: { type: 'string', description: '"200", "304", "404", "499", "503"… or "head"' },
                    fetches: { type: 'integer' },
                    bytes: { type: 'integer' },
                  },
                  required: ['start', 'kind', 'fetches', 'bytes'],
                },
              },
              fetchers: {
                type: 'array',
                description: `the clients of the period, most recent first (at most ${MAX_FETCHERS})`,
                items: {
                  type: 'object',
                  properties: {
                    userAgent: nullableString,
                    fetches: { type: 'integer' },
                    notFound: { type: 'integer', description: 'fetches answered 404' },
                    lastAt: { type: 'string', format: 'date-time' },
                    deliveredVersion: { type: ['integer', 'null'] },
                    deliveredAt: nullableDateTime,
                  },
                  required: ['userAgent', 'fetches', 'notFound', 'lastAt', 'deliveredVersion', 'deliveredAt'],
                },
              },
              lastFetch: latestFetchSchema.properties.lastFetch,
              lastDelivery: latestFetchSchema.properties.lastDelivery,
            },
            required: [
              'channel',
              'bucket',
              'tz',
              'since',
              'until',
              'buckets',
              'fetchers',
              'lastFetch',
              'lastDelivery',
            ],
          },
          ...apiErrors('BAD_REQUEST', 'CHANNEL_NOT_FOUND'),
        },
      },
    },
    async (request) => {
      const { bucket, tz } = request.query;
      // Left out, the period ends now, this millisecond included (the period is [since, until)):
      // a fetch logged in the same millisecond as this request is counted.
      const until =
        request.query.until === undefined ? new Date(Date.now() + 1) : new Date(request.query.until);
      const since =
        request.query.since === undefined
          ? new Date(until.getTime() - DEFAULT_PERIOD_MS[bucket])
          : new Date(request.query.since);
      if (since >= until) throw new AppError('BAD_REQUEST', 'since must be before until');
      if (until.getTime() - since.getTime() > MAX_PERIOD_MS[bucket]) {
        throw new AppError(
          'BAD_REQUEST',
          `a period of ${bucket === 'hour' ? '31 days of hours' : '400 days of days'} at most; ask for days, or a shorter period`,
        );
      }
      if (!isTimeZone(tz)) throw new AppError('BAD_REQUEST', `unknown time zone "${tz}"`);
      const channel = await requireChannel(store, request.params.id);
      await opts.fetchLog?.flush();
      let stats: Awaited<ReturnType<typeof fetchStats>>;
      try {
        stats = await fetchStats(store, channel.id, { since, until, bucket, tz });
      } catch (err) {
        // A zone Node knows and the database does not.
        if ((err as { code?: string }).code === PG_INVALID_PARAMETER)
          throw new AppError('BAD_REQUEST', `unknown time zone "${tz}"`, { cause: err });
        throw err;
      }
      const [latest] = await latestFetches(store, channel.id);
      return {
        channel: channel.id,
        bucket,
        tz,
        since: since.toISOString(),
        until: until.toISOString(),
        ...stats,
        lastFetch: latest?.lastFetch ?? null,
        lastDelivery: latest?.lastDelivery ?? null,
      };
    },
  );
};
