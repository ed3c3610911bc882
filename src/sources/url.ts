import fs from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { LookupFunction } from 'node:net';
import path from 'node:path';
import { pipeline, Readable, Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import zlib from 'node:zlib';
import { Agent, type Dispatcher, request } from 'undici';
import { PACKAGE_ROOT } from '../config/config.js';
import { AppError } from '../errors.js';
import type { FeedValidators } from '../model/catalog.js';
import { type AddressPolicy, checkUrl, createGuardedConnector, redactUrl } from './ssrf.js';

/**
 * Linked feeds: one GET of a merchant's URL with undici, made safe for a server that
 * fetches URLs written by others. Conditional (ETag, Last-Modified), bounded in time and
 * bytes, redirects re-checked by the SSRF guard, retried while nothing has reached the
 * caller yet, and a stream that errors rather than ends when the download is cut.
 */

/** Bounds of one fetch. Every field has a default (DEFAULT_FETCH_LIMITS). */
export interface FetchLimits {
  /** From the socket's creation to the TCP (and TLS) connection. */
  connectTimeoutMs: number;
  /** From the request sent to the response headers. */
  headersTimeoutMs: number;
  /** Longest silence while the body streams. */
  idleTimeoutMs: number;
  /** The whole fetch: every attempt, the backoff between them, and the body to its end. */
  totalTimeoutMs: number;
  /** Bytes received on the wire (compressed, when the server compresses). */
  maxBytes: number;
  /** Bytes after Content-Encoding decoding. */
  maxDecodedBytes: number;
  /** Redirects followed before giving up. */
  maxRedirects: number;
  /** Attempts in all, the first included. */
  attempts: number;
  /** The first backoff; each retry doubles it, with jitter. */
  retryBaseDelayMs: number;
  /** The longest backoff, also the most a Retry-After header may ask for. */
  retryMaxDelayMs: number;
}

/** The defaults: 10 s to connect, 30 s for headers, 10 min in all, 2 GiB on the wire. */
export const DEFAULT_FETCH_LIMITS: Readonly<FetchLimits> = Object.freeze({
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  totalTimeoutMs: 10 * 60_000,
  maxBytes: 2 * 1024 ** 3,
  maxDecodedBytes: 8 * 1024 ** 3,
  maxRedirects: 5,
  attempts: 3,
  retryBaseDelayMs: 500,
  retryMaxDelayMs: 30_000,
});

/** How to fetch one feed. */
export interface FetchFeedOptions {
  /** HTTP Basic credentials; never shown in errors or labels. */
  auth?: { username: string; password: string };
  /** Extra request headers (an API key, Accept); dropped when a redirect leaves the origin. */
  headers?: Record<string, string>;
  /** The validators of the feed last applied: a 304 then answers `not-modified`. */
  previous?: FeedValidators;
  limits?: Partial<FetchLimits>;
  /** Permit private and loopback addresses (FEEDWRIGHT_ALLOW_PRIVATE_SOURCES=true). */
  allowPrivate: boolean;
  /** Aborts the fetch and the body stream; the stream errors with the signal's reason. */
  signal?: AbortSignal;
  /** Defaults to `feedwright/<version>`. */
  userAgent?: string;
  /** Resolver used at connection time (default `dns.lookup`); its answers pass the guard. */
  lookup?: LookupFunction;
  /** Told before each retry, for logs. */
  onRetry?: (retry: { attempt: number; delayMs: number; error: Error }) => void;
}

/** The server answered 304: the feed applied last is still current. */
export interface FeedNotModified {
  status: 'not-modified';
  etag?: string;
  lastModified?: string;
  /** The URL that answered, after redirects; may hold secrets in its query (see redactUrl). */
  finalUrl: string;
  fetchedAt: Date;
  attempts: number;
}

/** A feed whose body is streaming. */
export interface FeedFetched {
  status: 'ok';
  /**
   * The body, decoded from its Content-Encoding. It errors with a SourceFetchError when
   * the download is cut (`SOURCE_TRUNCATED`), exceeds a byte cap (`SOURCE_TOO_LARGE`) or a
   * time limit (`SOURCE_TIMEOUT`); destroy it to stop the download.
   */
  stream: Readable;
  etag?: string;
  lastModified?: string;
  contentType?: string;
  /** Declared Content-Length: bytes on the wire, before decoding. */
  contentLength?: number;
  /** The Content-Encoding that was decoded (`gzip`, `br`, `deflate`), if any. */
  contentEncoding?: string;
  /** The URL that answered, after redirects; may hold secrets in its query (see redactUrl). */
  finalUrl: string;
  /** When the request that answered was sent: the time the feed reflects. */
  fetchedAt: Date;
  attempts: number;
}

export type FetchFeedResult = FeedNotModified | FeedFetched;

/** Why a fetch failed; each becomes its own error code once registered. */
export type SourceFetchReason =
  | 'SOURCE_UNREACHABLE'
  | 'SOURCE_TIMEOUT'
  | 'SOURCE_HTTP_ERROR'
  | 'SOURCE_TOO_LARGE'
  | 'SOURCE_TRUNCATED'
  | 'IMPORT_SOURCE_UNREADABLE';

/** A failed fetch. `reason` says which; `details` has the redacted URL and the status. */
export class SourceFetchError extends AppError {
  readonly reason: SourceFetchReason;

  constructor(
    reason: SourceFetchReason,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(reason, message, options);
    this.name = 'SourceFetchError';
    this.reason = reason;
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
/** Headers the fetcher owns; a definition cannot set them. */
const RESERVED_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'accept-encoding',
  'if-none-match',
  'if-modified-since',
  'te',
  'upgrade',
  'keep-alive',
  'proxy-authorization',
]);

/**
 * Fetches a linked feed. Resolves once the response headers are in: `not-modified` on a
 * 304 to the conditional request, else `ok` with the body streaming. Throws a
 * ForbiddenAddressError when the guard refuses the URL, a redirect or a resolved address,
 * and a SourceFetchError when the server cannot be reached, answers an error status, or
 * is too slow. Timeouts, resets and 5xx answers are retried with backoff, 4xx are not,
 * and nothing is retried once the body has started to stream.
 */
export async function fetchFeed(source: string | URL, options: FetchFeedOptions): Promise<FetchFeedResult> {
  const limits = resolveLimits(options.limits);
  const policy: AddressPolicy = { allowPrivate: options.allowPrivate };
  const { url: start, auth: urlAuth } = parseSourceUrl(source);
  const shown = redactUrl(start);
  checkUrl(start, policy);
  const { common, secret } = requestHeaders(options, urlAuth);

  const startedAt = Date.now();
  const deadline = new AbortController();
  const timer = setTimeout(
    () =>
      deadline.abort(
        new SourceFetchError(
          'SOURCE_TIMEOUT',
          `fetching ${shown} took longer than ${limits.totalTimeoutMs} ms in all`,
          { details: { url: shown, limit: 'total', ms: limits.totalTimeoutMs } },
        ),
      ),
    limits.totalTimeoutMs,
  );
  const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
  const agent = new Agent({
    connect: createGuardedConnector(policy, { timeout: limits.connectTimeoutMs, lookup: options.lookup }),
    headersTimeout: limits.headersTimeoutMs,
    bodyTimeout: limits.idleTimeoutMs,
  });
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    clearTimeout(timer);
    agent.destroy().catch(() => {});
  };
  const ctx: FetchContext = { limits, policy, shown, agent, signal, deadline: deadline.signal, options };

  try {
    for (let attempt = 1; ; attempt++) {
      const fetchedAt = new Date();
      try {
        const { response, url } = await followRedirects(start, { ...common, ...secret }, ctx);
        return await settle(response, url, fetchedAt, attempt, ctx, release);
      } catch (err) {
        const failure = classify(err, ctx, attempt);
        if (!failure.retry || attempt >= limits.attempts) throw failure.error;
        const delayMs = backoff(attempt, failure.retryAfterMs, limits);
        if (Date.now() - startedAt + delayMs >= limits.totalTimeoutMs) throw failure.error;
        options.onRetry?.({ attempt, delayMs, error: failure.error });
        try {
          await sleep(delayMs, undefined, { signal });
        } catch (abort) {
          throw classify(abort, ctx, attempt).error;
        }
      }
    }
  } catch (err) {
    release();
    throw err;
  }
}

