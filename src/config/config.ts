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
  logLevel: string;
  /** Largest accepted upload body, in bytes. */
  maxUploadBytes: number;
  /** Lets linked feeds reach private and loopback addresses, for on-premise use. */
  allowPrivateSources: boolean;
}

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
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.DATA_DIR || './data'),
    port,
    host: env.HOST || '0.0.0.0',
    apiKey: env.FEEDWRIGHT_API_KEY || undefined,
    logLevel: env.LOG_LEVEL || 'info',
    maxUploadBytes: maxUpload,
    allowPrivateSources: env.FEEDWRIGHT_ALLOW_PRIVATE_SOURCES === 'true',
  };
}
