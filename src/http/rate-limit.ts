import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

/** How /api is limited. */
export interface RateLimitOptions {
  /** Requests a client may make per minute; 0 turns the limit off. */
  perMinute: number;
  /** Whether a request carries the right API key. */
  hasKey: (request: FastifyRequest) => boolean;
}

/**
 * Limits the requests of the scope it is given (the /api routes) per client and minute,
 * before the API key is checked, so that guessing keys is slowed down too. A client is its
 * address, counted apart with and without the right key: a neighbour guessing keys does
 * not use up the budget of the dashboard or of a shop reporting orders. Past the limit the
 * answer is 429 RATE_LIMITED with `Retry-After`. /feeds and /health are outside the scope.
 */
export async function limitRequests(api: FastifyInstance, opts: RateLimitOptions): Promise<void> {
  if (opts.perMinute <= 0) return;
  await api.register(rateLimit, {
    // Applied by the hook below, ahead of the key check, rather than route by route.
    global: false,
    max: opts.perMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => `${opts.hasKey(request) ? 'key' : 'anonymous'}:${request.ip}`,
    errorResponseBuilder: (_request, context) =>
      new AppError(
        'RATE_LIMITED',
        `more than ${opts.perMinute} requests a minute from this client; retry in ${context.after}`,
      ),
  });
  api.addHook('onRequest', api.rateLimit());
}
