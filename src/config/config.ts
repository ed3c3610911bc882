import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the package itself lives: migrations/, feeds/ and rules/ ship beside src/. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), locateRoot());

function locateRoot(): string {
  // Compiled code runs from dist/src/config, sources (vitest) from src/config.
  return fileURLToPath(import.meta.url).includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..';
}

/** Folder of the numbered SQL migrations. */
export const MIGRATIONS_DIR = path.join(PACKAGE_ROOT, 'migrations');

/** Settings read once from the environment and passed down. */
export interface Config {
  /** PostgreSQL connection string; unset means the embedded PGlite store. */
  databaseUrl: string | undefined;
  /** Folder for the embedded store, the generated API key and built feeds. */
  dataDir: string;
  port: number;
  host: string;
  /** Bearer key for /api; undefined until generated or read from DATA_DIR. */
  apiKey: string | undefined;
  /** pino level of the JSON logs (LOG_LEVEL): fatal, error, warn, info, debug, trace or silent. */
  logLevel: LogLevel;
  /** Largest accepted upload body, in bytes. */
  maxUploadBytes: number;
  /** Lets linked feeds reach private and loopback addresses, for on-premise use. */
  allowPrivateSources: boolean;
  /**
   * The address marketplaces reach the service at (FEEDWRIGHT_PUBLIC_URL, no trailing slash),
   * for the feed URLs the API answers; undefined: the address each request came to.
   */
  publicUrl: string | undefined;
  /** /api requests a client may make per minute (FEEDWRIGHT_RATE_LIMIT); 0 turns the limit off. */
  rateLimitPerMinute: number;
  /** Time a client has to send a request's headers; slower ones are dropped (slowloris). */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request, body included (large uploads). */
  requestTimeoutMs: number;
  /**
   * On SIGTERM, how long requests under way (uploads being imported) may run on; then their
   * connections are cut, and an import reading a cut upload is held, the catalog untouched.
   */
  shutdownGraceMs: number;
  /** Days the fetch log keeps each fetch (FEEDWRIGHT_FETCH_LOG_DAYS); older ones become hourly counts. */
  fetchLogDays: number;
}

/** The levels LOG_LEVEL accepts (pino's). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Defaults of the operational settings, for the README and the tests. */
export const OPERATION_DEFAULTS = {
  rateLimitPerMinute: 600,
  headersTimeoutMs: 30_000,
  requestTimeoutMs: 60 * 60_000,
  shutdownGraceMs: 25_000,
  fetchLogDays: 90,
} as const;

/** Reads the configuration from an environment (process.env by default). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = env.PORT === undefined || env.PORT === '' ? 8080 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be an integer between 0 and 65535, got "${env.PORT}"`);
  }
  const maxUpload = env.FEEDWRIGHT_MAX_UPLOAD_BYTES ? Number(env.FEEDWRIGHT_MAX_UPLOAD_BYTES) : 2 * 1024 ** 3;
  if (!Number.isFinite(maxUpload) || maxUpload <= 0) {
    throw new Error(
      `FEEDWRIGHT_MAX_UPLOAD_BYTES must be a positive number, got "${env.FEEDWRIGHT_MAX_UPLOAD_BYTES}"`,
    );
  }
  const logLevel = env.LOG_LEVEL || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  }
  const headersTimeoutMs = wholeNumber(
    env,
    'FEEDWRIGHT_HEADERS_TIMEOUT_MS',
    OPERATION_DEFAULTS.headersTimeoutMs,
    1,
  );
  const requestTimeoutMs = wholeNumber(
    env,
    'FEEDWRIGHT_REQUEST_TIMEOUT_MS',
    OPERATION_DEFAULTS.requestTimeoutMs,
    1,
  );
  if (requestTimeoutMs < headersTimeoutMs) {
    throw new Error('FEEDWRIGHT_REQUEST_TIMEOUT_MS must not be shorter than FEEDWRIGHT_HEADERS_TIMEOUT_MS');
  }
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.DATA_DIR || './data'),
    port,
    host: env.HOST || '0.0.0.0',
    apiKey: env.FEEDWRIGHT_API_KEY || undefined,
    logLevel: logLevel as LogLevel,
    maxUploadBytes: maxUpload,
    allowPrivateSources: env.FEEDWRIGHT_ALLOW_PRIVATE_SOURCES === 'true',
    publicUrl: publicUrl(env.FEEDWRIGHT_PUBLIC_URL),
    rateLimitPerMinute: wholeNumber(env, 'FEEDWRIGHT_RATE_LIMIT', OPERATION_DEFAULTS.rateLimitPerMinute, 0),
    headersTimeoutMs,
    requestTimeoutMs,
    shutdownGraceMs: wholeNumber(env, 'FEEDWRIGHT_SHUTDOWN_GRACE_MS', OPERATION_DEFAULTS.shutdownGraceMs, 0),
    fetchLogDays: wholeNumber(env, 'FEEDWRIGHT_FETCH_LOG_DAYS', OPERATION_DEFAULTS.fetchLogDays, 1),
  };
}

/**
 * FEEDWRIGHT_PUBLIC_URL: an http(s) address with no query or fragment, such as
 * `https://feeds.shop.example` or `https://shop.example/feedwright` behind a proxy.
 */
function publicUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`FEEDWRIGHT_PUBLIC_URL must be an absolute http(s) URL, got "${raw}"`);
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.search ||
    url.hash ||
    url.username ||
    url.password
  ) {
    throw new Error(
      `FEEDWRIGHT_PUBLIC_URL must be an http(s) URL without user, query or fragment, got "${raw}"`,
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** An integer setting of at least `min`, or its default when unset. */
function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new Error(`${name} must be a whole number of at least ${min}, got "${raw}"`);
  }
  return n;
}
