import { Ajv, type ErrorObject } from 'ajv';
import cron from 'node-cron';
import { type CatalogDefinition, FEED_FORMATS } from '../model/catalog.js';
import { CANONICAL_FIELDS } from '../model/fields.js';
import { ID_PATTERN } from '../model/ids.js';
import { normalizeEncoding } from '../parse/decode.js';
import { redactSource, restoreSource, sourceSchema } from '../sources/source.js';
import { isTimeZone } from '../time/zone.js';
import { DIALECT_NAMES } from './dialects/index.js';

/**
 * A definition as the API and the dashboard show it: its source's credentials and secrets
 * masked (a linked URL's user, password and query values; literal header values). History
 * records the same (redact_catalog_definition, migration 000017).
 */
export function redactDefinition(def: CatalogDefinition): CatalogDefinition {
  return def.source ? { ...def, source: redactSource(def.source) } : def;
}

/**
 * A definition a client sends back after reading it redacted (a dashboard form): where it
 * kept a masked part of its source, the stored secret is kept.
 */
export function restoreRedacted(
  def: CatalogDefinition,
  stored: CatalogDefinition | undefined,
): CatalogDefinition {
  return def.source ? { ...def, source: restoreSource(def.source, stored?.source) } : def;
}

/** Default of `reconcileAfter`. */
export const DEFAULT_RECONCILE_AFTER_MS = 30 * 60_000;

/** `reconcileAfter` in milliseconds (`"90s"`, `"30m"`, `"2h"`). */
export function reconcileAfterMs(def: Pick<CatalogDefinition, 'reconcileAfter'>): number {
  const m = /^(\d+)(s|m|h)$/.exec(def.reconcileAfter ?? '');
  if (!m) return DEFAULT_RECONCILE_AFTER_MS;
  return Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 3_600_000);
}

/** Default share of products an import may remove before it is held. */
export const DEFAULT_MAX_DROP_PERCENT = 50;

/** Default share of a feed's rows that may be invalid before the import is held. */
export const DEFAULT_MAX_ERROR_PERCENT = 20;

/** The JSON Schema of a catalog definition; also the API's input schema. */
export const catalogDefinitionSchema = {
  $id: 'feedwright/catalog-definition',
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'id'],
  properties: {
    kind: { const: 'catalog' },
    id: { type: 'string', pattern: ID_PATTERN },
    name: { type: 'string', maxLength: 200 },
    // Each kind's schema, chosen by its key: errors come from the one kind the author
    // meant, instead of every branch of a oneOf.
    source: sourceSchema(),
    format: { enum: [...FEED_FORMATS] },
    preset: { enum: [...DIALECT_NAMES] },
    options: {
      type: 'object',
      additionalProperties: false,
      properties: {
        delimiter: { type: 'string', minLength: 1, maxLength: 4 },
        encoding: { type: 'string', minLength: 1, maxLength: 40 },
        maxRecordSize: { type: 'integer', minimum: 1024, maximum: 64 * 1024 * 1024 },
        maxDepth: { type: 'integer', minimum: 2, maximum: 256 },
        itemPath: { type: 'string', minLength: 1, maxLength: 200 },
        itemsPath: { type: 'string', maxLength: 200 },
        stripNamespaces: {
          anyOf: [{ const: 'all' }, { type: 'array', items: { type: 'string', minLength: 1 } }],
        },
        decimalSeparator: { enum: ['.', ','] },
        htmlEntities: { enum: ['decode', 'refuse'] },
      },
    },
    mapping: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(CANONICAL_FIELDS.map((f) => [f, { type: 'string', minLength: 1 }])),
    },
    schedule: { type: 'string' },
    timezone: { type: 'string', minLength: 1, maxLength: 64 },
    reconcileAfter: { type: 'string', pattern: '^\\d{1,6}(s|m|h)$' },
    safety: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxDropPercent: { type: 'number', minimum: 0, maximum: 100 },
        maxErrorPercent: { type: 'number', minimum: 0, maximum: 100 },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true });
const validateSchema = ajv.compile(catalogDefinitionSchema);

/** One fault in a definition: where it is (file, JSON path) and what is wrong. */
export interface DefinitionProblem {
  file: string | undefined;
  path: string;
  message: string;
}

/** Formats a problem as one line: `feeds/acme.json: $.mapping.sku: must be string`. */
export function formatProblem(p: DefinitionProblem): string {
  return `${p.file ? `${p.file}: ` : ''}${p.path}: ${p.message}`;
}

