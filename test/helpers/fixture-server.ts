import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request the fixture server received. */
export interface FixtureRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

/** Answers one request; `hit` counts the requests to this path so far, this one included. */
export type FixtureHandler = (req: IncomingMessage, res: ServerResponse, hit: number) => void | Promise<void>;

/** A real HTTP server on 127.0.0.1 that serves what each test routes to it. */
export interface FixtureServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  /** The absolute URL of a path on this server. */
  url(path: string): string;
  /** Serves `path` (query included, exact match) with `handler`; unrouted paths answer 404. */
  route(path: string, handler: FixtureHandler): void;
  /** Every request received, in order. */
  requests: FixtureRequest[];
  /** Requests received for one path. */
  hits(path: string): number;
  /** TCP connections accepted: 0 proves the guard refused before connecting. */
  connections: number;
  /** Forgets routes, requests and counters between tests. */
  reset(): void;
  close(): Promise<void>;
}

/** Starts a fixture server on 127.0.0.1 and a random port. */
export async function startFixtureServer(): Promise<FixtureServer> {
  const routes = new Map<string, FixtureHandler>();
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    state.requests.push({ method: req.method ?? 'GET', path, headers: req.headers });
    const handler = routes.get(path);
    if (!handler) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such fixture');
      return;
    }
    Promise.resolve(handler(req, res, state.hits(path))).catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  });
  server.on('connection', (socket) => {
    state.connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  const state: FixtureServer = {
    origin,
    port,
    url: (path) => `${origin}${path}`,
    route: (path, handler) => {
      routes.set(path, handler);
    },
    requests: [],
    hits: (path) => state.requests.filter((r) => r.path === path).length,
    connections: 0,
    reset: () => {
      routes.clear();
      state.requests.length = 0;
      state.connections = 0;
      for (const socket of sockets) socket.destroy();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return state;
}
