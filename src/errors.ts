/**
 * The registry of coded errors. Each code has its HTTP status and a one-line meaning;
 * the HTTP layer maps an AppError to `{ error: { code, message } }` and nothing else
 * knows about HTTP.
 */
export const ERROR_CODES = {
  BAD_REQUEST: { status: 400, doc: 'The request is malformed: a parameter or body is invalid.' },
  UNAUTHORIZED: { status: 401, doc: 'The Authorization header is missing or holds the wrong API key.' },
  NOT_FOUND: { status: 404, doc: 'No such route.' },
  URI_TOO_LONG: {
    status: 414,
    doc: 'A path segment (a sku, an id) is longer than any this service stores (a sku is at most 100 characters).',
  },
  CATALOG_NOT_FOUND: { status: 404, doc: 'No catalog has this id.' },
  PRODUCT_NOT_FOUND: { status: 404, doc: 'The catalog has no product with this sku.' },
  IMPORT_NOT_FOUND: { status: 404, doc: 'No import run has this id.' },
  RULE_SET_NOT_FOUND: { status: 404, doc: 'No rule set has this id (or this version).' },
  RULE_INVALID: {
    status: 422,
    doc: 'A rule set does not match the schema or its semantic checks; every problem names its JSON path.',
  },
  CHANNEL_NOT_FOUND: { status: 404, doc: 'No channel has this id.' },
  CHANNEL_INVALID: {
    status: 422,
    doc: 'A channel definition does not match its schema, or names a catalog or rule set that does not exist; every problem names its JSON path.',
  },
  PUBLISH_FAILED: {
    status: 500,
    doc: 'A channel feed could not be built; the previous feed stays served and history has the cause.',
  },
  CHANNEL_DISABLED: {
    status: 409,
    doc: 'The channel is disabled: its feed stays frozen until it is enabled.',
  },
  ORDER_INVALID: {
    status: 400,
    doc: 'An order report is malformed: every fault names its JSON path ($.lines[1].quantity).',
  },
  PUBLISH_BUSY: { status: 409, doc: 'Another process has been building this channel for too long.' },
  DEFINITION_INVALID: { status: 400, doc: 'A catalog definition does not match its schema.' },
  APPLY_REFUSED: {
    status: 422,
    doc: 'A definitions folder was refused whole: `details.problems` names the file and JSON path of every fault; nothing was applied.',
  },
  IMPORT_NO_SOURCE: { status: 400, doc: 'The catalog has no source and no file was given.' },
  IMPORT_SOURCE_UNREADABLE: { status: 422, doc: 'The source file or upload could not be read.' },
  IMPORT_NOT_HELD: { status: 409, doc: 'Only a held import run can be applied.' },
  IMPORT_FAILED: {
    status: 422,
    doc: 'The import run failed (the feed could not be read to its end, or the apply failed): the answer holds the run, whose `failure` says why; nothing was changed.',
  },
  IMPORT_STALE: {
    status: 409,
    doc: 'The held run is older than the catalog: another run was applied since.',
  },
  IMPORT_BUSY: { status: 409, doc: 'Another import of this catalog is running.' },
  SOURCE_FORBIDDEN_ADDRESS: {
    status: 422,
    doc: 'The source URL, a redirect or a resolved address is in a refused network (private and loopback need FEEDWRIGHT_ALLOW_PRIVATE_SOURCES=true; link-local and metadata addresses never).',
  },
  SOURCE_UNREACHABLE: { status: 502, doc: 'The source host could not be resolved or connected to.' },
  SOURCE_TIMEOUT: { status: 504, doc: 'The source did not connect, answer or finish in time.' },
  SOURCE_HTTP_ERROR: {
    status: 502,
    doc: 'The source answered an error status, redirected too often, or used an unsupported encoding.',
  },
  SOURCE_TOO_LARGE: { status: 502, doc: 'The source exceeds the download or decompressed-size limit.' },
  SOURCE_TRUNCATED: {
    status: 502,
    doc: 'The download ended before its declared length, or its compressed stream was cut.',
  },
  PAYLOAD_TOO_LARGE: { status: 413, doc: 'The upload is larger than the body limit.' },
  RATE_LIMITED: {
    status: 429,
    doc: 'Too many /api requests from this client in the last minute (FEEDWRIGHT_RATE_LIMIT); Retry-After says when to try again.',
  },
  UNSUPPORTED_FORMAT: { status: 415, doc: 'The feed format is not supported yet.' },
  STORE_UNAVAILABLE: { status: 503, doc: 'The store cannot be reached.' },
  INTERNAL: { status: 500, doc: 'An unexpected error; the log has the details.' },
} as const satisfies Record<string, { status: number; doc: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error with a registered code; `details` carries machine-readable context. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details;
  }

  /** The HTTP status registered for this error's code. */
  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

/** PostgreSQL error codes the store reacts to. */
export const PG_ERROR = {
  UNIQUE_VIOLATION: '23505',
  UNDEFINED_TABLE: '42P01',
  QUERY_CANCELED: '57014',
} as const;