interface FetchContext {
  limits: FetchLimits;
  policy: AddressPolicy;
  shown: string;
  agent: Agent;
  /** The caller's signal and the overall deadline together. */
  signal: AbortSignal;
  deadline: AbortSignal;
  options: FetchFeedOptions;
}

/** Sends the GET and follows redirects, each target checked by the guard first. */
async function followRedirects(
  start: URL,
  headers: Record<string, string>,
  ctx: FetchContext,
): Promise<{ response: Dispatcher.ResponseData; url: URL }> {
  let url = start;
  let sent = headers;
  for (let hop = 0; ; hop++) {
    const response = await requestHeadersInTime(url, sent, ctx);
    if (!REDIRECTS.has(response.statusCode)) return { response, url };
    await discard(response);
    const location = header(response.headers, 'location');
    const shown = redactUrl(url);
    if (location === undefined) {
      throw httpError(
        response.statusCode,
        shown,
        `${shown} answered ${statusLine(response.statusCode)} without a Location`,
      );
    }
    if (hop >= ctx.limits.maxRedirects) {
      throw new SourceFetchError(
        'SOURCE_HTTP_ERROR',
        `${ctx.shown} redirected more than ${ctx.limits.maxRedirects} times (last hop: ${shown})`,
        { details: { url: ctx.shown, status: response.statusCode, redirects: hop + 1 } },
      );
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch (err) {
      throw new SourceFetchError('SOURCE_HTTP_ERROR', `${shown} redirected to an invalid URL`, {
        cause: err,
        details: { url: shown, status: response.statusCode },
      });
    }
    next.username = '';
    next.password = '';
    checkUrl(next, ctx.policy);
    // Credentials and the definition's own headers are for the merchant's origin only.
    if (next.origin !== url.origin) sent = withoutSecrets(sent, ctx.options.headers);
    url = next;
  }
}

/**
 * One GET, resolved when its headers are in. The headers timeout runs on a native timer:
 * undici's own has a resolution of about a second, which stays as a backstop.
 */
async function requestHeadersInTime(
  url: URL,
  headers: Record<string, string>,
  ctx: FetchContext,
): Promise<Dispatcher.ResponseData> {
  const { headersTimeoutMs } = ctx.limits;
  const waiting = new AbortController();
  const shown = redactUrl(url);
  const timer = setTimeout(() => {
    waiting.abort(
      new SourceFetchError('SOURCE_TIMEOUT', `${shown} sent no response within ${headersTimeoutMs} ms`, {
        details: { url: shown, limit: 'headers', ms: headersTimeoutMs },
      }),
    );
  }, headersTimeoutMs);
  try {
    return await request(url, {
      method: 'GET',
      headers,
      dispatcher: ctx.agent,
      signal: AbortSignal.any([ctx.signal, waiting.signal]),
    });
  } finally {
    clearTimeout(timer);
  }
}

/** Turns the final response into the result, or throws for a status that is no feed. */
async function settle(
  response: Dispatcher.ResponseData,
  url: URL,
  fetchedAt: Date,
  attempts: number,
  ctx: FetchContext,
  release: () => void,
): Promise<FetchFeedResult> {
  const status = response.statusCode;
  const shown = redactUrl(url);
  const etag = header(response.headers, 'etag');
  const lastModified = header(response.headers, 'last-modified');
  if (status === 304) {
    await discard(response);
    const previous = ctx.options.previous;
    if (!previous?.etag && !previous?.lastModified) {
      throw httpError(
        status,
        shown,
        `${shown} answered 304 Not Modified to a request that was not conditional`,
      );
    }
    release();
    return {
      status: 'not-modified',
      etag: etag ?? previous.etag,
      lastModified: lastModified ?? previous.lastModified,
      finalUrl: url.href,
      fetchedAt,
      attempts,
    };
  }
  if (status !== 200 && status !== 203) {
    await discard(response);
    const retryAfterMs = parseRetryAfter(header(response.headers, 'retry-after'));
    throw httpError(status, shown, `GET ${shown} answered ${statusLine(status)}`, retryAfterMs);
  }

  const contentLength = parseLength(header(response.headers, 'content-length'));
  if (contentLength !== undefined && contentLength > ctx.limits.maxBytes) {
    abandon(response);
    throw new SourceFetchError(
      'SOURCE_TOO_LARGE',
      `${shown} is ${contentLength} bytes, more than the limit of ${ctx.limits.maxBytes} bytes`,
      { details: { url: shown, bytes: contentLength, limit: ctx.limits.maxBytes } },
    );
  }
  const encoding = header(response.headers, 'content-encoding');
  const decoders = createDecoders(encoding, shown, response);
  const stream = openBody(response, decoders, contentLength, shown, ctx, release);
  return {
    status: 'ok',
    stream,
    etag,
    lastModified,
    contentType: header(response.headers, 'content-type'),
    contentLength,
    contentEncoding: decoders.length > 0 ? encoding?.toLowerCase().trim() : undefined,
    finalUrl: url.href,
    fetchedAt,
    attempts,
  };
}

/**
 * The caller's stream: the body through a wire-byte meter, the Content-Encoding decoders
 * and a decoded-byte meter. Every failure on the way becomes a SourceFetchError.
 */
function openBody(
  response: Dispatcher.ResponseData,
  decoders: Transform[],
  contentLength: number | undefined,
  shown: string,
  ctx: FetchContext,
  release: () => void,
): Readable {
  const { limits } = ctx;
  let wireBytes = 0;
  let decodedBytes = 0;
  const wire = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      wireBytes += chunk.length;
      if (wireBytes > limits.maxBytes) callback(tooLarge(shown, 'downloaded', limits.maxBytes));
      else callback(null, chunk);
    },
    flush(callback) {
      if (contentLength !== undefined && wireBytes < contentLength)
        callback(truncated(shown, wireBytes, contentLength));
      else callback();
    },
  });
  const stages: Array<Readable | Transform> = [response.body, wire, ...decoders];
  if (decoders.length > 0) {
    stages.push(
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          decodedBytes += chunk.length;
          if (decodedBytes > limits.maxDecodedBytes) {
            callback(tooLarge(shown, 'decompressed', limits.maxDecodedBytes));
          } else callback(null, chunk);
        },
      }),
    );
  }
  const last = stages[stages.length - 1] as Readable;
  // Failures reach `last` (pipeline destroys every stage with the first error); they are
  // mapped there, so the callback has nothing left to do.
  pipeline(stages as unknown as [Readable, Transform], () => {});

  const bodyError = (err: unknown): Error => {
    if (ctx.deadline.aborted) return ctx.deadline.reason as Error;
    if (ctx.options.signal?.aborted) return ctx.options.signal.reason as Error;
    if (err instanceof AppError) return err;
    const code = errorCode(err);
    if (code === 'UND_ERR_BODY_TIMEOUT') {
      return new SourceFetchError(
        'SOURCE_TIMEOUT',
        `${shown} sent no data for ${limits.idleTimeoutMs} ms after ${wireBytes} bytes`,
        { cause: err, details: { url: shown, limit: 'idle', ms: limits.idleTimeoutMs, bytes: wireBytes } },
      );
    }
    if (code === 'Z_BUF_ERROR') {
      return new SourceFetchError(
        'SOURCE_TRUNCATED',
        `the download of ${shown} was truncated: its compressed body ends in the middle of the stream`,
        { cause: err, details: { url: shown, bytes: wireBytes } },
      );
    }
    if (typeof code === 'string' && (code.startsWith('Z_') || code.startsWith('ERR__ERROR'))) {
      return new SourceFetchError(
        'IMPORT_SOURCE_UNREADABLE',
        `the ${decoders.length > 0 ? 'compressed ' : ''}body of ${shown} is corrupt: ${messageOf(err)}`,
        { cause: err, details: { url: shown } },
      );
    }
    return truncated(shown, wireBytes, contentLength, err);
  };

  const out = new Readable({
    highWaterMark: 256 * 1024,
    read() {
      last.resume();
    },
    destroy(err, callback) {
      ctx.signal.removeEventListener('abort', onAbort);
      last.destroy();
      release();
      callback(err);
    },
  });
  const onAbort = () => response.body.destroy(ctx.signal.reason as Error);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  last.on('data', (chunk: Buffer) => {
    if (!out.push(chunk)) last.pause();
  });
  let settled = false;
  last.once('end', () => {
    settled = true;
    out.push(null);
  });
  last.once('error', (err) => {
    settled = true;
    out.destroy(bodyError(err));
  });
  // A stage closed without an end or an error still means the feed is incomplete.
  last.once('close', () => {
    if (!settled) out.destroy(bodyError(new Error('the stream closed before its end')));
  });
  last.pause();
  return out;
}

