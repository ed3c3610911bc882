import type { FastifyPluginAsync } from 'fastify';
import {
  formatProblem,
  redactDefinition,
  restoreRedacted,
  validateCatalogDefinition,
} from '../../catalog/definition.js';
import { AppError } from '../../errors.js';
import type { CatalogDefinition } from '../../model/catalog.js';
import { pushStock } from '../../stock/stock-push.js';
import { productStock } from '../../stock/stock-view.js';
import { getCatalog, listCatalogs, type StoredCatalog, saveCatalog } from '../../store/catalogs.js';
import { readHistory } from '../../store/history.js';
import { lastRunPerCatalog, listRuns, publicRun } from '../../store/imports.js';
import { getProduct, listProducts } from '../../store/products.js';
import type { Store } from '../../store/types.js';
import {
  apiErrors,
  apiSecurity,
  catalogWithLastImportSchema,
  documentedBody,
  documentRef,
  historyEventSchema,
  idParams,
  idSkuParams,
  productSchema,
  productStockSchema,
  stockPushResultSchema,
  storedCatalogSchema,
} from '../schemas.js';
import { limitSchema } from './paging.js';

const catalogs = { tags: ['catalogs'], security: apiSecurity } as const;

/** `{ outcome, catalog }`: what PUT did. */
const saveAnswer = {
  type: 'object',
  properties: {
    outcome: { type: 'string', enum: ['created', 'updated', 'unchanged'] },
    catalog: storedCatalogSchema,
  },
  required: ['outcome', 'catalog'],
} as const;

/** A stored catalog as answered: its definition's secrets redacted (redactDefinition). */
function publicCatalog(c: StoredCatalog): StoredCatalog {
  return { ...c, definition: redactDefinition(c.definition) };
}

