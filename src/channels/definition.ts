import { Ajv } from 'ajv';
import { type DefinitionProblem, schemaProblems } from '../catalog/definition.js';
import { CHANNEL_FORMATS, type ChannelDefinition } from '../model/channel.js';
import { ID_PATTERN } from '../model/ids.js';
import { checkChannelFields } from './mapping.js';
import { channelFormat, templateFormats } from './output.js';
import { CHANNEL_TEMPLATE_NAMES } from './templates/index.js';

/** The JSON Schema of a channel definition; also the API's input schema. */
export const channelDefinitionSchema = {
  $id: 'feedwright/channel-definition',
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'id', 'catalog'],
  properties: {
    kind: { const: 'channel' },
    id: { type: 'string', pattern: ID_PATTERN },
    name: { type: 'string', maxLength: 200 },
    catalog: { type: 'string', pattern: ID_PATTERN },
    format: { enum: [...CHANNEL_FORMATS] },
    preset: { enum: [...CHANNEL_TEMPLATE_NAMES] },
    rules: { type: 'array', maxItems: 50, items: { type: 'string', pattern: ID_PATTERN } },
    fields: {
      type: 'object',
      maxProperties: 500,
      propertyNames: { minLength: 1, maxLength: 200 },
      additionalProperties: {
        oneOf: [
          { type: 'string', minLength: 1, maxLength: 2000 },
          {
            type: 'object',
            additionalProperties: false,
            required: ['const'],
            properties: {
              const: {
                anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }, { type: 'null' }],
              },
            },
          },
          { type: 'null' },
        ],
      },
    },
    enabled: { type: 'boolean' },
    options: {
      type: 'object',
      additionalProperties: false,
      properties: {
        skipUnpaidOrders: { type: 'boolean' },
        neutralizeFormulas: { type: 'boolean' },
        delimiter: { type: 'string', minLength: 1, maxLength: 1 },
        currency: { type: 'string', pattern: '^[A-Z]{3}$' },
        title: { type: 'string', maxLength: 500 },
        link: { type: 'string', maxLength: 2000 },
        description: { type: 'string', maxLength: 5000 },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true });
const validateSchema = ajv.compile(channelDefinitionSchema);

/**
 * Checks a value against the channel schema and what the schema cannot say (a template's
 * format, the delimiter, output names the format can write). Whether the catalog and rule
 * sets exist is the store's check, at save time. Returns every problem, none if valid.
 */
export function validateChannelDefinition(value: unknown, file?: string): DefinitionProblem[] {
  if (!validateSchema(value)) {
    return schemaProblems(validateSchema.errors, file).map((p) =>
      p.message.startsWith('must be a string or')
        ? { ...p, message: 'must be a field name, a "{{template}}", { "const": … } or null' }
        : p,
    );
  }
  const def = value as ChannelDefinition;
  const problems: DefinitionProblem[] = [];
  const format = channelFormat(def);
  if (def.preset && !templateFormats(def.preset).includes(format)) {
    problems.push({
      file,
      path: '$.format',
      message: `the ${def.preset} preset writes ${templateFormats(def.preset).join(' or ')}, not ${format}`,
    });
  }
  if (def.options?.delimiter !== undefined) {
    if (format !== 'csv') {
      problems.push({ file, path: '$.options.delimiter', message: `only a csv feed has a delimiter` });
    } else if (/["\r\n']/.test(def.options.delimiter)) {
      problems.push({
        file,
        path: '$.options.delimiter',
        message: 'a delimiter cannot be a quote or a line break',
      });
    }
  }
  const seen = new Set<string>();
  for (const [i, id] of (def.rules ?? []).entries()) {
    if (seen.has(id))
      problems.push({ file, path: `$.rules[${i}]`, message: `rule set "${id}" is listed twice` });
    seen.add(id);
  }
  for (const p of checkChannelFields(def)) problems.push({ file, ...p });
  return problems;
}