/** Decoders for the Content-Encoding, last applied first; throws for one it cannot undo. */
function createDecoders(
  encoding: string | undefined,
  shown: string,
  response: Dispatcher.ResponseData,
): Transform[] {
  if (encoding === undefined) return [];
  const codings = encoding
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  return codings.reverse().map((coding) => {
    if (coding === 'gzip' || coding === 'x-gzip') return zlib.createGunzip();
    if (coding === 'deflate') return zlib.createInflate();
    if (coding === 'br') return zlib.createBrotliDecompress();
    abandon(response);
    throw new SourceFetchError(
      'SOURCE_HTTP_ERROR',
      `${shown} sent an unsupported Content-Encoding: ${coding}`,
      {
        details: { url: shown, status: response.statusCode, contentEncoding: encoding },
      },
    );
  });
}

/** Decides whether an attempt's failure is retried, and turns it into an AppError. */
function classify(
  err: unknown,
  ctx: FetchContext,
  attempt: number,
): { error: AppError | Error; retry: boolean; retryAfterMs?: number } {
  const { shown, limits } = ctx;
  if (ctx.options.signal?.aborted) return { error: ctx.options.signal.reason as Error, retry: false };
  if (ctx.deadline.aborted) return { error: ctx.deadline.reason as AppError, retry: false };
  if (err instanceof SourceFetchError) {
    const status = (err.details as { status?: number } | undefined)?.status;
    const retryAfterMs = (err.details as { retryAfterMs?: number } | undefined)?.retryAfterMs;
    const limit = (err.details as { limit?: string } | undefined)?.limit;
    const retry =
      (err.reason === 'SOURCE_HTTP_ERROR' && status !== undefined && status >= 500 && status < 600) ||
      (err.reason === 'SOURCE_TIMEOUT' && limit === 'headers');
    return { error: withAttempts(err, attempt), retry, retryAfterMs };
  }
  if (err instanceof AppError) return { error: err, retry: false };
  const code = errorCode(err);
  const tries = attempt > 1 ? ` (after ${attempt} attempts)` : '';
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return {
      error: new SourceFetchError(
        'SOURCE_TIMEOUT',
        `could not connect to ${shown} within ${limits.connectTimeoutMs} ms${tries}`,
        {
          cause: err,
          details: { url: shown, limit: 'connect', ms: limits.connectTimeoutMs, attempts: attempt },
        },
      ),
      retry: true,
    };
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return {
      error: new SourceFetchError(
        'SOURCE_TIMEOUT',
        `${shown} sent no response within ${limits.headersTimeoutMs} ms${tries}`,
        {
          cause: err,
          details: { url: shown, limit: 'headers', ms: limits.headersTimeoutMs, attempts: attempt },
        },
      ),
      retry: true,
    };
  }
  const why = code === 'ENOTFOUND' ? 'host not found' : messageOf(err);
  return {
    error: new SourceFetchError('SOURCE_UNREACHABLE', `cannot fetch ${shown}: ${why}${tries}`, {
      cause: err,
      details: { url: shown, code, attempts: attempt },
    }),
    retry: typeof code === 'string' && RETRYABLE_CODES.has(code),
  };
}

