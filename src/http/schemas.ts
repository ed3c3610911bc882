/**
 * JSON schemas shared by the routes: what the API answers, the error responses, and the
 * request bodies the OpenAPI document shows.
 *
 * Response schemas also drive serialisation (fast-json-stringify), which silently drops
 * any property a schema does not declare and coerces values to the declared type (null to
 * "" or 0). So every response schema lists every property its handler sends, with `null`
 * in its type where the value can be null; objects whose keys are the user's (product
 * fields, definitions as written, history data, rule traces) say `additionalProperties: true`.
 */
import type { SwaggerTransform } from '@fastify/swagger';
import { catalogDefinitionSchema } from '../catalog/definition.js';
import { channelDefinitionSchema } from '../channels/definition.js';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import { RULE_SET_SCHEMA } from '../rules/schema.js';
import { orderReportSchema } from '../stock/orders.js';
import { stockPushSchema } from '../stock/stock-push.js';
import { errorSchema } from './errors.js';

// ---------------------------------------------------------------------------------------------
// Building blocks

/** The name of the OpenAPI security scheme of `/api`: `Authorization: Bearer <FEEDWRIGHT_API_KEY>`. */
export const BEARER_SCHEME = 'bearerAuth';

/** The security requirement every `/api` operation declares. */
export const apiSecurity = [{ [BEARER_SCHEME]: [] }] as const;

const dateTime = { type: 'string', format: 'date-time' } as const;
/** Nullable scalars, shared by the routes' schemas. */
export const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const;
export const nullableString = { type: ['string', 'null'] } as const;
export const nullableInteger = { type: ['integer', 'null'] } as const;
const stringList = { type: 'array', items: { type: 'string' } } as const;

/** An object whose keys are not ours (product fields, a definition as written): sent as it is. */
function openObject(description: string) {
  return { type: 'object', additionalProperties: true, description } as const;
}

/** Any JSON value, sent as it is. */
function anyValue(description: string) {
  return { description } as const;
}

/** An object schema whose every property is required (the handler always sends them all). */
function record<P extends Record<string, object>>(properties: P, description?: string) {
  return {
    type: 'object',
    ...(description ? { description } : {}),
    properties,
    required: Object.keys(properties) as Array<keyof P & string>,
  } as const;
}

// ---------------------------------------------------------------------------------------------
// Errors

/** The error body as a response, described by the codes it may carry. */
export interface ErrorResponseSchema {
  type: 'object';
  description: string;
  properties: (typeof errorSchema)['properties'];
  required: (typeof errorSchema)['required'];
}

/**
 * The error responses of a route: one per HTTP status of the given codes, each described by
 * its codes and what they mean (from the registry in src/errors.ts).
 */
export function errorResponses(codes: readonly ErrorCode[]): Record<number, ErrorResponseSchema> {
  const out: Record<number, ErrorResponseSchema> = {};
  for (const code of new Set(codes)) {
    const { status, doc } = ERROR_CODES[code];
    const line = `\`${code}\`: ${doc}`;
    const before = out[status]?.description;
    out[status] = { ...errorSchema, description: before ? `${before}\n\n${line}` : line };
  }
  return out;
}

/** The error responses of an `/api` route: the given codes, a wrong key and an unexpected error. */
export function apiErrors(...codes: ErrorCode[]): Record<number, ErrorResponseSchema> {
  return errorResponses(['UNAUTHORIZED', ...codes, 'RATE_LIMITED', 'INTERNAL']);
}

/** The error answers of /metrics: like /api's, but never rate limited. */
export function keyOnlyErrors(...codes: ErrorCode[]): Record<number, ErrorResponseSchema> {
  return errorResponses(['UNAUTHORIZED', ...codes, 'INTERNAL']);
}

// ---------------------------------------------------------------------------------------------
// Parameters

/** The id pattern of catalogs, channels and rule sets (ID_PATTERN). */
const idProperty = { type: 'string', pattern: catalogDefinitionSchema.properties.id.pattern } as const;

/** Path parameters `{id}` of a catalog, channel or rule set. */
export const idParams = {
  type: 'object',
  properties: { id: idProperty },
  required: ['id'],
} as const;

