import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeProgress, Progress } from '../src/cli/output.js';
import { loadConfig } from '../src/config/config.js';
import { buildApp } from '../src/http/app.js';
import { openTestStore, type TestStore } from './helpers/store.js';

const KEY = 'ops-test-key';
const auth = { authorization: `Bearer ${KEY}` };

/** Prometheus text → `name{labels}` → value (comments skipped). */
function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

describe('operating the service', () => {
  let t: TestStore;
  let dataDir: string;
  const apps: FastifyInstance[] = [];

  const makeApp = async (extra: Partial<Parameters<typeof buildApp>[0]> = {}) => {
    const app = await buildApp({ store: t.store, apiKey: KEY, maxUploadBytes: 1 << 20, dataDir, ...extra });
    apps.push(app);
    return app;
  };

  beforeAll(async () => {
    t = await openTestStore();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-ops-'));
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });
  afterAll(async () => {
    await t.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  describe('logs', () => {
    const capture = () => {
      const lines: Array<Record<string, unknown>> = [];
      let buffered = '';
      const stream = new Writable({
        write(chunk, _enc, done) {
          buffered += chunk.toString();
          let nl = buffered.indexOf('\n');
          while (nl !== -1) {
            lines.push(JSON.parse(buffered.slice(0, nl)));
            buffered = buffered.slice(nl + 1);
            nl = buffered.indexOf('\n');
          }
          done();
        },
      });
      return { lines, stream };
    };

    it('puts the request id in every line a request logs, and echoes it', async () => {
      const { lines, stream } = capture();
      const app = await makeApp({ logger: { level: loadConfig({ LOG_LEVEL: 'info' }).logLevel, stream } });
      const ok = await app.inject({ url: '/health', headers: { 'x-request-id': 'probe-1' } });
      expect(ok.headers['x-request-id']).toBe('probe-1');
      const refused = await app.inject({ url: '/api/catalogs', headers: { 'x-request-id': 'probe-2' } });
      expect(refused.statusCode).toBe(401);
      const missing = await app.inject({ url: '/nowhere' });
      const generated = missing.headers['x-request-id'];
      expect(generated).toMatch(/^[0-9a-f-]{36}$/);

      expect(lines.length).toBeGreaterThanOrEqual(6);
      for (const line of lines) expect(['probe-1', 'probe-2', generated]).toContain(line.reqId);
      expect(lines.filter((l) => l.reqId === 'probe-2').map((l) => l.msg)).toEqual([
        'incoming request',
        'request refused',
        'request completed',
      ]);
      expect(lines.every((l) => typeof l.level === 'number' && typeof l.time === 'number')).toBe(true);
    });

    it('honours LOG_LEVEL, and refuses a level pino does not know', async () => {
      const { lines, stream } = capture();
      const app = await makeApp({ logger: { level: loadConfig({ LOG_LEVEL: 'warn' }).logLevel, stream } });
      await app.inject({ url: '/health' });
      await app.inject({ url: '/api/catalogs' });
      expect(lines).toEqual([]);
      expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL must be one of/);
    });
  });

  describe('/metrics', () => {
    it('counts imports, rows, builds, feed fetches, order latency and oversells', async () => {
      const app = await makeApp();
      const api = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: object) =>
        app.inject({ method, url: `/api${url}`, headers: auth, ...(payload ? { payload } : {}) });
      const upload = (csv: string) =>
        app.inject({
          method: 'POST',
          url: '/api/catalogs/shop/imports',
          headers: { ...auth, 'content-type': 'text/csv' },
          payload: csv,
        });

      expect((await app.inject({ url: '/metrics' })).statusCode).toBe(401);

      expect((await api('PUT', '/catalogs/shop', { kind: 'catalog', id: 'shop' })).statusCode).toBe(201);
      // Four valid rows and one without a sku: applied, 4 rows in.
      const first = await upload(
        'sku,title,price,quantity\nA,a,1,5\nB,b,1,5\nC,c,1,1\n,nosku,1,1\nD,d,1,5\n',
      );
      expect(first.statusCode).toBe(201);
      // No valid row at all: held.
      expect((await upload('sku,title,price,quantity\n,x,1,1\n')).statusCode).toBe(202);

      const channel = await api('PUT', '/channels/market', {
        kind: 'channel',
        id: 'market',
        catalog: 'shop',
        format: 'csv',
        fields: { id: 'sku', stock: 'quantity' },
      });
      expect(channel.statusCode).toBe(201);
      expect((await api('POST', '/channels/market/publish')).statusCode).toBeLessThan(300);
      const feedPath = new URL(channel.json().feedUrl).pathname;
      expect((await app.inject({ url: feedPath })).statusCode).toBe(200);
      expect((await app.inject({ url: feedPath })).statusCode).toBe(200);
      const wrongToken = feedPath.replace(/\/[^/]+\.csv$/, `/${'x'.repeat(32)}.csv`);
      expect((await app.inject({ url: wrongToken })).statusCode).toBe(404);
      expect((await app.inject({ url: `/feeds/nothing-here/${'y'.repeat(32)}.csv` })).statusCode).toBe(404);

      // C has 1 unit: an order of 3 oversells it by 2; A's order does not.
      const report = {
        orderId: 'o-1',
        status: 'paid',
        lines: [
          { sku: 'C', quantity: 3 },
          { sku: 'A', quantity: 1 },
        ],
      };
      const sold = await api('POST', '/channels/market/orders', report);
      expect(sold.statusCode).toBe(201);
      expect(sold.json().oversold).toEqual([{ sku: 'C', units: 2 }]);
      // The same report again moves nothing and oversells nothing.
      expect((await api('POST', '/channels/market/orders', report)).statusCode).toBe(200);
      // Refused reports are not order latencies.
      expect((await api('POST', '/channels/market/orders', { orderId: 'bad' })).statusCode).toBe(400);

      const res = await app.inject({ url: '/metrics', headers: auth });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      const m = parseMetrics(res.body);
      expect(m.get('feedwright_imports_total{catalog="shop",status="applied"}')).toBe(1);
      expect(m.get('feedwright_imports_total{catalog="shop",status="held"}')).toBe(1);
      expect(m.get('feedwright_import_rows_total{catalog="shop"}')).toBe(4);
      expect(m.get('feedwright_build_duration_seconds_count{channel="market"}')).toBe(1);
      const buildSeconds = m.get('feedwright_build_duration_seconds_sum{channel="market"}') ?? -1;
      expect(buildSeconds).toBeGreaterThan(0);
      expect(buildSeconds).toBeLessThan(60);
      expect(m.get('feedwright_build_duration_seconds_bucket{le="+Inf",channel="market"}')).toBe(1);
      expect(m.get('feedwright_feed_fetches_total{channel="market",status="200"}')).toBe(2);
      expect(m.get('feedwright_feed_fetches_total{channel="market",status="404"}')).toBe(1);
      expect(m.get('feedwright_feed_fetches_total{channel="(unknown)",status="404"}')).toBe(1);
      expect(m.get('feedwright_order_duration_seconds_count')).toBe(2);
      expect(m.get('feedwright_order_duration_seconds_sum')).toBeGreaterThan(0);
      expect(m.get('feedwright_ledger_oversells_total{catalog="shop",channel="market"}')).toBe(1);
      expect(m.get('feedwright_ledger_oversold_units_total{catalog="shop",channel="market"}')).toBe(2);
      // prom-client's process metrics come along.
      expect(m.get('process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(m.get('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);

      // An app on its own registry: a second app starts from nothing.
      const other = await makeApp();
      const fresh = parseMetrics((await other.inject({ url: '/metrics', headers: auth })).body);
      expect(fresh.get('feedwright_import_rows_total{catalog="shop"}')).toBeUndefined();
    });
  });

  describe('rate limit', () => {
    it('answers 429 with the error body and Retry-After past the limit, never on /feeds or /health', async () => {
      const app = await makeApp({ rateLimitPerMinute: 5 });
      // Wrong keys count against the address, ahead of the key check.
      for (let i = 0; i < 5; i++) {
        const res = await app.inject({ url: '/api/catalogs', headers: { authorization: 'Bearer nope' } });
        expect(res.statusCode).toBe(401);
      }
      const guessing = await app.inject({ url: '/api/catalogs', headers: { authorization: 'Bearer nope' } });
      expect(guessing.statusCode).toBe(429);
      expect(guessing.json().error.code).toBe('RATE_LIMITED');

      // Requests with the right key have their own budget.
      for (let i = 0; i < 5; i++) {
        const res = await app.inject({ url: '/api/catalogs', headers: auth });
        expect(res.statusCode).toBe(200);
        expect(res.headers['x-ratelimit-remaining']).toBe(String(4 - i));
      }
      const limited = await app.inject({ url: '/api/catalogs', headers: auth });
      expect(limited.statusCode).toBe(429);
      expect(limited.json()).toEqual({
        error: { code: 'RATE_LIMITED', message: expect.stringMatching(/more than 5 requests a minute/) },
      });
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);

      // Marketplaces pulling feeds, health probes and the metrics scraper are never limited.
      for (let i = 0; i < 20; i++) {
        expect((await app.inject({ url: `/feeds/market/${'z'.repeat(32)}.csv` })).statusCode).toBe(404);
        expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
      }
      expect((await app.inject({ url: '/metrics', headers: auth })).statusCode).toBe(200);
    });

    it('takes its default from FEEDWRIGHT_RATE_LIMIT, and 0 turns it off', async () => {
      expect(loadConfig({}).rateLimitPerMinute).toBe(600);
      expect(loadConfig({ FEEDWRIGHT_RATE_LIMIT: '30' }).rateLimitPerMinute).toBe(30);
      expect(() => loadConfig({ FEEDWRIGHT_RATE_LIMIT: 'lots' })).toThrow(/FEEDWRIGHT_RATE_LIMIT/);
      const app = await makeApp({ rateLimitPerMinute: 0 });
      for (let i = 0; i < 30; i++)
        expect((await app.inject({ url: '/api/catalogs', headers: auth })).statusCode).toBe(200);
    });
  });

  describe('slow clients', () => {
    it('disconnects a slowloris client within the headers timeout, while a normal request still works', async () => {
      const app = await makeApp({ timeouts: { headersMs: 1000, requestMs: 5000 } });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as net.AddressInfo;

      /** Opens a socket, sends `parts` one every `everyMs`, and says when and how it ended. */
      const slowClient = (parts: string[], everyMs: number) =>
        new Promise<{ closedAfterMs: number; answer: string; sentAll: boolean }>((resolve, reject) => {
          const started = Date.now();
          const socket = net.connect(port, '127.0.0.1');
          let answer = '';
          let sent = 0;
          const send = () => {
            if (sent < parts.length && !socket.destroyed) socket.write(parts[sent++] as string);
          };
          const timer = setInterval(send, everyMs);
          socket.on('connect', send);
          socket.on('data', (d) => {
            answer += d.toString();
          });
          socket.on('error', () => {});
          socket.on('close', () => {
            clearInterval(timer);
            resolve({ closedAfterMs: Date.now() - started, answer, sentAll: sent === parts.length });
          });
          setTimeout(() => {
            socket.destroy();
            reject(new Error('the server kept the socket open'));
          }, 8000).unref();
        });

      // A header line every 250 ms, never the blank line that ends them: 10 s worth.
      const lines = [
        'GET /health HTTP/1.1\r\n',
        'Host: x\r\n',
        ...Array.from({ length: 40 }, (_, i) => `X-Slow-${i}: 1\r\n`),
      ];
      const slow = slowClient(lines, 250);
      // One that connects and says nothing.
      const silent = slowClient([], 250);
      // Meanwhile, a normal request is served at once.
      const normal = await fetch(`http://127.0.0.1:${port}/health`);
      expect(normal.status).toBe(200);
      // A request whose headers take 0.5 s of the 1 s allowed is served too.
      const patient = await slowClient(
        ['GET /health HTTP/1.1\r\n', 'Host: x\r\n', 'Connection: close\r\n', '\r\n'],
        150,
      );
      expect(patient.answer).toMatch(/^HTTP\/1\.1 200/);

      const s = await slow;
      expect(s.sentAll).toBe(false);
      expect(s.closedAfterMs).toBeGreaterThanOrEqual(900);
      // The timeout (1 s) and Node's check interval (a quarter of it), with room for a busy machine.
      expect(s.closedAfterMs).toBeLessThan(3000);
      expect(s.answer).toMatch(/^HTTP\/1\.1 408/);
      const q = await silent;
      expect(q.closedAfterMs).toBeGreaterThanOrEqual(900);
      expect(q.closedAfterMs).toBeLessThan(3000);
    });

    it('cuts an upload slower than the request timeout; its import is held, the catalog untouched', async () => {
      const app = await makeApp({ timeouts: { headersMs: 1000, requestMs: 2000 } });
      const api = (method: 'GET' | 'PUT', url: string, payload?: object) =>
        app.inject({ method, url: `/api${url}`, headers: auth, ...(payload ? { payload } : {}) });
      expect((await api('PUT', '/catalogs/slow', { kind: 'catalog', id: 'slow' })).statusCode).toBe(201);
      const before = await app.inject({
        method: 'POST',
        url: '/api/catalogs/slow/imports',
        headers: { ...auth, 'content-type': 'text/csv' },
        payload: 'sku,title,price,quantity\nS-1,one,1,1\nS-2,two,2,2\n',
      });
      expect(before.statusCode).toBe(201);
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as net.AddressInfo;

      // A row every 200 ms of a body announced far longer: it never ends on its own.
      const started = Date.now();
      const closedAfter = await new Promise<number>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.write(
            `POST /api/catalogs/slow/imports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\n` +
              'Content-Type: text/csv\r\nContent-Length: 1000000\r\n\r\nsku,title,price,quantity\n',
          );
        });
        let i = 0;
        const timer = setInterval(() => socket.write(`N-${i++},new,1,1\n`), 200);
        socket.on('error', () => {});
        socket.on('close', () => {
          clearInterval(timer);
          resolve(Date.now() - started);
        });
      });
      expect(closedAfter).toBeGreaterThanOrEqual(1900);
      expect(closedAfter).toBeLessThan(5000);

      // The handler outlives the connection; once it is done, the run is held.
      await app.operations.inFlight.idle();
      const runs = (await api('GET', '/catalogs/slow/imports?limit=1')).json().runs;
      expect(runs[0]).toMatchObject({
        status: 'held',
        heldReasons: [expect.objectContaining({ code: 'fetch_failed' })],
      });
      const products = (await api('GET', '/catalogs/slow/products')).json();
      expect(products.products.map((p: { sku: string }) => p.sku)).toEqual(['S-1', 'S-2']);
    });

    it('reads the timeouts from the environment', () => {
      const c = loadConfig({ FEEDWRIGHT_HEADERS_TIMEOUT_MS: '2000', FEEDWRIGHT_REQUEST_TIMEOUT_MS: '9000' });
      expect(c).toMatchObject({ headersTimeoutMs: 2000, requestTimeoutMs: 9000 });
      expect(loadConfig({})).toMatchObject({ headersTimeoutMs: 30_000, requestTimeoutMs: 3_600_000 });
      expect(() =>
        loadConfig({ FEEDWRIGHT_HEADERS_TIMEOUT_MS: '9000', FEEDWRIGHT_REQUEST_TIMEOUT_MS: '2000' }),
      ).toThrow(/must not be shorter/);
    });
  });

  describe('progress on a terminal', () => {
    const terminal = (isTTY: boolean) => {
      const written: string[] = [];
      const stream = {
        isTTY,
        columns: 200,
        write: (s: string) => {
          written.push(s);
          return true;
        },
      } as unknown as NodeJS.WriteStream;
      return { written, stream };
    };

    it('shows a bar and a percentage when the total is known', () => {
      const { written, stream } = terminal(true);
      const progress = new Progress('import shop', stream);
      progress.update('reading', 120_000, { done: 3 * 1024 * 1024, total: 12 * 1024 * 1024, unit: 'bytes' });
      progress.done();
      expect(written[0]).toContain('import shop reading █████░░░░░░░░░░░░░░░  25 %');
      expect(written[0]).toContain('3.0 MiB of 12.0 MiB');
      expect(written[0]).toContain('120,000 rows');
      expect(written.at(-1)).toBe('\r\x1b[2K');
      expect(
        describeProgress(
          'publish market',
          'products',
          { phase: 'building', count: 8000, share: { done: 8000, total: 20_000, unit: 'count' } },
          2000,
        ),
      ).toMatch(
        /publish market building ████████░{12} {2}40 % · 8,000 of 20,000 products \(4,000 products\/s\)$/,
      );
    });

    it('is silent when stderr is not a terminal', () => {
      const { written, stream } = terminal(false);
      const progress = new Progress('import shop', stream);
      progress.update('reading', 10, { done: 1, total: 2, unit: 'bytes' });
      progress.done();
      expect(written).toEqual([]);
    });
  });
});
