import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../errors.js';
import { ID_PATTERN } from '../../model/ids.js';
import { ruleVocabulary } from '../../rules/vocabulary.js';
import { diffRuleSets, listRuleSetVersions } from '../../store/rule-sets.js';
import type { Store } from '../../store/types.js';
import { apiErrors, apiSecurity } from '../schemas.js';

const text = { type: 'string' } as const;
const strings = { type: 'array', items: text } as const;
const beforeAfter = {
  type: 'object',
  properties: { before: {}, after: {} },
  required: ['before', 'after'],
} as const;

const vocabularySchema = {
  type: 'object',
  description: 'What rule sets can use, read from the engine and its action registry (as rules/schema.json).',
  properties: {
    operators: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: text,
          origin: { type: 'string', enum: ['json-rules-engine', 'feedwright'] },
          value: {
            type: 'string',
            enum: ['primitive', 'number', 'list', 'string', 'pattern', 'none'],
            description: 'what the condition value must be',
          },
          description: text,
        },
        required: ['name', 'origin', 'value', 'description'],
      },
    },
    decorators: {
      type: 'array',
      items: {
        type: 'object',
        properties: { name: text, description: text },
        required: ['name', 'description'],
      },
    },
    actions: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: text,
          description: text,
          numeric: { type: 'boolean', description: 'whether it works on a numeric field' },
          properties: {
            type: 'array',
            items: {
              type: 'object',
              properties: { name: text, required: { type: 'boolean' }, description: text },
              required: ['name', 'required', 'description'],
            },
          },
          example: { type: 'object', additionalProperties: true, description: 'a valid action' },
        },
        required: ['name', 'description', 'numeric', 'properties', 'example'],
      },
    },
    facts: {
      type: 'array',
      items: {
        type: 'object',
        properties: { name: text, type: text, numeric: { type: 'boolean' } },
        required: ['name', 'type', 'numeric'],
      },
    },
    limits: {
      type: 'object',
      additionalProperties: { type: 'integer' },
      description: 'per rule set: rules, conditions, depth, actions per rule, list items, pattern length',
    },
  },
  required: ['operators', 'decorators', 'actions', 'facts', 'limits'],
} as const;

const diffAnswerSchema = {
  type: 'object',
  properties: {
    ruleSet: text,
    version: { type: 'integer' },
    against: { type: ['integer', 'null'], description: 'the version compared with; null for the first' },
    diff: {
      type: 'object',
      properties: {
        added: strings,
        removed: strings,
        changed: {
          type: 'array',
          items: {
            type: 'object',
            properties: { rule: text, ...beforeAfter.properties },
            required: ['rule', 'before', 'after'],
          },
        },
        reordered: { type: 'boolean' },
        properties: {
          type: 'object',
          additionalProperties: beforeAfter,
          description: 'top-level properties other than rules that changed',
        },
      },
      required: ['added', 'removed', 'changed', 'reordered', 'properties'],
    },
  },
  required: ['ruleSet', 'version', 'against', 'diff'],
} as const;

/**
 * What the rule editor needs beside the rule set routes: the engine's vocabulary (for the
 * help) and the rule-by-rule difference between two versions of a rule set.
 */
export const ruleReferenceRoutes: FastifyPluginAsync<{ store: Store }> = async (app, { store }) => {
  app.get(
    '/rule-engine',
    {
      schema: {
        tags: ['rules'],
        security: apiSecurity,
        summary: 'What rule sets can use',
        description:
          'The operators and decorators conditions can use, the actions rules can take (with the schema’s ' +
          'descriptions and an example each), the facts known by name and the size limits.',
        response: { 200: vocabularySchema, ...apiErrors() },
      },
    },
    async () => ruleVocabulary(),
  );

  app.get<{ Params: { id: string; version: number }; Querystring: { against?: number } }>(
    '/rules/:id/versions/:version/diff',
    {
      schema: {
        tags: ['rules'],
        security: apiSecurity,
        summary: 'What a version of a rule set changed',
        description:
          'Rule by rule (added, removed, changed, reordered) and the other properties, between a version and ' +
          'the one before it, or the version named by `against`. The first version is compared with nothing.',
        params: {
          type: 'object',
          properties: {
            id: { type: 'string', pattern: ID_PATTERN },
            version: { type: 'integer', minimum: 1 },
          },
          required: ['id', 'version'],
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            against: { type: 'integer', minimum: 1, description: 'compare with this version instead' },
          },
        },
        response: { 200: diffAnswerSchema, ...apiErrors('BAD_REQUEST', 'RULE_SET_NOT_FOUND') },
      },
    },
    async (request) => {
      const { id, version } = request.params;
      const versions = await listRuleSetVersions(store, id);
      const find = (v: number) => versions.find((x) => x.version === v);
      const after = find(version);
      if (!after) throw new AppError('RULE_SET_NOT_FOUND', `rule set "${id}" has no version ${version}`);
      const againstVersion = request.query.against ?? (version > 1 ? version - 1 : null);
      const before = againstVersion === null ? undefined : find(againstVersion);
      if (againstVersion !== null && !before) {
        throw new AppError('RULE_SET_NOT_FOUND', `rule set "${id}" has no version ${againstVersion}`);
      }
      return {
        ruleSet: id,
        version,
        against: againstVersion,
        diff: diffRuleSets(before?.definition, after.definition),
      };
    },
  );
};
