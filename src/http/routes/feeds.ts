import { createHash, timingSafeEqual } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import { isId } from '../../model/ids.js';
import { type OpenedFeed, openPublication } from '../../publish/pack/index.js';
import type { FeedStateCache } from '../../publish/serve/feed-state-cache.js';
import type { FetchLog } from '../../publish/serve/fetch-log.js';
import { errorResponses } from '../schemas.js';

/** What serving feeds needs. */
export interface FeedRouteOptions {
  dataDir: string;
  states: FeedStateCache;
  fetchLog: FetchLog;
}

const FILE_NAME = /^([A-Za-z0-9_-]{16,128})\.(csv|tsv|xml|json)$/;

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

// The expected tokens' digests, computed once per token rather than on every request.
const expectedDigests = new Map<string, Buffer>();

/** Compares tokens in constant time (hashing first gives both sides one length). */
export function tokenMatches(given: string, expected: string): boolean {
  let want = expectedDigests.get(expected);
  if (!want) {
    if (expectedDigests.size > 10_000) expectedDigests.clear();
    want = digest(expected);
    expectedDigests.set(expected, want);
  }
  return timingSafeEqual(digest(given), want);
}

/** Whether an `If-None-Match` list names this entity tag (weak comparison, RFC 9110 §13.1.2). */
function noneMatch(header: string, etags: readonly string[]): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => {
    const t = tag.trim().replace(/^W\//, '');
    return etags.includes(t);
  });
}

/** Whether `Accept-Encoding` accepts gzip (a `q=0` refuses it). */
function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding?.trim() !== 'gzip' && coding?.trim() !== 'x-gzip') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

const feedFile = { schema: { type: 'string', format: 'binary' } } as const;
const validators = {
  ETag: { type: 'string', description: 'the sha256 of the file sent (`-gzip` for the gzip twin)' },
  'Last-Modified': { type: 'string', description: 'when the publication was built' },
  'X-Feed-Version': { type: 'integer', description: 'the publication version' },
} as const;

/** The feed route's schema: no key, the token is the secret; the answer is the file, streamed. */
const FEED_ROUTE = {
  schema: {
    tags: ['feeds'],
    summary: 'The outgoing feed',
    description:
      'The publication in force, streamed, at the secret URL of `PUT /api/channels/{id}` (`{file}` is ' +
      '`{token}.{ext}`). Needs no key. Sends `ETag`, `Last-Modified` and, to clients that take gzip, ' +
      'the stored gzip twin; answers 304 to `If-None-Match` and `If-Modified-Since`. A wrong token, an ' +
      'unknown or disabled channel or a wrong extension all answer 404. HEAD answers the headers only.',
    // Plain strings: a malformed name must answer 404 like any other unknown feed, not 400.
    params: {
      type: 'object',
      properties: {
        channel: { type: 'string', description: 'the channel id' },
        file: { type: 'string', description: '`{token}.{ext}`, ext being the channel format' },
      },
      required: ['channel', 'file'],
    },
    // Content descriptions, not JSON schemas: the file is a stream, never serialised.
    response: {
      200: {
        description: 'the feed file',
        headers: validators,
        content: {
          'text/csv': feedFile,
          'text/tab-separated-values': feedFile,
          'application/xml': feedFile,
          'application/json': feedFile,
        },
      },
      304: {
        description: 'not modified since the validators the client sent',
        headers: validators,
        type: 'null',
      },
      ...errorResponses(['NOT_FOUND', 'STORE_UNAVAILABLE']),
    },
  },
} as const;

/**
 * `GET|HEAD /feeds/{channel}/{token}.{ext}` (SPEC §3 "Publication", §5): the publication in
 * force, streamed from disk, with `ETag` (its sha256), `Last-Modified`, 304 answers to
 * `If-None-Match` and `If-Modified-Since`, and the stored gzip twin when the client takes
 * gzip. A wrong token, an unknown or disabled channel, a wrong extension or a malformed
 * name answer 404 alike, so the URL gives nothing away. Every request for a known channel
 * goes into the fetch log.
 */
