import fs from 'node:fs';
import net from 'node:net';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runImport } from '../src/import/run.js';
import type { UrlSource } from '../src/model/catalog.js';
import type { FetchLimits } from '../src/sources/url.js';
import { saveCatalog } from '../src/store/catalogs.js';
import { readHistory } from '../src/store/history.js';
import { countProducts, getProduct, listProducts, type StoredProduct } from '../src/store/products.js';
import { type FixtureServer, startFixtureServer } from './helpers/fixture-server.js';
import { samplePath } from './helpers/samples.js';
import { openTestStore, type TestStore } from './helpers/store.js';

const WOO = fs.readFileSync(samplePath('woocommerce-sample-products.csv'));
const MAPPING = { sku: 'SKU', title: 'Name', price: 'Regular price', quantity: 'Stock' };

/**
 * Fetch limits a test may shorten (the 30 s headers timeout, three times over, would outlast
 * any test). The import path stays the real one: runImport → openSource → fetchFeed, the
 * fetcher's limits only tightened.
 */
const tuning = vi.hoisted(() => ({ limits: undefined as Partial<FetchLimits> | undefined }));
vi.mock(import('../src/sources/url.js'), async (importOriginal) => {
  const real = await importOriginal();
  return {
    ...real,
    fetchFeed: (source, options) =>
      real.fetchFeed(source, { ...options, limits: { ...options.limits, ...tuning.limits } }),
  };
});