/** Path parameters `{id}` and `{sku}`. */
export const idSkuParams = {
  type: 'object',
  properties: { id: idProperty, sku: { type: 'string', minLength: 1 } },
  required: ['id', 'sku'],
} as const;

/** Body `{ "version": N }` of the restore routes. */
export const restoreBody = {
  type: 'object',
  additionalProperties: false,
  required: ['version'],
  properties: { version: { type: 'integer', minimum: 1, description: 'the version to bring back' } },
} as const;

// ---------------------------------------------------------------------------------------------
// Catalogs, imports, products, stock

/** Why a run was held. */
const heldReasonSchema = record({
  code: {
    type: 'string',
    enum: [
      'no_valid_rows',
      'missing_columns',
      'too_many_removed',
      'too_many_errors',
      'fetch_failed',
      'parse_failed',
    ],
  },
  message: { type: 'string' },
});

/** An import run as the API shows it (store/imports.ts `ImportRun`). */
export const importRunSchema = record(
  {
    id: { type: 'integer' },
    catalog: { type: 'string' },
    status: { type: 'string', enum: ['running', 'applied', 'held', 'failed', 'not_modified'] },
    mode: { type: 'string', enum: ['full', 'partial'] },
    forced: { type: 'boolean' },
    source: { type: 'string', description: 'what was imported: "upload", a file or a URL' },
    actor: { type: 'string' },
    startedAt: dateTime,
    fetchedAt: nullableDateTime,
    finishedAt: nullableDateTime,
    durationMs: nullableInteger,
    counts: record({
      rows: { type: 'integer' },
      valid: { type: 'integer' },
      created: { type: 'integer' },
      updated: { type: 'integer' },
      unchanged: { type: 'integer' },
      removed: { type: 'integer' },
      errors: { type: 'integer' },
      skipped: { type: 'integer', description: 'rows that are not products (a Shopify image row)' },
      warnings: { type: 'integer' },
      kept: {
        type: 'integer',
        description:
          'products whose row was invalid: they keep their last imported version (their rows are among the errors)',
      },
    }),
    heldReasons: { type: 'array', items: heldReasonSchema },
    failure: nullableString,
    applicable: { type: 'boolean', description: 'a held run that still has its staged rows' },
    numberFormat: {
      description: "how the feed's numbers were read; null before a run read any",
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          required: ['decimalSeparator', 'source'],
          properties: {
            decimalSeparator: { type: 'string', enum: ['.', ','] },
            source: {
              type: 'string',
              enum: ['option', 'detected', 'default'],
              description:
                'given by the catalog, detected from the feed, or the default for want of evidence',
            },
            evidence: {
              type: 'object',
              additionalProperties: false,
              required: ['point', 'comma'],
              properties: {
                point: { type: 'integer', description: 'values that read only with a decimal point' },
                comma: { type: 'integer', description: 'values that read only with a decimal comma' },
                example: { type: 'string' },
              },
            },
          },
        },
      ],
    },
  },
  'An import run: its status, counts and why it was held or failed.',
);

/** `{ run }`: the answer of the routes that start or apply an import. */
export const runAnswerSchema = record({ run: importRunSchema });

/** A row error or warning of an import run. */
export const rowNoteSchema = record({
  line: { type: 'integer' },
  sku: nullableString,
  code: { type: 'string' },
  message: { type: 'string' },
});

/** A catalog definition as stored, with its version. */
export const storedCatalogSchema = record(
  {
    id: { type: 'string' },
    definition: openObject('the catalog definition as written (see CatalogDefinition)'),
    version: { type: 'integer' },
    origin: { type: 'string', description: 'who saved it: "api" or the definition file' },
    createdAt: dateTime,
    updatedAt: dateTime,
  },
  'A catalog definition and its version.',
);

/** A catalog with its last import run (null before the first). */
export const catalogWithLastImportSchema = record({
  ...storedCatalogSchema.properties,
  lastImport: { ...importRunSchema, type: ['object', 'null'] },
});

/** A product as stored. */
export const productSchema = record(
  {
    sku: { type: 'string' },
    fields: openObject('the canonical fields (title, price, quantity…)'),
    attributes: openObject('the other source columns, by their source names'),
    createdAt: dateTime,
    updatedAt: dateTime,
    lastRun: { ...nullableInteger, description: 'the import run that last changed it' },
  },
  'A product: canonical fields and the other source columns.',
);

