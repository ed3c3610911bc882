import fs from 'node:fs';
import path from 'node:path';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { PACKAGE_ROOT } from '../config/config.js';
import { BEARER_SCHEME, documentSchemas, OPTIONAL_BODY } from './schemas.js';

/** The route groups of the document, in the order the UI lists them. */
const TAGS = [
  { name: 'catalogs', description: 'Catalog definitions: where a feed comes from and how its columns map.' },
  {
    name: 'definitions',
    description: 'A folder of definitions (feeds/ and rules/) applied at once, all or nothing.',
  },
  { name: 'imports', description: 'Import runs: upload or fetch a feed, the safety gate, row errors.' },
  { name: 'products', description: 'The products of a catalog, with their stock and history.' },
  { name: 'rules', description: 'Rule sets: versions, validation, explain and preview.' },
  { name: 'channels', description: 'Channel definitions, feed URLs, publishing, publications, fetch log.' },
  { name: 'orders', description: 'Orders reported by channels, moving the stock ledger.' },
  { name: 'stock', description: "Stock quantities pushed by the merchant's shop." },
  { name: 'history', description: 'The append-only history of everything that changed.' },
  { name: 'feeds', description: 'The outgoing feeds, at their secret URLs (no key).' },
  { name: 'health', description: 'Liveness and store reachability (no key).' },
  { name: 'operations', description: 'Prometheus metrics for the operator (API key, never rate limited).' },
  { name: 'dashboard', description: 'The web dashboard and its assets (no key; the page signs in with it).' },
];

/** name, version and description of package.json. */
function packageInfo(): { name: string; version: string; description: string } {
  const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    name?: string;
    version?: string;
    description?: string;
  };
  return {
    name: pkg.name ?? 'feedwright',
    version: pkg.version ?? '0.0.0',
    description: pkg.description ?? '',
  };
}

/**
 * Registers the OpenAPI document (built from the routes' schemas) and its browsable UI at
 * `/docs` (the document itself at `/docs/json` and `/docs/yaml`). Register it before the
 * routes: the document holds only the routes added after it. The UI is served from the
 * package's bundled assets, so it needs no network; it needs no key either.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  const info = packageInfo();
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: info.name, version: info.version, description: info.description },
      tags: TAGS,
      components: {
        securitySchemes: {
          [BEARER_SCHEME]: {
            type: 'http',
            scheme: 'bearer',
            description:
              'The API key (FEEDWRIGHT_API_KEY, or the one generated into DATA_DIR/api-key) as ' +
              '`Authorization: Bearer <key>`; every /api route needs it.',
          },
        },
        // biome-ignore lint/suspicious/noExplicitAny: openapi-types' SchemaObject cannot type JSON Schema's `const`, `if`/`then` or type arrays, which these schemas use.
        schemas: documentSchemas as Record<string, any>,
      },
    },
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      const { openapiObject } = document;
      // @fastify/swagger marks every documented body required; some routes also take none.
      for (const item of Object.values(openapiObject.paths ?? {})) {
        for (const operation of Object.values(item ?? {}) as Array<Record<string, unknown>>) {
          if (operation?.[OPTIONAL_BODY] !== true) continue;
          delete operation[OPTIONAL_BODY];
          const body = operation.requestBody as { required?: boolean } | undefined;
          if (body) body.required = false;
        }
      }
      return openapiObject;
    },
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    uiConfig: { deepLinking: true, persistAuthorization: false, tryItOutEnabled: false },
  });
}