/**
 * Checks a value against the catalog schema and the rules the schema cannot say
 * (a valid cron expression). Returns every problem found, none if it is valid.
 */
export function validateCatalogDefinition(value: unknown, file?: string): DefinitionProblem[] {
  if (!validateSchema(value)) return schemaProblems(validateSchema.errors, file);
  const def = value as CatalogDefinition;
  const problems: DefinitionProblem[] = [];
  if (def.options?.encoding !== undefined && !knownEncoding(def.options.encoding)) {
    problems.push({
      file,
      path: '$.options.encoding',
      message: `"${def.options.encoding}" is not an encoding this server knows`,
    });
  }
  if (def.preset && def.format && def.format !== 'csv' && def.format !== 'tsv') {
    problems.push({ file, path: '$.preset', message: `a preset reads CSV exports, not ${def.format}` });
  }
  if (def.timezone !== undefined && !isTimeZone(def.timezone)) {
    problems.push({
      file,
      path: '$.timezone',
      message: `"${def.timezone}" is not an IANA time zone (Europe/Paris, UTC…)`,
    });
  }
  if (def.schedule !== undefined && !cron.validate(def.schedule)) {
    problems.push({ file, path: '$.schedule', message: `"${def.schedule}" is not a valid cron expression` });
  }
  if (def.format === 'csv' && def.options?.delimiter && /["\r\n]/.test(def.options.delimiter)) {
    problems.push({
      file,
      path: '$.options.delimiter',
      message: 'a delimiter cannot be a quote or a line break',
    });
  }
  return problems;
}

/** Ajv's errors as problems at JSON paths, one per path, in words a person reads. */
export function schemaProblems(
  errors: ErrorObject[] | null | undefined,
  file: string | undefined,
): DefinitionProblem[] {
  const relevant = (errors ?? []).filter((e) => e.keyword !== 'if');
  return dedupe(relevant.map((e) => ({ file, path: schemaErrorPath(e), message: describe(e) })));
}

/**
 * The JSON path an ajv error points at (`$.lines[0].quantity`), with the missing or unknown
 * property named for `required` and `additionalProperties`.
 */
export function schemaErrorPath(e: ErrorObject): string {
  const parts = e.instancePath.split('/').slice(1);
  if (e.keyword === 'additionalProperties') parts.push(String(e.params.additionalProperty));
  if (e.keyword === 'required') parts.push(String(e.params.missingProperty));
  return `$${parts.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p.replace(/~1/g, '/').replace(/~0/g, '~')}`)).join('')}`;
}

function describe(e: ErrorObject): string {
  switch (e.keyword) {
    case 'additionalProperties':
      return 'is not a known property';
    case 'required':
      return 'is required';
    case 'enum':
      return `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(e.params.allowedValue)}`;
    case 'pattern':
      return e.instancePath.endsWith('/id')
        ? 'must be lowercase letters, digits, - or _, starting with a letter or digit, at most 64 characters'
        : e.instancePath.endsWith('/username')
          ? 'must not contain ":"'
          : e.instancePath.endsWith('Env') || e.instancePath.endsWith('/env')
            ? 'must be an environment variable name'
            : e.instancePath.endsWith('/url')
              ? 'must be an http:// or https:// URL'
              : e.instancePath.endsWith('/reconcileAfter')
                ? 'must be a duration such as "90s", "30m" or "2h"'
                : `must match ${String(e.params.pattern)}`;
    case 'oneOf':
      return 'must be a string or { "env": "VARIABLE" }';
    default:
      return e.message ?? 'is invalid';
  }
}

function dedupe(problems: DefinitionProblem[]): DefinitionProblem[] {
  // oneOf reports the failures of each of its branches too: keep the oneOf's own message
  // at a path, and drop the branch failures beneath it.
  const byPath = new Map<string, DefinitionProblem>();
  for (const p of problems) {
    const seen = byPath.get(p.path);
    if (!seen || p.message.startsWith('must be a string or')) byPath.set(p.path, p);
  }
  const out = [...byPath.values()];
  const oneOfPaths = out.filter((p) => p.message.startsWith('must be a string or')).map((p) => p.path);
  return out.filter((p) => !oneOfPaths.some((o) => p.path !== o && p.path.startsWith(`${o}.`)));
}

function knownEncoding(name: string): boolean {
  try {
    normalizeEncoding(name);
    return true;
  } catch {
    return false;
  }
}