/** One stock movement of the ledger. */
export const ledgerEntrySchema = record({
  id: { type: 'integer' },
  sku: { type: 'string' },
  delta: { type: 'integer' },
  cause: { type: 'string', enum: ['order', 'cancellation', 'refund', 'adjustment'] },
  channelId: nullableString,
  orderId: nullableString,
  at: dateTime,
  reflectedByRun: nullableInteger,
});

/** A product's stock: imported, pending movements, effective. */
export const productStockSchema = record(
  {
    managed: { type: 'boolean', description: 'false when the product has no quantity' },
    imported: nullableInteger,
    pending: { type: 'array', items: ledgerEntrySchema, description: 'newest first, at most 200' },
    effective: { ...nullableInteger, description: 'imported + pending, floored at 0' },
    oversold: { type: 'integer' },
  },
  "The product's stock as rules and feeds see it.",
);

/** What a stock push did. */
export const stockPushResultSchema = record({
  adjusted: {
    type: 'array',
    items: record({ sku: { type: 'string' }, quantity: { type: 'integer' }, delta: { type: 'integer' } }),
  },
  unchanged: stringList,
  unknown: { ...stringList, description: 'not products of the catalog' },
  notManaged: { ...stringList, description: 'products whose stock is not managed' },
});

// ---------------------------------------------------------------------------------------------
// History

/** One event of the history. */
export const historyEventSchema = record({
  id: { type: 'integer' },
  at: dateTime,
  type: { type: 'string', description: 'e.g. import.applied, product.updated, publication.published' },
  catalog: nullableString,
  channel: nullableString,
  sku: nullableString,
  run: nullableInteger,
  actor: nullableString,
  data: openObject('what happened: counts, the diff of a change…'),
});

/** A page of history, newest first. */
export const historyPageSchema = record({
  events: { type: 'array', items: historyEventSchema },
  next: { ...nullableInteger, description: 'pass as `before` for the next page; null at the end' },
});

// ---------------------------------------------------------------------------------------------
// Rules

/** A rule set in force. */
export const storedRuleSetSchema = record({
  id: { type: 'string' },
  version: { type: 'integer' },
  definition: openObject('the rule set as written (see RuleSet)'),
  author: { type: 'string' },
  updatedAt: dateTime,
});

/** One accepted version of a rule set. */
export const ruleSetVersionSchema = record({
  version: { type: 'integer' },
  definition: openObject('the rule set as written (see RuleSet)'),
  author: { type: 'string' },
  restoredFrom: nullableInteger,
  createdAt: dateTime,
});

const beforeAfter = record({ before: anyValue('the value before'), after: anyValue('the value after') });

/** What saving a rule set did, rule by rule (null when nothing changed). */
const ruleSetDiffSchema = {
  ...record({
    added: stringList,
    removed: stringList,
    changed: {
      type: 'array',
      items: record({ rule: { type: 'string' }, ...beforeAfter.properties }),
    },
    reordered: { type: 'boolean' },
    properties: {
      type: 'object',
      additionalProperties: beforeAfter,
      description: 'top-level properties other than rules that changed',
    },
  }),
  type: ['object', 'null'],
} as const;

/** What PUT and restore of a rule set did. */
export const ruleSetSaveSchema = record({
  outcome: { type: 'string', enum: ['created', 'updated', 'unchanged'] },
  ruleSet: storedRuleSetSchema,
  diff: ruleSetDiffSchema,
});

/** A problem of a rule set, with its JSON path. */
export const ruleProblemSchema = {
  type: 'object',
  properties: {
    file: { type: 'string' },
    path: { type: 'string', description: 'JSON path of the fault, `$.rules[2].then[0].rounding`' },
    message: { type: 'string' },
    text: { type: 'string', description: 'the problem as one line' },
  },
  required: ['path', 'message', 'text'],
} as const;

/** Why a product is out of the feed. */
const exclusionSchema = record({
  ruleSet: nullableString,
  rule: nullableString,
  reason: { type: 'string' },
});