/** The delay before retry number `attempt`: exponential, with jitter, at least Retry-After. */
function backoff(attempt: number, retryAfterMs: number | undefined, limits: FetchLimits): number {
  const exponential = Math.min(limits.retryMaxDelayMs, limits.retryBaseDelayMs * 2 ** (attempt - 1));
  // Half fixed, half random: retries of many catalogs do not arrive at once.
  const jittered = exponential / 2 + Math.random() * (exponential / 2);
  return Math.round(Math.min(limits.retryMaxDelayMs, Math.max(jittered, retryAfterMs ?? 0)));
}

function resolveLimits(given: Partial<FetchLimits> | undefined): FetchLimits {
  const limits = { ...DEFAULT_FETCH_LIMITS, ...given };
  for (const [key, value] of Object.entries(limits)) {
    const min = key === 'maxRedirects' ? 0 : key === 'attempts' ? 1 : Number.MIN_VALUE;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
      throw new AppError('DEFINITION_INVALID', `fetch limit ${key} must be a number of at least ${min}`);
    }
  }
  return limits;
}

/** Parses the source URL; user info in it becomes Basic credentials, out of the URL. */
function parseSourceUrl(source: string | URL): { url: URL; auth?: { username: string; password: string } } {
  let url: URL;
  try {
    url = new URL(source);
  } catch (err) {
    throw new AppError('DEFINITION_INVALID', 'the source URL is not a valid URL', { cause: err });
  }
  if (url.username === '' && url.password === '') return { url };
  const auth = { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  url.username = '';
  url.password = '';
  return { url, auth };
}

/** The request headers, split into those for every hop and those for the origin only. */
function requestHeaders(
  options: FetchFeedOptions,
  urlAuth: { username: string; password: string } | undefined,
): { common: Record<string, string>; secret: Record<string, string> } {
  const common: Record<string, string> = {
    'user-agent': options.userAgent ?? defaultUserAgent(),
    accept: '*/*',
    'accept-encoding': 'gzip, deflate, br',
  };
  if (options.previous?.etag) common['if-none-match'] = options.previous.etag;
  if (options.previous?.lastModified) common['if-modified-since'] = options.previous.lastModified;
  const secret: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    const key = name.toLowerCase();
    if (RESERVED_HEADERS.has(key) || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(key)) {
      throw new AppError('DEFINITION_INVALID', `the source header "${name}" cannot be set`);
    }
    if (/[\r\n\0]/.test(value)) {
      throw new AppError('DEFINITION_INVALID', `the source header "${name}" holds a line break`);
    }
    secret[key] = value;
  }
  const auth = options.auth ?? urlAuth;
  if (auth) {
    if (auth.username.includes(':')) {
      throw new AppError('DEFINITION_INVALID', 'a Basic auth user name cannot contain ":"');
    }
    secret.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
  }
  return { common, secret };
}

