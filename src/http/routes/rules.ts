import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../errors.js';
import { ID_PATTERN } from '../../model/ids.js';
import { formatProblem } from '../../rules/problems.js';
import { explainProduct, previewRules, putRuleSet, restoreRuleSet } from '../../rules/service.js';
import { validateRuleSet } from '../../rules/validate.js';
import { getRuleSet, listRuleSets, listRuleSetVersions } from '../../store/rule-sets.js';
import type { Store } from '../../store/types.js';
import {
  apiErrors,
  apiSecurity,
  documentedBody,
  documentRef,
  explanationSchema,
  idParams,
  idSkuParams,
  previewSchema,
  restoreBody,
  ruleProblemSchema,
  ruleSetSaveSchema,
  ruleSetVersionSchema,
  storedRuleSetSchema,
} from '../schemas.js';

const atSchema = {
  type: 'string',
  format: 'date-time',
  description: 'the instant the rules run at (rule windows); now by default',
} as const;

function parseAt(at: string | undefined): Date {
  return at === undefined ? new Date() : new Date(at);
}

const rules = { tags: ['rules'], security: apiSecurity } as const;

/** Rule sets: versions, validation, explain and preview (SPEC §5). */
export const ruleRoutes: FastifyPluginAsync<{ store: Store }> = async (app, { store }) => {
  app.get(
    '/rules',
    {
      schema: {
        ...rules,
        summary: 'Rule sets in force',
        description: 'Every rule set, by id: its version, author and number of rules.',
        response: {
          200: {
            description: 'the rule sets',
            type: 'object',
            properties: {
              ruleSets: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    version: { type: 'integer' },
                    author: { type: 'string' },
                    updatedAt: { type: 'string', format: 'date-time' },
                    rules: { type: 'integer', description: 'how many rules it has' },
                    description: { type: ['string', 'null'] },
                  },
                  required: ['id', 'version', 'author', 'updatedAt', 'rules', 'description'],
                },
              },
            },
            required: ['ruleSets'],
          },
          ...apiErrors(),
        },
      },
    },
    async () => {
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
    },
  );

  app.get<{ Params: { id: string } }>(
    '/rules/:id',
    {
      schema: {
        ...rules,
        summary: 'One rule set',
        description: 'The version in force, as written.',
        params: idParams,
        response: {
          200: { ...storedRuleSetSchema, description: 'the rule set' },
          ...apiErrors('BAD_REQUEST', 'RULE_SET_NOT_FOUND'),
        },
      },
    },
    async (request) => {
      const ruleSet = await getRuleSet(store, request.params.id);
      if (!ruleSet) throw new AppError('RULE_SET_NOT_FOUND', `no rule set "${request.params.id}"`);
      return ruleSet;
    },
  );

  app.put<{ Params: { id: string } }>(
    '/rules/:id',
    {
      schema: {
        ...rules,
        summary: 'Create or change a rule set',
        description:
          'Validates the rule set (422 `RULE_INVALID` names the JSON path of every problem, also in ' +
          '`details.problems`) and saves it as a new version, with its rule-by-rule diff in history; the ' +
          'same rule set again changes nothing. A faulty one is refused whole: the version in force stays.',
        params: idParams,
        response: {
          200: { ...ruleSetSaveSchema, description: 'updated, or unchanged' },
          201: { ...ruleSetSaveSchema, description: 'created' },
          ...apiErrors('BAD_REQUEST', 'RULE_INVALID'),
        },
      },
      config: documentedBody({
        ...documentRef('RuleSet'),
        description: 'the rule set; its id must be the one in the URL',
      }),
    },
    async (request, reply) => {
      const author = request.actor;
      const result = await store.transaction((tx) =>
        putRuleSet(tx, request.body, author, { expectedId: request.params.id }),
      );
      return reply.status(result.outcome === 'created' ? 201 : 200).send(result);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/rules/:id/versions',
    {
      schema: {
        ...rules,
        summary: 'Versions of a rule set',
        description: 'Every accepted version, newest first.',
        params: idParams,
        response: {
          200: {
            description: 'the versions, newest first',
            type: 'object',
            properties: { versions: { type: 'array', items: ruleSetVersionSchema } },
            required: ['versions'],
          },
          ...apiErrors('BAD_REQUEST', 'RULE_SET_NOT_FOUND'),
        },
      },
    },
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
        ...rules,
        summary: 'Bring an old version of a rule set back',
        description: 'Saves an older version as a new version (history keeps both).',
        params: idParams,
        body: restoreBody,
        response: {
          200: { ...ruleSetSaveSchema, description: 'the new version' },
          ...apiErrors('BAD_REQUEST', 'RULE_SET_NOT_FOUND', 'RULE_INVALID'),
        },
      },
    },
    async (request) => restoreRuleSet(store, request.params.id, request.body.version, request.actor),
  );

  app.post(
    '/rules/validate',
    {
      schema: {
        ...rules,
        summary: 'Validate a rule set',
        description:
          'Checks a rule set without saving it: every problem with its JSON path. A faulty rule set is ' +
          'an answer here (`valid: false`), not an error.',
        response: {
          200: {
            description: 'whether it is valid, and its problems',
            type: 'object',
            properties: { valid: { type: 'boolean' }, problems: { type: 'array', items: ruleProblemSchema } },
            required: ['valid', 'problems'],
          },
          ...apiErrors('BAD_REQUEST'),
        },
      },
      config: documentedBody({ ...documentRef('RuleSet'), description: 'the rule set to check' }),
    },
    async (request) => {
      const problems = validateRuleSet(request.body);
      return {
        valid: problems.length === 0,
        problems: problems.map((p) => ({ ...p, text: formatProblem(p) })),
      };
    },
  );

  app.post<{
    Body: { catalog?: string; ruleSetId?: string; ruleSet?: unknown; at?: string; samples?: number };
  }>(
    '/rules/preview',
    {
      schema: {
        ...rules,
        summary: 'Preview rules over a catalog',
        description:
          'Runs a stored rule set (`ruleSetId`) or one sent as JSON (`ruleSet`, not saved) over a whole ' +
          'catalog: per-rule counts and a few samples, before and after. Changes nothing.',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            catalog: {
              type: 'string',
              pattern: ID_PATTERN,
              description: 'the catalog; may be left out when there is only one',
            },
            ruleSetId: { type: 'string', pattern: ID_PATTERN, description: 'a stored rule set' },
            ruleSet: { type: 'object', description: 'a rule set sent as JSON (see RuleSet), not saved' },
            at: atSchema,
            samples: { type: 'integer', minimum: 0, maximum: 50, description: 'samples per rule (3)' },
          },
          oneOf: [{ required: ['ruleSetId'] }, { required: ['ruleSet'] }],
        },
        response: {
          200: { ...previewSchema, description: 'the preview' },
          ...apiErrors('BAD_REQUEST', 'CATALOG_NOT_FOUND', 'RULE_SET_NOT_FOUND', 'RULE_INVALID'),
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
        ...rules,
        summary: 'Explain one rule set for one product',
        description:
          'The trace of one product through one rule set: every rule, whether its window was open, which ' +
          'conditions held or failed with their values, and each action before and after.',
        params: idSkuParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            catalog: {
              type: 'string',
              pattern: ID_PATTERN,
              description: 'the catalog; may be left out when there is only one',
            },
            at: atSchema,
          },
        },
        response: {
          200: { ...explanationSchema, description: 'the trace' },
          ...apiErrors('BAD_REQUEST', 'CATALOG_NOT_FOUND', 'PRODUCT_NOT_FOUND', 'RULE_SET_NOT_FOUND'),
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