/** One rule of an explain trace; its condition and action traces are sent as they are. */
const ruleTraceSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    ruleSet: { type: 'string' },
    rule: { type: 'string' },
    description: { type: 'string' },
    path: { type: 'string' },
    window: openObject('start, end, timezone, opensAt, closesAt and whether it is open'),
    status: { type: 'string', enum: ['applied', 'not-matched', 'window-closed', 'not-reached'] },
    matched: { type: 'boolean' },
    failed: { type: 'array', items: openObject('a fact condition that failed, with its value') },
    matchedBy: { type: 'array', items: openObject('a fact condition that held, with its value') },
    conditions: openObject('the whole condition, evaluated'),
    actions: { type: 'array', items: openObject('an action, with the value before and after') },
  },
  required: ['ruleSet', 'rule', 'path', 'status', 'matched'],
} as const;

const explanationProperties = {
  catalog: { type: 'string' },
  sku: { type: 'string' },
  at: dateTime,
  ruleSets: stringList,
  rules: { type: 'array', items: ruleTraceSchema },
  product: record(
    {
      sku: { type: 'string' },
      fields: openObject('the canonical fields after the rules'),
      attributes: openObject('the other source columns after the rules'),
    },
    'the product as the feed gets it',
  ),
  included: { type: 'boolean' },
  excludedBy: exclusionSchema,
  summary: { type: 'string', description: 'one sentence: in the feed, or why not' },
} as const;

/** The rule trace of one product. */
export const explanationSchema = {
  type: 'object',
  description: 'The rule trace of one product: every rule in order, and the product after them.',
  properties: explanationProperties,
  required: ['catalog', 'sku', 'at', 'ruleSets', 'rules', 'product', 'included', 'summary'],
} as const;

const previewProperties = {
  catalog: { type: 'string' },
  at: dateTime,
  ruleSets: stringList,
  totals: record({
    products: { type: 'integer' },
    included: { type: 'integer' },
    excluded: { type: 'integer' },
    excludedByRules: { type: 'integer' },
    excludedInactive: { type: 'integer' },
    changed: { type: 'integer' },
  }),
  rules: {
    type: 'array',
    items: {
      type: 'object',
      properties: {
        ruleSet: { type: 'string' },
        rule: { type: 'string' },
        description: { type: 'string' },
        windowOpen: { type: ['boolean', 'null'] },
        matched: { type: 'integer' },
        changed: { type: 'integer' },
        excluded: { type: 'integer' },
        samples: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              sku: { type: 'string' },
              before: openObject('the fields the rule touched, before it'),
              after: openObject('the same fields after it'),
              excluded: { type: 'string', description: 'the reason, when the rule excluded it' },
            },
            required: ['sku', 'before', 'after'],
          },
        },
      },
      required: ['ruleSet', 'rule', 'windowOpen', 'matched', 'changed', 'excluded', 'samples'],
    },
  },
} as const;

/** A dry run of rules over a catalog. */
export const previewSchema = {
  type: 'object',
  description: 'A dry run of rules over a whole catalog: per-rule counts and samples; changes nothing.',
  properties: previewProperties,
  required: ['catalog', 'at', 'ruleSets', 'totals', 'rules'],
} as const;

// ---------------------------------------------------------------------------------------------
// Channels and publications

/** One built version of a channel's feed. */
export const publicationSchema = {
  type: 'object',
  description: "One built version of a channel's feed.",
  properties: {
    channel: { type: 'string' },
    version: { type: 'integer' },
    builtAt: dateTime,
    format: { type: 'string' },
    contentType: { type: 'string' },
    items: { type: 'integer' },
    excluded: { type: 'integer' },
    exclusions: {
      type: 'array',
      items: record({ ...exclusionSchema.properties, count: { type: 'integer' } }),
    },
    bytes: { type: 'integer' },
    gzipBytes: { type: 'integer' },
    sha256: { type: 'string' },
    added: { type: 'integer' },
    removed: { type: 'integer' },
    changed: { type: 'integer' },
    diff: {
      ...record({ added: stringList, removed: stringList, changed: stringList }),
      description: 'skus added, removed and changed against the previous publication (lists capped)',
    },
    buildMs: { type: 'integer' },
    catalogRevision: { type: 'integer' },
    stockRevision: { type: 'integer' },
    channelVersion: { type: 'integer' },
    ruleVersions: {
      type: 'object',
      additionalProperties: { type: 'integer' },
      description: 'rule set id → version',
    },
    nextBoundary: { ...nullableDateTime, description: 'when a rule window opens or closes next' },
    reason: { type: 'string' },
    actor: { type: 'string' },
  },
  // diff is left out of the channel list.
  required: [
    'channel',
    'version',
    'builtAt',
    'format',
    'contentType',
    'items',
    'excluded',
    'exclusions',
    'bytes',
    'gzipBytes',
    'sha256',
    'added',
    'removed',
    'changed',
    'buildMs',
    'catalogRevision',
    'stockRevision',
    'channelVersion',
    'ruleVersions',
    'nextBoundary',
    'reason',
    'actor',
  ],
} as const;