export const feedRoutes: FastifyPluginAsync<FeedRouteOptions> = async (app, opts) => {
  const notFound = () => new AppError('NOT_FOUND', 'no such feed');
  // A full response is logged once it is over, as sent whole (200) or cut off by the client (499).
  const pendingFetches = new WeakMap<
    FastifyRequest,
    { channel: string; version: number; bytes: number; encoding: string | null; whole: () => boolean }
  >();
  app.addHook('onResponse', async (request, reply) => {
    const f = pendingFetches.get(request);
    if (!f) return;
    const whole = f.whole();
    logFetch(opts.fetchLog, request, {
      channel: f.channel,
      version: f.version,
      encoding: f.encoding,
      status: whole ? reply.statusCode : 499,
      bytes: whole ? f.bytes : 0,
    });
  });

  app.get<{ Params: { channel: string; file: string } }>(
    '/feeds/:channel/:file',
    FEED_ROUTE,
    async (request, reply) => {
      const { channel, file } = request.params;
      if (!isId(channel)) throw notFound();
      const state = await opts.states.get(channel);
      if (!state) throw notFound();
      const log = (status: number, bytes: number, version: number | null, encoding: string | null) =>
        logFetch(opts.fetchLog, request, { channel, status, bytes, version, encoding });
      const pub = state.publication;
      // Every request for a known channel is logged, a malformed file name too (`.xml.gz`, a
      // cut token): the marketplace's misconfigured URL shows in the channel's fetch log.
      const name = FILE_NAME.exec(file);
      if (
        !name ||
        !tokenMatches(name[1] as string, state.token) ||
        !state.enabled ||
        !pub ||
        state.format !== name[2]
      ) {
        log(404, 0, null, null);
        throw notFound();
      }

      const gzip = acceptsGzip(request.headers['accept-encoding']);
      const etag = `"${pub.sha256}"`;
      const gzipEtag = `"${pub.sha256}-gzip"`;
      const lastModified = new Date(pub.builtAt);
      reply
        .header('ETag', gzip ? gzipEtag : etag)
        .header('Last-Modified', lastModified.toUTCString())
        .header('Cache-Control', 'no-cache')
        .header('Vary', 'Accept-Encoding')
        .header('X-Feed-Version', String(pub.version));

      const inm = request.headers['if-none-match'];
      const ims = request.headers['if-modified-since'];
      const notModified =
        inm !== undefined
          ? noneMatch(inm, [etag, gzipEtag])
          : ims !== undefined && !Number.isNaN(Date.parse(ims))
            ? Math.floor(lastModified.getTime() / 1000) <= Math.floor(Date.parse(ims) / 1000)
            : false;
      if (notModified) {
        log(304, 0, pub.version, null);
        return reply.code(304).send();
      }

      const length = gzip ? pub.gzipBytes : pub.bytes;
      reply.header('Content-Type', pub.contentType).header('Content-Length', length);
      if (gzip) reply.header('Content-Encoding', 'gzip');
      if (request.method === 'HEAD') {
        log(200, 0, pub.version, gzip ? 'gzip' : null);
        // An empty stream, not an empty body: fastify would answer `Content-Length: 0` to the
        // latter, and HEAD must give the length GET sends.
        return reply.send(Readable.from([]));
      }
      // Opened before answering: the open files stay readable whole even if a newer
      // publication prunes them while they are being sent.
      let opened: OpenedFeed;
      try {
        opened = await openPublication(
          opts.dataDir,
          { ...pub, channel, format: state.format },
          gzip ? 'gzip' : 'feed',
        );
      } catch (err) {
        request.log.error({ err, channel, version: pub.version }, 'published feed file is missing');
        log(503, 0, pub.version, null);
        throw new AppError('STORE_UNAVAILABLE', 'the feed file is not available on this server');
      }
      const { stream } = opened;
      // Read to its end: handed whole to the connection (a client gone half-way destroys it first).
      let ended = false;
      stream.once('end', () => {
        ended = true;
      });
      pendingFetches.set(request, {
        channel,
        version: pub.version,
        bytes: length,
        encoding: gzip ? 'gzip' : null,
        whole: () => ended,
      });
      return reply.send(stream);
    },
  );
};

function logFetch(
  fetchLog: FetchLog,
  request: FastifyRequest,
  f: { channel: string; status: number; bytes: number; version: number | null; encoding: string | null },
): void {
  fetchLog.add({
    ...f,
    at: new Date(),
    method: request.method === 'HEAD' ? 'HEAD' : 'GET',
    userAgent: request.headers['user-agent'] ?? null,
    address: request.ip ?? null,
  });
}
