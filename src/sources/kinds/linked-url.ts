import { AppError } from '../../errors.js';
import type { UrlSource } from '../../model/catalog.js';
import { fetchStateAfter, validatorsFor } from '../fetch-state.js';
import { redactUrl } from '../ssrf.js';
import { fetchFeed } from '../url.js';
import type { NotModifiedSource, OpenedSource, SourceContext, SourceKind } from './types.js';

/** How a literal header value shows once redacted. */
const MASKED = '***';

const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]*$';

/**
 * A linked feed: fetched over HTTP(S) with the SSRF guard, conditionally once a fetch was
 * applied (ETag, Last-Modified), with basic auth and headers whose secrets come from the
 * environment.
 */
export const linkedUrlSource: SourceKind<UrlSource> = {
  kind: 'url',
  key: 'url',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['url'],
    properties: {
      url: { type: 'string', pattern: '^https?://' },
      auth: {
        type: 'object',
        additionalProperties: false,
        required: ['username', 'passwordEnv'],
        properties: {
          username: { type: 'string', minLength: 1, pattern: '^[^:]*$' },
          passwordEnv: { type: 'string', pattern: ENV_NAME },
        },
      },
      headers: {
        type: 'object',
        propertyNames: { pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" },
        additionalProperties: {
          oneOf: [
            { type: 'string' },
            {
              type: 'object',
              additionalProperties: false,
              required: ['env'],
              properties: { env: { type: 'string', pattern: ENV_NAME } },
            },
          ],
        },
      },
    },
  },
  driver: (catalogId, source) => ({
    kind: 'url',
    linked: true,
    describe: () => `url:${safeRedact(source.url, 'invalid-url')}`,
    open: (ctx) => openUrl(catalogId, source, ctx),
  }),
  // A linked URL without its user name and password and with its query values masked
  // (redactUrl), literal header values masked. History records the same
  // (redact_catalog_definition, migration 000017).
  redact: (source) => {
    const headers =
      source.headers &&
      Object.fromEntries(
        Object.entries(source.headers).map(([k, v]) => [k, typeof v === 'string' ? MASKED : v]),
      );
    return { ...source, url: safeRedact(source.url), ...(headers ? { headers } : {}) };
  },
  // Where a client kept the redacted URL or a masked header value, the stored secret is kept.
  restore: (source, was) => {
    const url = source.url === safeRedact(was.url) ? was.url : source.url;
    const headers =
      source.headers &&
      Object.fromEntries(
        Object.entries(source.headers).map(([k, v]) => {
          const old = was.headers?.[k];
          return [k, v === MASKED && typeof old === 'string' ? old : v];
        }),
      );
    return { ...source, url, ...(headers ? { headers } : {}) };
  },
};

async function openUrl(
  catalogId: string,
  source: UrlSource,
  ctx: SourceContext,
): Promise<OpenedSource | NotModifiedSource> {
  const env = ctx.env ?? process.env;
  const secret = (name: string, where: string) => {
    const value = env[name];
    if (value === undefined) {
      // The operator reads this in a scheduler log or a held run: it names what to set, and where.
      throw new AppError(
        'IMPORT_SOURCE_UNREADABLE',
        `${where} of catalog ${catalogId} names the environment variable ${name}, which is not set`,
      );
    }
    return value;
  };
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(source.headers ?? {})) {
    headers[name] = typeof value === 'string' ? value : secret(value.env, `source.headers.${name}`);
  }
  const result = await fetchFeed(source.url, {
    allowPrivate: ctx.allowPrivateSources,
    auth: source.auth
      ? {
          username: source.auth.username,
          password: secret(source.auth.passwordEnv, 'source.auth.passwordEnv'),
        }
      : undefined,
    headers,
    previous: validatorsFor(ctx.previous, source.url),
    signal: ctx.signal,
  });
  const validators = { etag: result.etag, lastModified: result.lastModified };
  if (result.status === 'not-modified') return { notModified: true, fetchedAt: result.fetchedAt, validators };
  return {
    notModified: false,
    stream: result.stream,
    name: new URL(result.finalUrl).pathname,
    contentType: result.contentType,
    fetchedAt: result.fetchedAt,
    fetchState: fetchStateAfter(source.url, validators),
    size: result.contentLength,
  };
}

/**
 * A URL with its secrets masked (redactUrl). One that does not parse has no parts to mask:
 * the API shows it as written, a run's record names it `invalid-url`.
 */
function safeRedact(url: string, unparsable = url): string {
  try {
    return redactUrl(url);
  } catch {
    return unparsable;
  }
}