/** Catalog definitions and their products. */
export const catalogRoutes: FastifyPluginAsync<{ store: Store; onCatalogChanged?: () => void }> = async (
  app,
  { store, onCatalogChanged },
) => {
  const requireCatalog = async (id: string) => {
    const catalog = await getCatalog(store, id);
    if (!catalog) throw new AppError('CATALOG_NOT_FOUND', `no catalog "${id}"`);
    return catalog;
  };

  app.get(
    '/catalogs',
    {
      schema: {
        ...catalogs,
        summary: 'Catalog definitions',
        description: 'Every catalog, by id, each with its last import run.',
        response: {
          200: {
            description: 'the catalogs',
            type: 'object',
            properties: { catalogs: { type: 'array', items: catalogWithLastImportSchema } },
            required: ['catalogs'],
          },
          ...apiErrors(),
        },
      },
    },
    async () => {
      const catalogs = await listCatalogs(store);
      const lastRuns = await lastRunPerCatalog(store);
      return {
        catalogs: catalogs.map((c) => {
          const last = lastRuns.get(c.id);
          return { ...publicCatalog(c), lastImport: last ? publicRun(last) : null };
        }),
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/catalogs/:id',
    {
      schema: {
        ...catalogs,
        summary: 'One catalog definition',
        description: 'The definition in force, its version and its last import run.',
        params: idParams,
        response: {
          200: { ...catalogWithLastImportSchema, description: 'the catalog' },
          ...apiErrors('BAD_REQUEST', 'CATALOG_NOT_FOUND'),
        },
      },
    },
    async (request) => {
      const catalog = await requireCatalog(request.params.id);
      const last = (await listRuns(store, catalog.id, { limit: 1 })).runs[0];
      return { ...publicCatalog(catalog), lastImport: last ? publicRun(last) : null };
    },
  );

  app.put<{ Params: { id: string }; Body: unknown }>(
    '/catalogs/:id',
    {
      schema: {
        ...catalogs,
        summary: 'Create or change a catalog definition',
        description:
          'Validates the definition (400 `DEFINITION_INVALID` names the JSON path of every fault, also as ' +
          '`details`) and saves it as a new version; the same definition again changes nothing.',
        params: idParams,
        response: {
          200: { ...saveAnswer, description: 'updated, or unchanged' },
          201: { ...saveAnswer, description: 'created' },
          ...apiErrors('BAD_REQUEST', 'DEFINITION_INVALID'),
        },
      },
      config: documentedBody({
        ...documentRef('CatalogDefinition'),
        description: 'the catalog definition; its id must be the one in the URL',
      }),
    },
    async (request, reply) => {
      const body = request.body;
      const problems = validateCatalogDefinition(body);
      if (problems.length > 0) {
        throw new AppError('DEFINITION_INVALID', problems.map(formatProblem).join('; '), {
          details: problems,
        });
      }
      const given = body as CatalogDefinition;
      if (given.id !== request.params.id) {
        throw new AppError(
          'DEFINITION_INVALID',
          `$.id: "${given.id}" does not match the URL's "${request.params.id}"`,
        );
      }
      const { outcome, catalog } = await store.transaction(async (tx) => {
        // A definition read redacted and sent back keeps the secrets it did not change.
        const def = restoreRedacted(given, (await getCatalog(tx, given.id))?.definition);
        return saveCatalog(tx, def, request.actor);
      });
      if (outcome !== 'unchanged') onCatalogChanged?.();
      return reply
        .status(outcome === 'created' ? 201 : 200)
        .send({ outcome, catalog: publicCatalog(catalog) });
    },
  );

  app.get<{ Params: { id: string }; Querystring: { after?: string; limit: number; q?: string } }>(
    '/catalogs/:id/products',
    {
      schema: {
        tags: ['products'],
        security: apiSecurity,
        summary: 'Products of a catalog',
        description: 'Products by sku, a page at a time (`after` is the cursor); `q` searches sku and title.',
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'string', description: 'products after this sku (the `next` cursor)' },
            limit: limitSchema,
            q: { type: 'string', maxLength: 200, description: 'a part of the sku or title' },
          },
        },
        response: {
          200: {
            description: 'a page of products',
            type: 'object',
            properties: {
              products: { type: 'array', items: productSchema },
              next: {
                type: ['string', 'null'],
                description: 'pass as `after` for the next page; null at the end',
              },
              total: { type: 'integer', description: 'products in the catalog' },
            },
            required: ['products', 'next', 'total'],
          },
          ...apiErrors('BAD_REQUEST', 'CATALOG_NOT_FOUND'),
        },
      },
    },
    async (request) => {
      await requireCatalog(request.params.id);
      return listProducts(store, request.params.id, request.query);
    },
  );

  app.get<{ Params: { id: string; sku: string } }>(
    '/catalogs/:id/products/:sku',
    {
      schema: {
        tags: ['products'],
        security: apiSecurity,
        summary: 'One product with its stock and history',
        description:
          'The product as stored, its stock (imported, pending ledger entries, effective) and its last 50 ' +
          'history events.',
        params: idSkuParams,
        response: {
          200: {
            description: 'the product',
            type: 'object',
            properties: {
              product: productSchema,
              stock: productStockSchema,
              history: { type: 'array', items: historyEventSchema, description: 'newest first, at most 50' },
            },
            required: ['product', 'history'],
          },
          ...apiErrors('BAD_REQUEST', 'CATALOG_NOT_FOUND', 'PRODUCT_NOT_FOUND'),
        },
      },
    },
    async (request) => {
      const { id, sku } = request.params;
      await requireCatalog(id);
      const product = await getProduct(store, id, sku);
      if (!product) throw new AppError('PRODUCT_NOT_FOUND', `catalog "${id}" has no product "${sku}"`);
      const history = await readHistory(store, { catalog: id, sku, limit: 50 });
      const stock = await productStock(store, id, sku);
      return { product, stock, history: history.events };
    },
  );

  app.patch<{ Params: { id: string } }>(
    '/catalogs/:id/stock',
    {
      schema: {
        tags: ['stock'],
        security: apiSecurity,
        summary: 'Push stock quantities',
        description:
          "The shop's quantities `[{ sku, quantity }]` become the effective stock (a partial import of " +
          'stock): each product moves by the difference, recorded in the ledger.',
        params: idParams,
        response: {
          200: { ...stockPushResultSchema, description: 'what the push did, by sku' },
          ...apiErrors('BAD_REQUEST', 'CATALOG_NOT_FOUND'),
        },
      },
      config: documentedBody({ ...documentRef('StockPush'), description: 'the quantities' }),
    },
    async (request) => pushStock(store, request.params.id, request.body, request.actor),
  );
};
