import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';

type Handler = (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) => unknown;

/**
 * Counts the route handlers under way. A handler can outlive its connection (an upload
 * being imported when the client is cut off), so a shutdown waits for the handlers, not
 * only for the sockets, before it closes the store.
 */
export class InFlight {
  private count = 0;
  private waiters: Array<() => void> = [];

  /** Handlers running now. */
  get size(): number {
    return this.count;
  }

  /** Wraps every route registered after this call (and in child scopes). */
  install(app: FastifyInstance): void {
    const started = () => {
      this.count++;
    };
    const ended = () => this.done();
    app.addHook('onRoute', (route: RouteOptions) => {
      const handler = route.handler as Handler;
      // A function, not an arrow: fastify calls handlers with the instance as `this`.
      const tracked: Handler = function (this: FastifyInstance, request, reply) {
        const result = handler.call(this, request, reply);
        if (!(result instanceof Promise)) return result;
        started();
        return result.finally(ended);
      };
      route.handler = tracked as RouteOptions['handler'];
    });
  }

  /** Resolves once no handler is running. */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private done(): void {
    this.count--;
    if (this.count > 0) return;
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