function withoutSecrets(
  headers: Record<string, string>,
  custom: Record<string, string> | undefined,
): Record<string, string> {
  const drop = new Set(['authorization', ...Object.keys(custom ?? {}).map((k) => k.toLowerCase())]);
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !drop.has(k)));
}

let userAgent: string | undefined;

/** `feedwright/<version>`, the version read once from package.json. */
export function defaultUserAgent(): string {
  if (userAgent === undefined) {
    let version = '0.0.0';
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
        version?: string;
      };
      version = pkg.version ?? version;
    } catch {
      // An unreadable package.json leaves the placeholder version: the fetch still works.
    }
    userAgent = `feedwright/${version}`;
  }
  return userAgent;
}

async function discard(response: Dispatcher.ResponseData): Promise<void> {
  // A small body is read so the connection can serve the next hop; a large one is cut.
  await response.body.dump({ limit: 64 * 1024 }).catch(() => {});
}

/** Closes a body the caller will never read; undici reports that as an error nobody needs. */
function abandon(response: Dispatcher.ResponseData): void {
  response.body.on('error', () => {}).destroy();
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function parseLength(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value) : undefined;
}

function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function statusLine(status: number): string {
  const text = STATUS_CODES[status];
  return text ? `${status} ${text}` : String(status);
}