describe('a catalog linked to a URL', () => {
  let t: TestStore;
  let server: FixtureServer;

  beforeAll(async () => {
    t = await openTestStore();
    server = await startFixtureServer();
  });
  afterAll(async () => {
    await server.close();
    await t.cleanup();
  });

  const importLinked = (catalogId: string, allowPrivateSources = true, force = false) =>
    runImport(t.store, {
      catalogId,
      input: { kind: 'default' },
      mode: 'full',
      force,
      actor: 'test',
      allowPrivateSources,
    });

  it('fetches the feed, then asks "changed since?" and parses nothing on 304', async () => {
    server.route('/feed.csv', (req, res) => {
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/csv', etag: '"v1"' }).end(WOO);
    });
    await saveCatalog(
      t.store,
      { kind: 'catalog', id: 'linked', source: { url: server.url('/feed.csv') }, mapping: MAPPING },
      'test',
    );

    const first = await importLinked('linked');
    expect(first).toMatchObject({ status: 'applied', counts: { created: 25 } });
    expect(first.source).toBe(`url:${server.url('/feed.csv')}`);

    const second = await importLinked('linked');
    expect(second).toMatchObject({ status: 'not_modified', counts: { rows: 0 } });
    expect(server.requests.at(-1)?.headers['if-none-match']).toBe('"v1"');
    const events = await readHistory(t.store, { catalog: 'linked', type: 'import', limit: 10 });
    expect(events.events[0]).toMatchObject({ type: 'import.not_modified', run: second.id });

    // --force fetches the whole feed again, unconditionally.
    const forced = await importLinked('linked', true, true);
    expect(forced).toMatchObject({ status: 'applied', counts: { unchanged: 25 } });
    expect(server.requests.at(-1)?.headers['if-none-match']).toBeUndefined();
  });

  it('holds the run and keeps the catalog when the download is cut mid-way', async () => {
    server.route('/cut.csv', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv', 'content-length': String(WOO.length) });
      res.write(WOO.subarray(0, Math.floor(WOO.length / 2)));
      setTimeout(() => res.destroy(), 20);
    });
    await saveCatalog(
      t.store,
      { kind: 'catalog', id: 'cut', source: { url: server.url('/cut.csv') }, mapping: MAPPING },
      'test',
    );
    await runImport(t.store, {
      catalogId: 'cut',
      input: { kind: 'upload', stream: toStream(WOO) },
      mode: 'full',
      force: false,
      actor: 'test',
    });
    const before = await getProduct(t.store, 'cut', 'woo-belt');

    const run = await importLinked('cut');
    expect(run.status).toBe('held');
    expect(run.applicable).toBe(false);
    // Half the body came: the feed was fetched, and cut.
    expect(run.heldReasons[0]).toMatchObject({
      code: 'fetch_failed',
      message: expect.stringMatching(
        /^the feed could not be read to its end: the download of \S+ was truncated after \d+ of \d+ bytes/,
      ),
    });
    expect(await countProducts(t.store, 'cut')).toBe(25);
    expect(await getProduct(t.store, 'cut', 'woo-belt')).toEqual(before);
  });

  it("refuses a URL of the server's own network unless private sources are allowed", async () => {
    server.reset();
    server.route('/private.csv', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' }).end(WOO);
    });
    await saveCatalog(
      t.store,
      { kind: 'catalog', id: 'private', source: { url: server.url('/private.csv') }, mapping: MAPPING },
      'test',
    );
    const refused = await importLinked('private', false);
    expect(refused.status).toBe('held');
    expect(refused.heldReasons[0]?.message).toMatch(/^the feed could not be fetched: .*loopback/i);
    expect(server.connections).toBe(0);
    expect(await countProducts(t.store, 'private')).toBe(0);

    const allowed = await importLinked('private', true);
    expect(allowed).toMatchObject({ status: 'applied', counts: { created: 25 } });
  });

  describe('when the merchant server misbehaves', () => {
    afterEach(() => {
      tuning.limits = undefined;
      vi.restoreAllMocks();
    });

    it('holds the run on a 404 after one request, with the status, the catalog untouched', async () => {
      const before = await seeded('gone', '/gone.csv');
      server.route('/gone.csv', (_req, res) => {
        res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>');
      });
      const run = await importLinked('gone');
      expect(run.status).toBe('held');
      expect(run.heldReasons).toEqual([
        {
          code: 'fetch_failed',
          message: `the feed could not be fetched: GET ${server.url('/gone.csv')} answered 404 Not Found`,
        },
      ]);
      expect(run.heldReasons[0]?.message).not.toMatch(/attempts/);
      // A 4xx is the merchant's answer, not a hiccup: asked once, not again.
      expect(server.hits('/gone.csv')).toBe(1);
      expect(await heldCode('gone')).toBe('SOURCE_HTTP_ERROR');
      expect(await productsOf('gone')).toEqual(before);
    });

    it('applies the feed when a 503 recovers on the third request', async () => {
      server.route('/flaky.csv', (_req, res, hit) => {
        if (hit < 3) res.writeHead(503, { 'content-type': 'text/plain' }).end('maintenance');
        else res.writeHead(200, { 'content-type': 'text/csv' }).end(WOO);
      });
      await saveCatalog(
        t.store,
        { kind: 'catalog', id: 'flaky', source: { url: server.url('/flaky.csv') }, mapping: MAPPING },
        'test',
      );
      const run = await importLinked('flaky');
      expect(run).toMatchObject({ status: 'applied', counts: { rows: 25, created: 25, errors: 0 } });
      expect(server.hits('/flaky.csv')).toBe(3);
      expect((await getProduct(t.store, 'flaky', 'woo-belt'))?.fields.title).toBe('Belt');
    });

    it('holds the run when the headers do not come in time, naming the timeout', async () => {
      tuning.limits = { headersTimeoutMs: 300, retryBaseDelayMs: 20, retryMaxDelayMs: 50 };
      const before = await seeded('mute', '/mute.csv');
      // Accepts the request and never answers.
      server.route('/mute.csv', () => {});
      const started = Date.now();
      const run = await importLinked('mute');
      expect(run.status).toBe('held');
      expect(run.heldReasons).toEqual([
        {
          code: 'fetch_failed',
          message: `the feed could not be fetched: ${server.url('/mute.csv')} sent no response within 300 ms (after 3 attempts)`,
        },
      ]);
      // Timeouts are retried (three attempts), each cut at the headers timeout, not at 30 s.
      expect(server.hits('/mute.csv')).toBe(3);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await heldCode('mute')).toBe('SOURCE_TIMEOUT');
      expect(await productsOf('mute')).toEqual(before);
    });

    it.each([
      ['as a Content-Encoding', '/encoded.csv', { 'content-type': 'text/csv', 'content-encoding': 'gzip' }],
      ['as a .csv.gz file', '/export.csv.gz', { 'content-type': 'application/gzip' }],
    ])('applies a gzip feed served %s', async (_how, route, headers) => {
      const id = route === '/encoded.csv' ? 'gz-encoded' : 'gz-file';
      const gzip = zlib.gzipSync(WOO);
      server.route(route, (_req, res) => {
        res.writeHead(200, { ...headers, 'content-length': String(gzip.length) }).end(gzip);
      });
      await saveCatalog(
        t.store,
        { kind: 'catalog', id, source: { url: server.url(route) }, mapping: MAPPING },
        'test',
      );
      const run = await importLinked(id);
      expect(run).toMatchObject({ status: 'applied', counts: { rows: 25, created: 25, errors: 0 } });
      expect((await getProduct(t.store, id, 'woo-belt'))?.fields).toMatchObject({ title: 'Belt', price: 65 });
    });

    it.each([
      {
        how: 'as a Content-Encoding',
        id: 'gz-encoded-cut',
        headers: { 'content-type': 'text/csv', 'content-encoding': 'gzip' },
        // The fetcher decodes the body: it reports the cut.
        reason: {
          code: 'fetch_failed',
          message:
            /^the feed could not be read to its end: the download of \S+ was truncated: its compressed body ends in the middle of the stream/,
        },
      },
      {
        how: 'as a .csv.gz file',
        id: 'gz-file-cut',
        headers: { 'content-type': 'application/gzip' },
        // The bytes reach the reader as they are: it detects gzip and reports the cut.
        reason: { code: 'parse_failed', message: /^gzip: the compressed feed is cut short/ },
      },
    ])(
      'holds the run and keeps the catalog when a gzip feed served $how is cut mid-way',
      async ({ id, headers, reason }) => {
        const route = `/${id}.csv${id === 'gz-file-cut' ? '.gz' : ''}`;
        const before = await seeded(id, route);
        // A newer feed (every price changed), of which only the first half of the gzip stream
        // arrives; the HTTP response itself ends cleanly, so only the gzip stream tells.
        const gzip = zlib.gzipSync(Buffer.from(WOO.toString('utf8').replaceAll(',65,', ',66,')));
        server.route(route, (_req, res) => {
          res.writeHead(200, headers).end(gzip.subarray(0, Math.floor(gzip.length / 2)));
        });
        const run = await importLinked(id);
        expect(run.status).toBe('held');
        expect(run.heldReasons).toEqual([
          { code: reason.code, message: expect.stringMatching(reason.message) },
        ]);
        expect(server.hits(route)).toBe(1);
        expect(await productsOf(id)).toEqual(before);
      },
    );

    it('refuses a redirect to the cloud metadata address before connecting, even with private sources allowed', async () => {
      const connects: string[] = [];
      const realConnect = net.connect;
      vi.spyOn(net, 'connect').mockImplementation(((options: net.TcpNetConnectOpts) => {
        connects.push(options.host ?? '');
        // The test's own firewall: were the guard broken, this would fail the run differently.
        if (net.isIP(options.host ?? '') && options.host !== '127.0.0.1') {
          throw new Error(`test firewall: ${options.host}`);
        }
        return realConnect(options);
      }) as typeof net.connect);
      const before = await seeded('metadata', '/to-metadata.csv');
      server.route('/to-metadata.csv', (_req, res) => {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      });

      const run = await importLinked('metadata', true);
      expect(run.status).toBe('held');
      expect(run.heldReasons).toEqual([
        {
          code: 'fetch_failed',
          message: expect.stringMatching(
            /^the feed could not be fetched: refused to fetch http:\/\/169\.254\.169\.254\/latest\/meta-data\/: 169\.254\.169\.254 is a cloud metadata address/,
          ),
        },
      ]);
      // The merchant server was asked once (a refusal is not retried); 169.254.169.254 never.
      expect(server.hits('/to-metadata.csv')).toBe(1);
      expect(connects).toEqual(['127.0.0.1']);
      expect(await heldCode('metadata')).toBe('SOURCE_FORBIDDEN_ADDRESS');
      expect(await productsOf('metadata')).toEqual(before);
    });
  });

  describe('with secrets in the source definition', () => {
    const AUTH_ENV = 'FW_TEST_FEED_PASSWORD';
    const KEY_ENV = 'FW_TEST_FEED_KEY';
    const source = (route: string): UrlSource => ({
      url: server.url(route),
      auth: { username: 'merchant', passwordEnv: AUTH_ENV },
      headers: { 'x-api-key': { env: KEY_ENV }, 'x-shop': 'acme' },
    });
    /** Answers the feed only to the right credentials, as a shop's export endpoint does. */
    const guarded = (route: string) =>
      server.route(route, (req, res) => {
        const basic = `Basic ${Buffer.from('merchant:s3cr3t:pass', 'utf8').toString('base64')}`;
        if (req.headers.authorization !== basic || req.headers['x-api-key'] !== 'key-42') {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="export"' }).end();
        } else res.writeHead(200, { 'content-type': 'text/csv' }).end(WOO);
      });

    afterEach(() => {
      delete process.env[AUTH_ENV];
      delete process.env[KEY_ENV];
    });

    it('sends Basic auth and headers read from the environment', async () => {
      process.env[AUTH_ENV] = 's3cr3t:pass';
      process.env[KEY_ENV] = 'key-42';
      guarded('/secret.csv');
      await saveCatalog(
        t.store,
        { kind: 'catalog', id: 'secret', source: source('/secret.csv'), mapping: MAPPING },
        'test',
      );
      const run = await importLinked('secret');
      expect(run).toMatchObject({ status: 'applied', counts: { created: 25 } });
      const seen = server.requests.filter((r) => r.path === '/secret.csv');
      expect(seen).toHaveLength(1);
      expect(seen[0]?.headers).toMatchObject({
        authorization: `Basic ${Buffer.from('merchant:s3cr3t:pass').toString('base64')}`,
        'x-api-key': 'key-42',
        'x-shop': 'acme',
      });
      // The secrets are sent, never recorded.
      const history = JSON.stringify(await readHistory(t.store, { catalog: 'secret', limit: 100 }));
      expect(JSON.stringify(run)).not.toMatch(/s3cr3t|key-42/);
      expect(history).not.toMatch(/s3cr3t|key-42/);
    });

    it.each([
      ['the password', AUTH_ENV, KEY_ENV],
      ['a header', KEY_ENV, AUTH_ENV],
    ])(
      'names the variable and the catalog, and asks nothing, when %s is not set',
      async (_what, missing, set) => {
        process.env[set] = set === AUTH_ENV ? 's3cr3t:pass' : 'key-42';
        const id = missing === AUTH_ENV ? 'no-password' : 'no-key';
        const route = `/${id}.csv`;
        guarded(route);
        await saveCatalog(t.store, { kind: 'catalog', id, source: source(route), mapping: MAPPING }, 'test');
        const run = await importLinked(id);
        expect(run.status).toBe('held');
        expect(run.heldReasons).toHaveLength(1);
        expect(run.heldReasons[0]?.message).toMatch(/^the feed could not be fetched: /);
        expect(run.heldReasons[0]?.message).toContain(`environment variable ${missing}, which is not set`);
        expect(run.heldReasons[0]?.message).toContain(`catalog ${id}`);
        expect(server.hits(route)).toBe(0);
      },
    );
  });

  /** Every product of a catalog, as a reader sees it. */
  async function productsOf(catalogId: string): Promise<StoredProduct[]> {
    return (await listProducts(t.store, catalogId, { limit: 1000 })).products;
  }

  /** A catalog linked to `route`, already holding the 25 WooCommerce products (uploaded). */
  async function seeded(id: string, route: string): Promise<StoredProduct[]> {
    await saveCatalog(
      t.store,
      { kind: 'catalog', id, source: { url: server.url(route) }, mapping: MAPPING },
      'test',
    );
    const first = await runImport(t.store, {
      catalogId: id,
      input: { kind: 'upload', stream: toStream(WOO) },
      mode: 'full',
      force: false,
      actor: 'test',
    });
    expect(first.status).toBe('applied');
    const products = await productsOf(id);
    expect(products).toHaveLength(25);
    return products;
  }

  /** The error code history recorded with the catalog's last held run. */
  async function heldCode(catalogId: string): Promise<unknown> {
    const events = await readHistory(t.store, { catalog: catalogId, type: 'import.held', limit: 1 });
    return events.events[0]?.data.code;
  }
});

function toStream(buf: Buffer): Readable {
  return Readable.from([buf]);
}
