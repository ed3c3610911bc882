import type { FastifyPluginAsync } from 'fastify';
import type { CatalogDefinition } from '../../catalog/definition.js';
import {
  catalogDefinitionSchema,
  formatProblem,
  validateCatalogDefinition,
} from '../../catalog/definition.js';
import { AppError } from '../../errors.js';
import { pushStock } from '../../stock/stock-push.js';
import { productStock } from '../../stock/stock-view.js';
import { getCatalog, listCatalogs, saveCatalog } from '../../store/catalogs.js';
import { readHistory } from '../../store/history.js';
import { lastRunPerCatalog, listRuns, publicRun } from '../../store/imports.js';
import { getProduct, listProducts } from '../../store/products.js';
import type { Store } from '../../store/types.js';
import { limitSchema } from './paging.js';

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', pattern: catalogDefinitionSchema.properties.id.pattern } },
  required: ['id'],
} as const;

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

  app.get('/catalogs', async () => {
    const catalogs = await listCatalogs(store);
    const lastRuns = await lastRunPerCatalog(store);
    return {
      catalogs: catalogs.map((c) => {
        const last = lastRuns.get(c.id);
        return { ...c, lastImport: last ? publicRun(last) : null };
      }),
    };
  });

  app.get<{ Params: { id: string } }>('/catalogs/:id', { schema: { params: idParams } }, async (request) => {
    const catalog = await requireCatalog(request.params.id);
    const last = (await listRuns(store, catalog.id, { limit: 1 })).runs[0];
    return { ...catalog, lastImport: last ? publicRun(last) : null };
  });

  app.put<{ Params: { id: string }; Body: unknown }>(
    '/catalogs/:id',
    { schema: { params: idParams } },
    async (request, reply) => {
      const body = request.body;
      const problems = validateCatalogDefinition(body);
      if (problems.length > 0) {
        throw new AppError('DEFINITION_INVALID', problems.map(formatProblem).join('; '), {
          details: problems,
        });
      }
      const def = body as CatalogDefinition;
      if (def.id !== request.params.id) {
        throw new AppError(
          'DEFINITION_INVALID',
          `$.id: "${def.id}" does not match the URL's "${request.params.id}"`,
        );
      }
      const { outcome, catalog } = await store.transaction((tx) => saveCatalog(tx, def, 'api'));
      if (outcome !== 'unchanged') onCatalogChanged?.();
      return reply.status(outcome === 'created' ? 201 : 200).send({ outcome, catalog });
    },
  );

  app.get<{ Params: { id: string }; Querystring: { after?: string; limit: number; q?: string } }>(
    '/catalogs/:id/products',
    {
      schema: {
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'string' },
            limit: limitSchema,
            q: { type: 'string', maxLength: 200 },
          },
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
        params: {
          type: 'object',
          properties: { ...idParams.properties, sku: { type: 'string', minLength: 1 } },
          required: ['id', 'sku'],
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
    { schema: { params: idParams } },
    async (request) => pushStock(store, request.params.id, request.body, 'api'),
  );
};
