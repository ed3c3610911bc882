import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, ERROR_CODES, type ErrorCode } from '../errors.js';

/** The one error body of the API. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/** JSON schema of the error body, for route declarations. */
export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

/**
 * Maps every error to `{ error: { code, message } }` with a fitting status. Unknown
 * errors become INTERNAL, logged with their stack, never sent to the client.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | AppError | Error, request, reply) => {
    const body = toErrorBody(err);
    const status = ERROR_CODES[body.error.code].status;
    if (status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: body.error.code, msg: body.error.message }, 'request refused');
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    return reply.status(404).send({
      error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` },
    } satisfies ErrorBody);
  });
}

/** The body an error answers with (an AppError's code, message and details). */
export function toErrorBody(err: FastifyError | AppError | Error): ErrorBody {
  if (err instanceof AppError) {
    return {
      error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
    };
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    const where = fe.validationContext ?? 'request';
    const first = fe.validation[0];
    const field = first?.instancePath ? first.instancePath.replace(/^\//, '').replaceAll('/', '.') : '';
    const message = first ? `${where}${field ? `.${field}` : ''} ${first.message}` : fe.message;
    return { error: { code: 'BAD_REQUEST', message } };
  }
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return { error: { code: 'PAYLOAD_TOO_LARGE', message: fe.message } };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { error: { code: fe.statusCode === 404 ? 'NOT_FOUND' : 'BAD_REQUEST', message: fe.message } };
  }
  return { error: { code: 'INTERNAL', message: 'internal error; the server log has the details' } };
}
