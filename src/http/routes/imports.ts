import { type Readable, Transform, type TransformCallback } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { AppError, ERROR_CODES } from '../../errors.js';
import { applyHeldRun, runImport } from '../../import/run.js';
import { getCatalog } from '../../store/catalogs.js';
import { getRun, listRowErrors, listRuns, publicRun } from '../../store/imports.js';
import type { Store } from '../../store/types.js';
import { errorSchema, toErrorBody } from '../errors.js';
import {
  apiErrors,
  apiSecurity,
  documentedBody,
  errorResponses,
  idParams,
  importRunSchema,
  rowNoteSchema,
  runAnswerSchema,
} from '../schemas.js';
import { beforeSchema, limitSchema } from './paging.js';

/** Counts bytes as they pass and fails the stream past the limit. */
class ByteLimit extends Transform {
  bytes = 0;
  exceeded = false;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      this.exceeded = true;
      done(new AppError('PAYLOAD_TOO_LARGE', `the upload is larger than ${this.limit} bytes`));
      return;
    }
    done(null, chunk);
  }
}

const runParams = {
  type: 'object',
  properties: { run: { type: 'integer', minimum: 1 } },
  required: ['run'],
} as const;

const imports = { tags: ['imports'], security: apiSecurity } as const;

// A failed run answers 422 with the error and the run; a source that cannot be read answers 422 with an error.
const uploadErrors = apiErrors(
  'BAD_REQUEST',
  'DEFINITION_INVALID',
  'IMPORT_NO_SOURCE',
  'CATALOG_NOT_FOUND',
  'IMPORT_BUSY',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_FORMAT',
  'IMPORT_SOURCE_UNREADABLE',
  'SOURCE_FORBIDDEN_ADDRESS',
  'SOURCE_UNREACHABLE',
  'SOURCE_HTTP_ERROR',
  'SOURCE_TOO_LARGE',
  'SOURCE_TRUNCATED',
  'SOURCE_TIMEOUT',
);
const unprocessable = errorResponses(['IMPORT_SOURCE_UNREADABLE', 'SOURCE_FORBIDDEN_ADDRESS'])[422];
const failedRun = errorResponses(['IMPORT_FAILED'])[422];

/** The feed formats an upload may be, as the OpenAPI document shows them. */
const uploadBody = {
  description:
    "Optional: the feed file, streamed (413 past the upload limit). With no body, the catalog's source " +
    '(its file or linked URL) is imported. The format is detected, or set by the catalog definition.',
  content: Object.fromEntries(
    [
      'text/csv',
      'text/tab-separated-values',
      'application/xml',
      'application/json',
      'application/x-ndjson',
      'application/octet-stream',
    ].map((type) => [type, { schema: { type: 'string', format: 'binary' } }]),
  ),
};

