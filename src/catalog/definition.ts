import { Ajv, type ErrorObject } from 'ajv';
import cron from 'node-cron';
import { normalizeEncoding } from '../parse/decode.js';
import { redactSource, restoreSource, sourceSchema } from '../sources/source.js';
import { isTimeZone } from '../time/zone.js';
import { DIALECT_NAMES, type ExportDialect } from './dialects/index.js';
import { CANONICAL_FIELDS } from './fields.js';
import type { DecimalSeparator } from './numbers.js';

/** Feed formats a catalog may declare (SPEC §2). */
export const FEED_FORMATS = ['csv', 'tsv', 'xml', 'json', 'ndjson'] as const;
export type FeedFormat = (typeof FEED_FORMATS)[number];

/** A linked feed: its URL and how to authenticate. Secrets come from the environment. */
export interface UrlSource {
  url: string;
  /** Basic auth; the password is read from the named environment variable. */
  auth?: { username: string; passwordEnv: string };
  /** Extra request headers: a literal value, or `{ env }` to read a secret from the environment. */
  headers?: Record<string, string | { env: string }>;
}

/** A feed file on this machine (resolved against the definition file's folder). */
export interface FileSource {
  file: string;
}

/** Where a catalog's feed comes from when no file is uploaded: one of the kinds of `sources/kinds/`. */
export type CatalogSource = FileSource | UrlSource;

export interface CatalogDefinition {
  kind: 'catalog';
  id: string;
  name?: string;
  /** A shop export whose quirks the import knows (detected from the header when left out). */
  preset?: ExportDialect;
  source?: CatalogSource;
  format?: FeedFormat;
  options?: {
    delimiter?: string;
    /** Any encoding name iconv-lite knows (`utf-8`, `windows-1252`, `iso-8859-15`, …). */
    encoding?: string;
    maxRecordSize?: number;
    /** Deepest nesting of an XML or JSON item. */
    maxDepth?: number;
    /** XML: the item element's path (`rss/channel/item`); detected when left out. */
    itemPath?: string;
    /** JSON: the path of the array of items (`data.products`); a top-level array when left out. */
    itemsPath?: string;
    /**
     * XML: namespace prefixes (or URIs) to strip from element names, or `all`. Left out,
     * Google's namespace is stripped (`g:price` is read as `price`); `[]` keeps every name as written.
     */
    stripNamespaces?: 'all' | string[];
    /**
     * The feed's decimal separator: `.` (`1,299.00`) or `,` (`1.299,00`). Left out, it is
     * detected from the feed's numeric columns (prices, stock, weight) once per import.
     */
    decimalSeparator?: DecimalSeparator;
    /**
     * XML: HTML named entities (`&nbsp;`), which XML does not define: `decode` (default, with
     * a warning naming each and its count) or `refuse` (the run is held as not well-formed).
     */
    htmlEntities?: 'decode' | 'refuse';
  };
  /** Canonical field → source column name. */
  mapping?: Partial<Record<(typeof CANONICAL_FIELDS)[number], string>>;
  schedule?: string;
  /** IANA time zone of `schedule` (default UTC). */
  timezone?: string;
  safety?: {
    /** Share of the catalog's products a full import may remove before it is held (default 50). */
    maxDropPercent?: number;
    /** Share of a feed's rows that may be invalid before the import is held (default 20). */
    maxErrorPercent?: number;
  };
  /**
   * How long after a stock movement (an order) the merchant's own feed is trusted to show it
   * (`"30m"`, `"2h"`, `"90s"`; default 30 minutes): a ledger entry counts as reflected once an
   * import fetched at least this long after it has been applied.
   */
  reconcileAfter?: string;
}

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

/** An identifier usable in URLs and file names. */
export const ID_PATTERN = '^[a-z0-9][a-z0-9_-]{0,63}$';

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