/** A page of publications, newest first. */
export const publicationPageSchema = record({
  publications: { type: 'array', items: publicationSchema },
  next: { ...nullableInteger, description: 'pass as `before` for the next page; null at the end' },
});

/** A page of the fetch log, newest first. */
export const fetchPageSchema = record({
  fetches: {
    type: 'array',
    items: record({
      id: { type: 'integer' },
      channel: { type: 'string' },
      at: dateTime,
      method: { type: 'string', enum: ['GET', 'HEAD'], description: 'HEAD asks for the headers only' },
      status: { type: 'integer' },
      bytes: { type: 'integer' },
      version: nullableInteger,
      encoding: nullableString,
      userAgent: nullableString,
      address: nullableString,
    }),
  },
  next: { ...nullableInteger, description: 'pass as `before` for the next page; null at the end' },
});

/** A channel as the API shows it: the definition in force, its version and feed URL. */
export const channelSchema = record(
  {
    id: { type: 'string' },
    catalog: { type: 'string' },
    version: { type: 'integer' },
    enabled: { type: 'boolean' },
    definition: openObject('the channel definition as written (see ChannelDefinition)'),
    author: { type: 'string' },
    feedUrl: { type: 'string', description: 'the secret feed URL' },
    tokenRotatedAt: dateTime,
    createdAt: dateTime,
    updatedAt: dateTime,
  },
  'A channel: its definition in force, version and feed URL.',
);

/** A channel with its last publication (null before the first). */
export const channelWithPublicationSchema = record({
  ...channelSchema.properties,
  lastPublication: { ...publicationSchema, type: ['object', 'null'] },
});

/** One accepted version of a channel definition. */
export const channelVersionSchema = record({
  version: { type: 'integer' },
  definition: openObject('the channel definition as written (see ChannelDefinition)'),
  author: { type: 'string' },
  createdAt: dateTime,
});

const feedRowSchema = {
  type: ['object', 'null'],
  additionalProperties: true,
  description: "the product's row in the feed, by column; null when it is left out",
} as const;

/** The rule trace of a product in a channel, and its row in the channel's feed. */
export const channelExplanationSchema = {
  ...explanationSchema,
  properties: { ...explanationProperties, channel: { type: 'string' }, feedRow: feedRowSchema },
  required: [...explanationSchema.required, 'channel', 'feedRow'],
} as const;

/** A preview in a channel, with the feed rows of the samples. */
export const channelPreviewSchema = {
  ...previewSchema,
  properties: {
    ...previewProperties,
    channel: { type: 'string' },
    feedRows: {
      type: 'object',
      additionalProperties: feedRowSchema,
      description: 'sample sku → its row in the feed (null when left out)',
    },
  },
  required: [...previewSchema.required, 'channel', 'feedRows'],
} as const;

// ---------------------------------------------------------------------------------------------
// Definitions folders

/** What applying a definitions folder did to each file (definitions/apply.ts `ApplyResult`). */
export const applyResultSchema = record({
  applied: {
    type: 'array',
    description: 'every definition of the folder, catalogs first, then rule sets, then channels',
    items: record({
      kind: { type: 'string', enum: ['catalog', 'rules', 'channel'] },
      id: { type: 'string' },
      file: { type: 'string', description: 'the file it came from: `feeds/acme.json`' },
      outcome: { type: 'string', enum: ['created', 'updated', 'unchanged'] },
      version: { type: 'integer', description: 'the version in force now' },
    }),
  },
  skipped: {
    type: 'array',
    description: 'files left aside, with why',
    items: record({ file: { type: 'string' }, reason: { type: 'string' } }),
  },
});

// ---------------------------------------------------------------------------------------------
// Orders