function httpError(status: number, url: string, message: string, retryAfterMs?: number): SourceFetchError {
  return new SourceFetchError('SOURCE_HTTP_ERROR', message, { details: { url, status, retryAfterMs } });
}

function withAttempts(err: SourceFetchError, attempt: number): SourceFetchError {
  if (attempt === 1) return err;
  return new SourceFetchError(err.reason, `${err.message} (after ${attempt} attempts)`, {
    cause: err.cause,
    details: { ...(err.details as Record<string, unknown>), attempts: attempt },
  });
}

function tooLarge(shown: string, what: 'downloaded' | 'decompressed', limit: number): SourceFetchError {
  return new SourceFetchError(
    'SOURCE_TOO_LARGE',
    `${shown} is larger than the limit of ${limit} ${what} bytes; the download was stopped`,
    { details: { url: shown, limit, kind: what } },
  );
}

function truncated(
  shown: string,
  bytes: number,
  expected: number | undefined,
  cause?: unknown,
): SourceFetchError {
  const of = expected === undefined ? '' : ` of ${expected}`;
  const why = cause === undefined ? '' : ` (${messageOf(cause)})`;
  return new SourceFetchError(
    'SOURCE_TRUNCATED',
    `the download of ${shown} was truncated after ${bytes}${of} bytes${why}`,
    { cause, details: { url: shown, bytes, expected } },
  );
}

function errorCode(err: unknown): string | undefined {
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const code = errorCode(inner);
      if (code) return code;
    }
  }
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(err: unknown): string {
  const code = errorCode(err);
  const message = err instanceof Error && err.message ? err.message : String(err);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
