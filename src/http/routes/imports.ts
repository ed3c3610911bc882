import { type Readable, Transform, type TransformCallback } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { catalogDefinitionSchema } from '../../catalog/definition.js';
import { applyHeldRun, runImport } from '../../catalog/import-run.js';
import { AppError } from '../../errors.js';
import { getCatalog } from '../../store/catalogs.js';
import { getRun, listRowErrors, listRuns, publicRun } from '../../store/imports.js';
import type { Store } from '../../store/types.js';
import { limitSchema } from './paging.js';

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
          params: {
            type: 'object',
            properties: { id: { type: 'string', pattern: catalogDefinitionSchema.properties.id.pattern } },
            required: ['id'],
          },
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              mode: { enum: ['full', 'partial'], default: 'full' },
              force: { type: 'boolean', default: false },
              name: { type: 'string', maxLength: 255 },
            },
          },
        },
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
            ? { kind: 'upload', stream: limiter, name: request.query.name }
            : { kind: 'default' },
          mode: request.query.mode,
          force: request.query.force,
          actor: 'api',
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
        const status = run.status === 'applied' ? 201 : run.status === 'held' ? 202 : 422;
        return reply.status(status).send({ run: publicRun(run) });
      },
    );
  });

  app.get<{ Params: { id: string }; Querystring: { before?: number; limit: number } }>(
    '/catalogs/:id/imports',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { before: { type: 'integer', minimum: 1 }, limit: limitSchema },
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
        params: runParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            errorsLimit: { type: 'integer', minimum: 0, maximum: 10_000, default: 1000 },
            errorsOffset: { type: 'integer', minimum: 0, default: 0 },
          },
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
    { schema: { params: runParams } },
    async (request) => {
      const run = await applyHeldRun(store, request.params.run, 'api');
      return { run: publicRun(run) };
    },
  );
};