const skuQuantity = record({ sku: { type: 'string' }, quantity: { type: 'integer' } });

/** What reporting an order did. */
export const orderResultSchema = record({
  order: record({
    channelId: { type: 'string' },
    orderId: { type: 'string' },
    catalogId: { type: 'string' },
    status: { type: 'string' },
    holdsStock: { type: 'boolean' },
    lines: {
      type: 'array',
      items: record({
        sku: { type: 'string' },
        quantity: { type: 'integer' },
        linked: { type: 'boolean' },
        managed: { type: 'boolean' },
      }),
    },
    createdAt: dateTime,
    updatedAt: dateTime,
  }),
  duplicate: { type: 'boolean', description: 'the same report was seen before: nothing moved' },
  movements: {
    type: 'array',
    items: record({
      sku: { type: 'string' },
      delta: { type: 'integer' },
      cause: { type: 'string', enum: ['order', 'cancellation', 'refund', 'adjustment'] },
      effectiveStock: { type: 'integer' },
    }),
  },
  unlinked: { type: 'array', items: skuQuantity, description: 'lines whose sku is not a product' },
  notManaged: { type: 'array', items: skuQuantity, description: 'lines of products without stock' },
  oversold: {
    type: 'array',
    items: record({ sku: { type: 'string' }, units: { type: 'integer' } }),
  },
  outOfOrder: {
    description:
      'a paid or unpaid report that came after the order was cancelled or refunded: recorded, no units taken (null when in order)',
    oneOf: [
      { type: 'null' },
      record({ reported: { type: 'string', enum: ['paid', 'unpaid'] }, closedBy: { type: 'string' } }),
    ],
  },
});

// ---------------------------------------------------------------------------------------------
// Request bodies checked by the domain, shown in the document only

/** Removes `$id` and `$schema`, which mean nothing inside an OpenAPI document. */
function bare(schema: object): Record<string, unknown> {
  const { $id: _id, $schema: _schema, ...rest } = schema as Record<string, unknown>;
  return rest;
}

/** Points the rule set schema's `#/definitions/x` at the document's `RuleSet.x` components. */
function toComponentRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toComponentRefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string'
        ? v.replace(/^#\/definitions\//, '#/components/schemas/RuleSet.')
        : toComponentRefs(v),
    ]),
  );
}

function ruleSetComponents(): Record<string, unknown> {
  const { definitions, ...root } = bare(RULE_SET_SCHEMA);
  const out: Record<string, unknown> = { RuleSet: toComponentRefs(root) };
  for (const [name, schema] of Object.entries((definitions ?? {}) as Record<string, unknown>)) {
    out[`RuleSet.${name}`] = toComponentRefs(schema);
  }
  return out;
}

/**
 * The named schemas of the OpenAPI document: the definitions and reports the API takes,
 * which their own validators check (their messages name JSON paths: `$.rules[0].then`).
 */
export const documentSchemas: Record<string, unknown> = {
  CatalogDefinition: bare(catalogDefinitionSchema),
  ChannelDefinition: bare(channelDefinitionSchema),
  ...ruleSetComponents(),
  StockPush: bare(stockPushSchema),
  OrderReport: bare(orderReportSchema),
};

/** A reference to one of the document's named schemas. */
export function documentRef(
  name: 'CatalogDefinition' | 'ChannelDefinition' | 'RuleSet' | 'StockPush' | 'OrderReport',
) {
  return { $ref: `#/components/schemas/${name}` } as const;
}

/** Marks an operation whose documented body may be left out (see `openapi.ts`). */
export const OPTIONAL_BODY = 'x-feedwright-optional-body';

/**
 * Route config that shows `body` as the request body in the OpenAPI document while the route
 * itself declares no body schema: the domain checks these bodies with its own validator,
 * whose errors (every fault with its JSON path, a code of its own) the API has always
 * answered, and which fastify's validation (coercing, filling defaults) would pre-empt.
 * `optional`: the route also takes no body at all.
 */
export function documentedBody(
  body: object,
  options: { optional?: boolean } = {},
): { swaggerTransform: SwaggerTransform } {
  return {
    swaggerTransform: ({ schema, url }) => ({
      schema: { ...schema, body, ...(options.optional ? { [OPTIONAL_BODY]: true } : {}) },
      url,
    }),
  };
}