/** Import runs: start one (upload or linked source), read them, apply a held one. */
export const importRoutes: FastifyPluginAsync<{
  store: Store;
  maxUploadBytes: number;
  allowPrivateSources: boolean;
}> = async (app, { store, maxUploadBytes, allowPrivateSources }) => {
  await app.register(async (uploads) => {
    // The feed arrives as the raw body, whatever its type, and streams into the parser.
    uploads.removeAllContentTypeParsers();
    uploads.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    uploads.post<{
      Params: { id: string };
      Querystring: { mode: 'full' | 'partial'; force: boolean; name?: string };
    }>(
      '/catalogs/:id/imports',
      {
        schema: {
          ...imports,
          summary: 'Start an import',
          description:
            "Imports the request body (any content type, streamed), or with no body the catalog's source. " +
            'Answers when the run is over: 201 applied, 202 held by the safety gate (apply it with ' +
            '`POST /api/imports/{run}/apply`, or import again with `force=true`), 200 when the linked ' +
            'feed had not changed since the last import (`not_modified`: nothing to do), 422 failed ' +
            '(`IMPORT_FAILED`, with the run).',
          params: idParams,
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              mode: {
                enum: ['full', 'partial'],
                default: 'full',
                description: 'partial: only the rows sent change; nothing is removed',
              },
              force: {
                type: 'boolean',
                default: false,
                description: 'apply even what the safety gate holds',
              },
              name: { type: 'string', maxLength: 255, description: 'the file name, for the run and history' },
            },
          },
          response: {
            200: {
              ...runAnswerSchema,
              description: 'the run, not_modified: the linked feed had not changed since the last import',
            },
            201: { ...runAnswerSchema, description: 'the run, applied' },
            202: { ...runAnswerSchema, description: 'the run, held by the safety gate' },
            ...uploadErrors,
            422: {
              description: `${failedRun?.description}\n\nor:\n\n${unprocessable?.description}`,
              anyOf: [
                {
                  type: 'object',
                  properties: { ...errorSchema.properties, ...runAnswerSchema.properties },
                  required: ['error', 'run'],
                },
                unprocessable,
              ],
            },
          },
        },
        config: documentedBody(uploadBody, { optional: true }),
      },
      async (request, reply) => {
        const { id } = request.params;
        if (!(await getCatalog(store, id))) throw new AppError('CATALOG_NOT_FOUND', `no catalog "${id}"`);
        const declared = Number(request.headers['content-length'] ?? Number.NaN);
        if (declared > maxUploadBytes) {
          // Refused before reading a byte; the connection is closed so the client stops sending.
          reply.header('connection', 'close');
          throw new AppError(
            'PAYLOAD_TOO_LARGE',
            `the upload (${declared} bytes) is larger than ${maxUploadBytes} bytes`,
          );
        }
        const body = request.body as Readable | undefined;
        const hasBody =
          body !== undefined && (declared > 0 || request.headers['transfer-encoding'] !== undefined);
        let limiter: ByteLimit | undefined;
        if (hasBody) {
          limiter = new ByteLimit(maxUploadBytes);
          body.on('error', (err) => limiter?.destroy(err));
          body.pipe(limiter);
        }
        const run = await runImport(store, {
          catalogId: id,
          input: limiter
            ? {
                kind: 'upload',
                stream: limiter,
                name: request.query.name,
                size: declared > 0 ? declared : undefined,
              }
            : { kind: 'default' },
          mode: request.query.mode,
          force: request.query.force,
          actor: request.actor,
          allowPrivateSources,
        });
        if (limiter?.exceeded) {
          reply.header('connection', 'close');
          throw new AppError(
            'PAYLOAD_TOO_LARGE',
            `the upload is larger than ${maxUploadBytes} bytes; nothing was changed`,
            {
              details: { run: run.id },
            },
          );
        }
        if (run.status === 'failed') {
          const failed = new AppError(
            'IMPORT_FAILED',
            `import run ${run.id} failed: ${run.failure ?? 'no reason recorded'}`,
            { details: { run: run.id } },
          );
          return reply
            .status(ERROR_CODES.IMPORT_FAILED.status)
            .send({ ...toErrorBody(failed), run: publicRun(run) });
        }
        const status = run.status === 'applied' ? 201 : run.status === 'held' ? 202 : 200;
        return reply.status(status).send({ run: publicRun(run) });
      },
    );
  });

  app.get<{ Params: { id: string }; Querystring: { before?: number; limit: number } }>(
    '/catalogs/:id/imports',
    {
      schema: {
        ...imports,
        summary: 'Import runs of a catalog',
        description: 'Import runs, newest first; `before` pages back.',
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            before: beforeSchema('runs'),
            limit: limitSchema,
          },
        },
        response: {
          200: {
            description: 'a page of runs, newest first',
            type: 'object',
            properties: {
              runs: { type: 'array', items: importRunSchema },
              next: {
                type: ['integer', 'null'],
                description: 'pass as `before` for the next page; null at the end',
              },
            },
            required: ['runs', 'next'],
          },
          ...apiErrors('BAD_REQUEST', 'CATALOG_NOT_FOUND'),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (!(await getCatalog(store, id))) throw new AppError('CATALOG_NOT_FOUND', `no catalog "${id}"`);
      const page = await listRuns(store, id, request.query);
      return { runs: page.runs.map(publicRun), next: page.next };
    },
  );

  app.get<{ Params: { run: number }; Querystring: { errorsLimit: number; errorsOffset: number } }>(
    '/imports/:run',
    {
      schema: {
        ...imports,
        summary: 'One import run with its row errors',
        description:
          'The run, its row errors and its row warnings, by line (`errorsLimit` and `errorsOffset` page both).',
        params: runParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            errorsLimit: { type: 'integer', minimum: 0, maximum: 10_000, default: 1000 },
            errorsOffset: { type: 'integer', minimum: 0, default: 0 },
          },
        },
        response: {
          200: {
            description: 'the run',
            type: 'object',
            properties: {
              run: importRunSchema,
              rowErrors: { type: 'array', items: rowNoteSchema, description: 'rows left out, by line' },
              rowWarnings: {
                type: 'array',
                items: rowNoteSchema,
                description: 'rows imported with a warning',
              },
            },
            required: ['run', 'rowErrors', 'rowWarnings'],
          },
          ...apiErrors('BAD_REQUEST', 'IMPORT_NOT_FOUND'),
        },
      },
    },
    async (request) => {
      const run = await getRun(store, request.params.run);
      if (!run) throw new AppError('IMPORT_NOT_FOUND', `no import run ${request.params.run}`);
      const rowErrors = await listRowErrors(store, run.id, {
        limit: request.query.errorsLimit,
        offset: request.query.errorsOffset,
      });
      const rowWarnings = await listRowErrors(store, run.id, {
        limit: request.query.errorsLimit,
        offset: request.query.errorsOffset,
        severity: 'warning',
      });
      return { run: publicRun(run), rowErrors, rowWarnings };
    },
  );

  app.post<{ Params: { run: number } }>(
    '/imports/:run/apply',
    {
      schema: {
        ...imports,
        summary: 'Apply a held import run',
        description:
          'Applies what the safety gate held, as it was staged. Refused (409) when the run is not held, or ' +
          'when another run was applied since.',
        params: runParams,
        response: {
          200: { ...runAnswerSchema, description: 'the run, applied' },
          ...apiErrors('BAD_REQUEST', 'IMPORT_NOT_FOUND', 'IMPORT_NOT_HELD', 'IMPORT_STALE', 'IMPORT_BUSY'),
        },
      },
    },
    async (request) => {
      const run = await applyHeldRun(store, request.params.run, request.actor);
      return { run: publicRun(run) };
    },
  );
};
