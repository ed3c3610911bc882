import type { FastifyPluginAsync } from 'fastify';
import { ID_PATTERN } from '../../catalog/definition.js';
import { AppError } from '../../errors.js';
import { formatProblem } from '../../rules/problems.js';
import { explainProduct, previewRules, putRuleSet, restoreRuleSet } from '../../rules/service.js';
import { validateRuleSet } from '../../rules/validate.js';
import { getRuleSet, listRuleSets, listRuleSetVersions } from '../../store/rule-sets.js';
import type { Store } from '../../store/types.js';

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', pattern: ID_PATTERN } },
  required: ['id'],
} as const;

const atSchema = { type: 'string', format: 'date-time' } as const;

function parseAt(at: string | undefined): Date {
  return at === undefined ? new Date() : new Date(at);
}

/** Rule sets: versions, validation, explain and preview (SPEC §5). */
export const ruleRoutes: FastifyPluginAsync<{ store: Store }> = async (app, { store }) => {
  app.get('/rules', async () => {
    const ruleSets = await listRuleSets(store);
    return {
      ruleSets: ruleSets.map((r) => ({
        id: r.id,
        version: r.version,
        author: r.author,
        updatedAt: r.updatedAt,
        rules: Array.isArray(r.definition.rules) ? r.definition.rules.length : 0,
        description: typeof r.definition.description === 'string' ? r.definition.description : null,
      })),
    };
  });

  app.get<{ Params: { id: string } }>('/rules/:id', { schema: { params: idParams } }, async (request) => {
    const ruleSet = await getRuleSet(store, request.params.id);
    if (!ruleSet) throw new AppError('RULE_SET_NOT_FOUND', `no rule set "${request.params.id}"`);
    return ruleSet;
  });

  app.put<{ Params: { id: string } }>(
    '/rules/:id',
    { schema: { params: idParams } },
    async (request, reply) => {
      const author = 'api';
      const result = await store.transaction((tx) =>
        putRuleSet(tx, request.body, author, { expectedId: request.params.id }),
      );
      return reply.status(result.outcome === 'created' ? 201 : 200).send(result);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/rules/:id/versions',
    { schema: { params: idParams } },
    async (request) => {
      const versions = await listRuleSetVersions(store, request.params.id);
      if (versions.length === 0)
        throw new AppError('RULE_SET_NOT_FOUND', `no rule set "${request.params.id}"`);
      return { versions };
    },
  );

  app.post<{ Params: { id: string }; Body: { version: number } }>(
    '/rules/:id/restore',
    {
      schema: {
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['version'],
          properties: { version: { type: 'integer', minimum: 1 } },
        },
      },
    },
    async (request) => restoreRuleSet(store, request.params.id, request.body.version, 'api'),
  );

  app.post('/rules/validate', async (request) => {
    const problems = validateRuleSet(request.body);
    return {
      valid: problems.length === 0,
      problems: problems.map((p) => ({ ...p, text: formatProblem(p) })),
    };
  });

  app.post<{
    Body: { catalog?: string; ruleSetId?: string; ruleSet?: unknown; at?: string; samples?: number };
  }>(
    '/rules/preview',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            catalog: { type: 'string', pattern: ID_PATTERN },
            ruleSetId: { type: 'string', pattern: ID_PATTERN },
            ruleSet: { type: 'object' },
            at: atSchema,
            samples: { type: 'integer', minimum: 0, maximum: 50 },
          },
          oneOf: [{ required: ['ruleSetId'] }, { required: ['ruleSet'] }],
        },
      },
    },
    async (request) => {
      const b = request.body;
      return previewRules(store, {
        rules: b.ruleSet !== undefined ? { ruleSet: b.ruleSet } : { ids: [b.ruleSetId as string] },
        catalogId: b.catalog,
        at: parseAt(b.at),
        samples: b.samples,
      });
    },
  );

  app.get<{ Params: { id: string; sku: string }; Querystring: { catalog?: string; at?: string } }>(
    '/rules/:id/explain/:sku',
    {
      schema: {
        params: {
          type: 'object',
          properties: { id: { type: 'string', pattern: ID_PATTERN }, sku: { type: 'string', minLength: 1 } },
          required: ['id', 'sku'],
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { catalog: { type: 'string', pattern: ID_PATTERN }, at: atSchema },
        },
      },
    },
    async (request) =>
      explainProduct(store, {
        rules: { ids: [request.params.id] },
        catalogId: request.query.catalog,
        sku: request.params.sku,
        at: parseAt(request.query.at),
      }),
  );
};
