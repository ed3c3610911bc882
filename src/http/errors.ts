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

/**
 * Refuses a request whose parameters, query string or JSON body hold a NUL character (which
 * no stored text can hold) with a 400 naming where: `body.lines[0].sku contains a NUL
 * character`. Feed files are not JSON bodies: their rows are cleaned by the import.
 */
export function refuseNulCharacters(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const where =
      nulAt(request.params, 'params') ?? nulAt(request.query, 'querystring') ?? nulAt(request.body, 'body');
    if (where !== undefined) throw new AppError('BAD_REQUEST', `${where} contains a NUL character (\\u0000)`);
  });
}

/** The path of the first string holding a NUL in a JSON-like value, or undefined. */
function nulAt(value: unknown, root: string): string | undefined {
  const stack: Array<{ v: unknown; path: string }> = [{ v: value, path: root }];
  while (stack.length > 0) {
    const { v, path } = stack.pop() as { v: unknown; path: string };
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return path;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: `${path}[${i}]` });
    } else if (v !== null && typeof v === 'object') {
      // An upload's body is a stream (or bytes), read by the import: not looked into.
      if (ArrayBuffer.isView(v) || typeof (v as { pipe?: unknown }).pipe === 'function') continue;
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, x] = entries[i] as [string, unknown];
        if (k.includes('\u0000')) return `${path} key`;
        stack.push({
          v: x,
          path: /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`,
        });
      }
    }
  }
  return undefined;
}
