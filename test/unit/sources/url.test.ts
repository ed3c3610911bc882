import type { LookupAddress } from 'node:dns';
import net, { type LookupFunction } from 'node:net';
import { text } from 'node:stream/consumers';
import tls from 'node:tls';
import zlib from 'node:zlib';
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  type MockInstance,
  vi,
} from 'vitest';
import type { AppError } from '../../../src/errors.js';
import { ForbiddenAddressError } from '../../../src/sources/ssrf.js';
import {
  type FeedFetched,
  type FetchFeedOptions,
  type FetchFeedResult,
  fetchFeed,
  SourceFetchError,
} from '../../../src/sources/url.js';
import { type FixtureServer, startFixtureServer } from '../../helpers/fixture-server.js';

const CSV = 'sku,title,quantity\nA-1,Blue mug,4\nA-2,Red mug,0\n';

/** Small limits keep every failure path well under a second. */
const FAST = {
  connectTimeoutMs: 500,
  headersTimeoutMs: 500,
  idleTimeoutMs: 500,
  totalTimeoutMs: 5_000,
  retryBaseDelayMs: 5,
  retryMaxDelayMs: 20,
};

let server: FixtureServer;
let other: FixtureServer;
let netConnect: MockInstance<typeof net.connect>;
let tlsConnect: MockInstance<typeof tls.connect>;

beforeAll(async () => {
  server = await startFixtureServer();
  other = await startFixtureServer();
});

afterAll(async () => {
  await server.close();
  await other.close();
});

const realConnect = net.connect;

/**
 * The tests' own firewall, in front of the guard under test: a socket may only reach
 * 127.0.0.1, whatever the guard lets through. Were the guard broken, its tests would fail
 * here instead of reaching the address they name.
 */
function loopbackOnly(lookup: LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, options, (err, address, family) => {
      const addresses = Array.isArray(address) ? address.map((a) => a.address) : [address];
      if (!err && addresses.some((a) => a !== '127.0.0.1')) {
        callback(new Error(`test firewall: ${hostname} -> ${addresses.join(', ')}`), '');
      } else callback(err, address, family);
    });
  };
}

beforeEach(() => {
  server.reset();
  other.reset();
  netConnect = vi.spyOn(net, 'connect').mockImplementation(((options: net.TcpNetConnectOpts) => {
    if (net.isIP(options.host ?? '') && options.host !== '127.0.0.1') {
      throw new Error(`test firewall: ${options.host}`);
    }
    const lookup = options.lookup;
    return realConnect(lookup ? { ...options, lookup: loopbackOnly(lookup) } : options);
  }) as typeof net.connect);
  tlsConnect = vi.spyOn(tls, 'connect');
});

afterEach(() => {
  for (const [options] of netConnect.mock.calls) {
    const host = (options as { host?: string }).host;
    expect(host === '127.0.0.1' || host?.endsWith('.test'), `connection to ${host}`).toBe(true);
  }
  expect(tlsConnect).not.toHaveBeenCalled();
  vi.restoreAllMocks();
});

function fetchLocal(url: string, options: Partial<FetchFeedOptions> = {}): Promise<FetchFeedResult> {
  return fetchFeed(url, { allowPrivate: true, ...options, limits: { ...FAST, ...options.limits } });
}

async function fetchOk(url: string, options: Partial<FetchFeedOptions> = {}): Promise<FeedFetched> {
  const result = await fetchLocal(url, options);
  if (result.status !== 'ok') throw new Error(`expected a body, got ${result.status}`);
  return result;
}

/** What a failed fetch throws: a SourceFetchError or a ForbiddenAddressError. */
type FetchFailure = AppError & { reason: string };

async function rejection(promise: Promise<unknown>): Promise<FetchFailure> {
  try {
    await promise;
  } catch (err) {
    return err as FetchFailure;
  }
  throw new Error('expected a rejection');
}

/** A resolver under the test's control: every name answers with the given addresses. */
function resolvingTo(...addresses: string[]): LookupFunction & { calls: string[] } {
  const calls: string[] = [];
  const lookup = ((hostname, _options, callback) => {
    calls.push(hostname);
    const answer: LookupAddress[] = addresses.map((address) => ({ address, family: net.isIP(address) }));
    callback(null, answer);
  }) as LookupFunction & { calls: string[] };
  lookup.calls = calls;
  return lookup;
}

describe('fetchFeed: conditional GET', () => {
  it('answers not-modified to the conditional request after a 200 with validators', async () => {
    const lastModified = 'Tue, 03 Mar 2026 10:00:00 GMT';
    server.route('/feed.csv', (req, res) => {
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304, { etag: '"v1"' }).end();
        return;
      }
      res
        .writeHead(200, { 'content-type': 'text/csv', etag: '"v1"', 'last-modified': lastModified })
        .end(CSV);
    });

    const first = await fetchOk(server.url('/feed.csv'));
    expect(await text(first.stream)).toBe(CSV);
    expect(first).toMatchObject({ etag: '"v1"', lastModified, contentType: 'text/csv', attempts: 1 });
    expect(first.finalUrl).toBe(server.url('/feed.csv'));
    expect(first.fetchedAt).toBeInstanceOf(Date);

    const second = await fetchLocal(server.url('/feed.csv'), {
      previous: { etag: first.etag, lastModified: first.lastModified },
    });
    expect(second).toMatchObject({ status: 'not-modified', etag: '"v1"', lastModified });
    expect(server.requests[1]?.headers).toMatchObject({
      'if-none-match': '"v1"',
      'if-modified-since': lastModified,
    });
    expect(server.requests[0]?.headers['user-agent']).toMatch(/^feedwright\/\d+\.\d+\.\d+/);
    // The spies do see undici's sockets: the refusals below that they did not see mean something.
    expect(netConnect).toHaveBeenCalledWith(expect.objectContaining({ host: '127.0.0.1' }));
  });

  it('sends If-Modified-Since alone when only Last-Modified is known', async () => {
    server.route('/dated.csv', (req, res) => {
      if (req.headers['if-modified-since']) res.writeHead(304).end();
      else res.writeHead(200).end(CSV);
    });
    const result = await fetchLocal(server.url('/dated.csv'), {
      previous: { lastModified: 'Tue, 03 Mar 2026 10:00:00 GMT' },
    });
    expect(result.status).toBe('not-modified');
    expect(server.requests[0]?.headers['if-none-match']).toBeUndefined();
  });

  it('refuses a 304 to a request that was not conditional', async () => {
    server.route('/odd', (_req, res) => {
      res.writeHead(304).end();
    });
    const err = await rejection(fetchLocal(server.url('/odd')));
    expect(err.reason).toBe('SOURCE_HTTP_ERROR');
    expect(err.message).toMatch(/not conditional/);
  });
});

describe('fetchFeed: bodies', () => {
  it.each([
    ['gzip', zlib.gzipSync],
    ['deflate', zlib.deflateSync],
    ['br', zlib.brotliCompressSync],
  ] as const)('decodes a %s Content-Encoding', async (encoding, compress) => {
    const body = CSV.repeat(200);
    server.route('/encoded', (_req, res) => {
      const bytes = compress(body);
      res.writeHead(200, { 'content-encoding': encoding, 'content-length': bytes.length }).end(bytes);
    });
    const result = await fetchOk(server.url('/encoded'));
    expect(result.contentEncoding).toBe(encoding);
    expect(result.contentLength).toBeLessThan(body.length);
    expect(await text(result.stream)).toBe(body);
    expect(server.requests[0]?.headers['accept-encoding']).toMatch(/gzip/);
  });

  it('stops the download when the caller destroys the stream', async () => {
    let closed: () => void = () => {};
    const responseClosed = new Promise<void>((resolve) => {
      closed = resolve;
    });
    server.route('/endless', (_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write(CSV), 5);
      res.once('close', () => {
        clearInterval(timer);
        closed();
      });
    });
    const result = await fetchOk(server.url('/endless'));
    for await (const _chunk of result.stream) break;
    await responseClosed;
    expect(result.stream.destroyed).toBe(true);
  });

  it('errors with "truncated" when the body ends before its Content-Length', async () => {
    server.route('/cut', (_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('x'.repeat(400));
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const result = await fetchOk(server.url('/cut'));
    const err = await rejection(text(result.stream));
    expect(err).toBeInstanceOf(SourceFetchError);
    expect(err.reason).toBe('SOURCE_TRUNCATED');
    expect(err.message).toMatch(/truncated after 400 of 1000 bytes/);
    // Nothing is retried once the body reaches the caller.
    expect(server.hits('/cut')).toBe(1);
  });

  it('errors with "truncated" when a gzip body is cut', async () => {
    const gzip = zlib.gzipSync(CSV.repeat(500));
    server.route('/gz-cut', (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzip.subarray(0, gzip.length / 2));
    });
    const result = await fetchOk(server.url('/gz-cut'));
    const err = await rejection(text(result.stream));
    expect(err.reason).toBe('SOURCE_TRUNCATED');
    expect(err.message).toMatch(/truncated/);
  });

  it('reports a corrupt gzip body as unreadable', async () => {
    server.route('/gz-bad', (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' }).end('this is not gzip');
    });
    const result = await fetchOk(server.url('/gz-bad'));
    const err = await rejection(text(result.stream));
    expect(err.reason).toBe('IMPORT_SOURCE_UNREADABLE');
    expect(err.message).toMatch(/corrupt/);
  });

  it('refuses a declared Content-Length over the cap before streaming', async () => {
    server.route('/big', (_req, res) => {
      res.writeHead(200, { 'content-length': '10000' }).end('x'.repeat(10_000));
    });
    const err = await rejection(fetchLocal(server.url('/big'), { limits: { maxBytes: 4096 } }));
    expect(err.reason).toBe('SOURCE_TOO_LARGE');
    expect(err.message).toMatch(/10000 bytes, more than the limit of 4096/);
  });

  it('stops a body without Content-Length at the byte cap', async () => {
    server.route('/big-chunked', (_req, res) => {
      res.writeHead(200);
      for (let i = 0; i < 10; i++) res.write('x'.repeat(1000));
      res.end();
    });
    const result = await fetchOk(server.url('/big-chunked'), { limits: { maxBytes: 4096 } });
    const err = await rejection(text(result.stream));
    expect(err.reason).toBe('SOURCE_TOO_LARGE');
    expect(err.message).toMatch(/limit of 4096 downloaded bytes/);
  });

  it('stops a gzip body at the decompressed-byte cap', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(1024 * 1024));
    server.route('/bomb', (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(bomb);
    });
    const result = await fetchOk(server.url('/bomb'), { limits: { maxDecodedBytes: 100_000 } });
    const err = await rejection(text(result.stream));
    expect(err.reason).toBe('SOURCE_TOO_LARGE');
    expect(err.message).toMatch(/limit of 100000 decompressed bytes/);
  });
});

describe('fetchFeed: timeouts', () => {
  it('times out on slow headers, and retries', async () => {
    server.route('/slow', (_req, res) => {
      setTimeout(() => {
        if (!res.destroyed) res.writeHead(200).end(CSV);
      }, 1000);
    });
    const err = await rejection(
      fetchLocal(server.url('/slow'), { limits: { headersTimeoutMs: 100, attempts: 2 } }),
    );
    expect(err.reason).toBe('SOURCE_TIMEOUT');
    expect(err.message).toMatch(/no response within 100 ms \(after 2 attempts\)/);
    expect(server.hits('/slow')).toBe(2);
  });

  it('times out when the body stalls', async () => {
    server.route('/stall', (_req, res) => {
      res.writeHead(200);
      res.write(CSV);
    });
    const result = await fetchOk(server.url('/stall'), { limits: { idleTimeoutMs: 100 } });
    const err = await rejection(text(result.stream));
    expect(err.reason).toBe('SOURCE_TIMEOUT');
    expect(err.message).toMatch(/no data for 100 ms/);
  });

  it('stops a body that dribbles past the overall deadline', async () => {
    server.route('/dribble', (_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write('x'), 20);
      res.once('close', () => clearInterval(timer));
    });
    const result = await fetchOk(server.url('/dribble'), { limits: { totalTimeoutMs: 300 } });
    const started = Date.now();
    const err = await rejection(text(result.stream));
    expect(err.reason).toBe('SOURCE_TIMEOUT');
    expect(err.message).toMatch(/longer than 300 ms in all/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('times out when the connection cannot be made', async () => {
    const hanging: LookupFunction = () => {};
    const err = await rejection(
      fetchLocal('http://blackhole.test/feed.csv', {
        lookup: hanging,
        limits: { connectTimeoutMs: 100, attempts: 1 },
      }),
    );
    expect(err.reason).toBe('SOURCE_TIMEOUT');
    expect(err.message).toMatch(/could not connect to http:\/\/blackhole.test\/feed.csv within 100 ms/);
  });
});

describe('fetchFeed: retries', () => {
  it('recovers from a 503 on the third try', async () => {
    server.route('/flaky', (_req, res, hit) => {
      if (hit < 3) res.writeHead(503, { 'retry-after': '0' }).end('busy');
      else res.writeHead(200).end(CSV);
    });
    const retries: number[] = [];
    const result = await fetchOk(server.url('/flaky'), { onRetry: (r) => retries.push(r.attempt) });
    expect(await text(result.stream)).toBe(CSV);
    expect(result.attempts).toBe(3);
    expect(server.hits('/flaky')).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it('waits longer before each retry: doubling from the base with jitter, up to the cap', async () => {
    const arrivals: number[] = [];
    server.route('/backoff', (_req, res) => {
      arrivals.push(performance.now());
      res.writeHead(503).end('busy');
    });
    const retries: { attempt: number; delayMs: number }[] = [];
    const err = await rejection(
      fetchLocal(server.url('/backoff'), {
        limits: { attempts: 5, retryBaseDelayMs: 80, retryMaxDelayMs: 400 },
        onRetry: ({ attempt, delayMs }) => retries.push({ attempt, delayMs }),
      }),
    );
    expect(err.message).toMatch(/answered 503 Service Unavailable \(after 5 attempts\)/);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3, 4]);
    const delays = retries.map((r) => r.delayMs);
    // Retry n waits between half and all of base × 2^(n-1), never more than the cap.
    const bounds = [
      [40, 80],
      [80, 160],
      [160, 320],
      [200, 400],
    ];
    delays.forEach((delay, i) => {
      expect(delay, `retry ${i + 1}`).toBeGreaterThanOrEqual(bounds[i]?.[0] ?? 0);
      expect(delay, `retry ${i + 1}`).toBeLessThanOrEqual(bounds[i]?.[1] ?? 0);
    });
    // Each window starts where the one before ends: the waits never shrink until the cap.
    expect(delays[1]).toBeGreaterThanOrEqual(delays[0] ?? Number.POSITIVE_INFINITY);
    expect(delays[2]).toBeGreaterThanOrEqual(delays[1] ?? Number.POSITIVE_INFINITY);
    // The server saw the waits: each request came at least its delay after the one before.
    expect(arrivals).toHaveLength(5);
    for (let i = 1; i < arrivals.length; i++) {
      const gap = (arrivals[i] ?? 0) - (arrivals[i - 1] ?? 0);
      expect(gap, `gap before request ${i + 1}`).toBeGreaterThanOrEqual((delays[i - 1] ?? 0) - 1);
    }
  });

  it('waits as long as Retry-After asks, up to the longest backoff', async () => {
    server.route('/retry-after', (_req, res, hit) => {
      if (hit === 1) res.writeHead(503, { 'retry-after': '1' }).end('busy');
      else if (hit === 2) res.writeHead(503, { 'retry-after': '3600' }).end('busy');
      else res.writeHead(200).end(CSV);
    });
    const delays: number[] = [];
    const result = await fetchOk(server.url('/retry-after'), {
      limits: { retryBaseDelayMs: 10, retryMaxDelayMs: 1100 },
      onRetry: ({ delayMs }) => delays.push(delayMs),
    });
    expect(await text(result.stream)).toBe(CSV);
    // One second asked for and given, though the backoff alone would wait 5 to 10 ms; an hour
    // asked for, and the cap given.
    expect(delays).toEqual([1000, 1100]);
  });

  it('gives up after three 5xx answers with the status in the error', async () => {
    server.route('/down', (_req, res) => {
      res.writeHead(502).end();
    });
    const err = await rejection(fetchLocal(server.url('/down')));
    expect(err.reason).toBe('SOURCE_HTTP_ERROR');
    expect(err.message).toMatch(/answered 502 Bad Gateway \(after 3 attempts\)/);
    expect(err.details).toMatchObject({ status: 502 });
    expect(server.hits('/down')).toBe(3);
  });

  it('does not retry a 404, and names the status', async () => {
    server.route('/gone', (_req, res) => {
      res.writeHead(404).end();
    });
    const err = await rejection(fetchLocal(server.url('/gone')));
    expect(err).toBeInstanceOf(SourceFetchError);
    expect(err.reason).toBe('SOURCE_HTTP_ERROR');
    expect(err.message).toBe(`GET ${server.url('/gone')} answered 404 Not Found`);
    expect(err.details).toMatchObject({ status: 404 });
    expect(server.hits('/gone')).toBe(1);
  });

  it('retries a connection reset before the headers', async () => {
    server.route('/reset', (req, res, hit) => {
      if (hit === 1) req.socket.destroy();
      else res.writeHead(200).end(CSV);
    });
    const result = await fetchOk(server.url('/reset'));
    expect(await text(result.stream)).toBe(CSV);
    expect(server.hits('/reset')).toBe(2);
  });

  it('stops when the caller aborts', async () => {
    server.route('/slow-abort', () => {});
    const controller = new AbortController();
    const pending = fetchLocal(server.url('/slow-abort'), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('import cancelled')), 50);
    const err = await rejection(pending);
    expect(err.message).toBe('import cancelled');
  });
});

describe('fetchFeed: redirects', () => {
  function chain(prefix: string, length: number): void {
    for (let i = 0; i < length; i++) {
      server.route(`${prefix}/${i}`, (_req, res) => {
        res.writeHead(302, { location: `${prefix}/${i + 1}` }).end();
      });
    }
    server.route(`${prefix}/${length}`, (_req, res) => {
      res.writeHead(200).end(CSV);
    });
  }

  it('follows five redirects', async () => {
    chain('/five', 5);
    const result = await fetchOk(server.url('/five/0'));
    expect(await text(result.stream)).toBe(CSV);
    expect(result.finalUrl).toBe(server.url('/five/5'));
  });

  it('gives up after more than five redirects', async () => {
    chain('/six', 6);
    const err = await rejection(fetchLocal(server.url('/six/0')));
    expect(err.reason).toBe('SOURCE_HTTP_ERROR');
    expect(err.message).toMatch(/redirected more than 5 times/);
    expect(server.hits('/six/6')).toBe(0);
    expect(server.requests).toHaveLength(6);
  });
});

describe('fetchFeed: credentials and headers', () => {
  const auth = { username: 'merchant', password: 'pa:ss-w0rd' };
  const basic = `Basic ${Buffer.from('merchant:pa:ss-w0rd').toString('base64')}`;

  it('sends Basic auth and custom headers', async () => {
    server.route('/private.csv', (req, res) => {
      if (req.headers.authorization === basic) res.writeHead(200).end(CSV);
      else res.writeHead(401).end();
    });
    const result = await fetchOk(server.url('/private.csv'), { auth, headers: { 'X-Api-Key': 'k-123' } });
    expect(await text(result.stream)).toBe(CSV);
    expect(server.requests[0]?.headers['x-api-key']).toBe('k-123');
  });

  it('takes credentials out of the URL, and out of every message', async () => {
    server.route('/private.csv', (_req, res) => {
      res.writeHead(403).end();
    });
    const url = `http://merchant:pa%3Ass-w0rd@127.0.0.1:${server.port}/private.csv`;
    const err = await rejection(fetchLocal(url));
    expect(server.requests[0]?.headers.authorization).toBe(basic);
    expect(err.message).toMatch(/403 Forbidden/);
    expect(`${err.message} ${JSON.stringify(err.details)}`).not.toMatch(/pa:ss|pa%3Ass|merchant/);
  });

  it('keeps credentials on a same-origin redirect and drops them on a cross-origin one', async () => {
    server.route('/moved', (_req, res) => {
      res.writeHead(301, { location: '/here' }).end();
    });
    server.route('/here', (_req, res) => {
      res.writeHead(302, { location: other.url('/cdn.csv') }).end();
    });
    other.route('/cdn.csv', (_req, res) => {
      res.writeHead(200).end(CSV);
    });
    const result = await fetchOk(server.url('/moved'), { auth, headers: { 'x-api-key': 'k-123' } });
    expect(await text(result.stream)).toBe(CSV);
    expect(server.requests.map((r) => r.headers.authorization)).toEqual([basic, basic]);
    expect(other.requests[0]?.headers.authorization).toBeUndefined();
    expect(other.requests[0]?.headers['x-api-key']).toBeUndefined();
    expect(other.requests[0]?.headers['user-agent']).toMatch(/^feedwright\//);
  });

  it('refuses headers the fetcher owns', async () => {
    await expect(fetchLocal(server.url('/x'), { headers: { Host: 'evil.example' } })).rejects.toMatchObject({
      code: 'DEFINITION_INVALID',
    });
    expect(server.connections).toBe(0);
  });
});

describe('fetchFeed: the SSRF guard', () => {
  it('refuses the local server when private sources are not allowed', async () => {
    server.route('/feed.csv', (_req, res) => {
      res.writeHead(200).end(CSV);
    });
    const err = await rejection(fetchFeed(server.url('/feed.csv'), { allowPrivate: false }));
    expect(err).toBeInstanceOf(ForbiddenAddressError);
    expect(err.reason).toBe('SOURCE_FORBIDDEN_ADDRESS');
    expect(err.message).toMatch(/127\.0\.0\.1 is a loopback address/);
    expect(server.connections).toBe(0);
    expect(netConnect).not.toHaveBeenCalled();
  });

  it.each([
    'http://2130706433:PORT/',
    'http://0x7f.1:PORT/',
    'http://0x7f000001:PORT/',
    'http://0177.0.0.1:PORT/',
    'http://017700000001:PORT/',
    'http://127.1:PORT/',
    'http://[::ffff:127.0.0.1]:PORT/',
    'http://[::ffff:7f00:1]:PORT/',
    'http://localhost:PORT/',
    'http://0:PORT/',
  ])('refuses %s before connecting', async (pattern) => {
    const err = await rejection(
      fetchFeed(pattern.replace('PORT', String(server.port)), { allowPrivate: false }),
    );
    expect(err).toBeInstanceOf(ForbiddenAddressError);
    expect(server.connections).toBe(0);
    expect(netConnect).not.toHaveBeenCalled();
  });

  it('refuses a redirect to the cloud metadata address, even on premise', async () => {
    server.route('/to-metadata', (_req, res) => {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end();
    });
    const err = await rejection(fetchLocal(server.url('/to-metadata')));
    expect(err).toBeInstanceOf(ForbiddenAddressError);
    expect(err.message).toBe(
      'refused to fetch http://169.254.169.254/latest/meta-data: 169.254.169.254 is a cloud metadata address',
    );
    expect(server.hits('/to-metadata')).toBe(1);
    // One socket, to the fixture server; none towards 169.254.169.254 (see afterEach).
    expect(netConnect).toHaveBeenCalledTimes(1);
  });

  it.each([
    'http://[::ffff:a9fe:a9fe]/latest/meta-data',
    'http://0xa9fea9fe/',
    'http://[fe80::1]/',
    'file:///etc/passwd',
  ])('refuses a redirect to %s', async (location) => {
    server.route('/jump', (_req, res) => {
      res.writeHead(307, { location }).end();
    });
    const err = await rejection(fetchLocal(server.url('/jump')));
    expect(err).toBeInstanceOf(ForbiddenAddressError);
    expect(netConnect).toHaveBeenCalledTimes(1);
  });

  it('refuses a redirect to a name that resolves to the metadata address, at connection time', async () => {
    server.route('/to-name', (_req, res) => {
      res.writeHead(302, { location: 'http://metadata.test/latest/meta-data' }).end();
    });
    const lookup = resolvingTo('169.254.169.254');
    const err = await rejection(fetchLocal(server.url('/to-name'), { lookup }));
    expect(err).toBeInstanceOf(ForbiddenAddressError);
    expect(err.message).toMatch(/metadata\.test resolves to 169\.254\.169\.254, a cloud metadata address/);
    expect(lookup.calls).toEqual(['metadata.test']);
  });

  it('refuses a name that resolves to 127.0.0.1 at connection time (DNS rebinding)', async () => {
    server.route('/feed.csv', (_req, res) => {
      res.writeHead(200).end(CSV);
    });
    const url = `http://rebind.test:${server.port}/feed.csv`;
    const lookup = resolvingTo('127.0.0.1');
    const err = await rejection(fetchFeed(url, { allowPrivate: false, lookup, limits: FAST }));
    expect(err).toBeInstanceOf(ForbiddenAddressError);
    expect(err.message).toMatch(/rebind\.test resolves to 127\.0\.0\.1, a loopback address/);
    expect(lookup.calls).toEqual(['rebind.test']);
    expect(server.connections).toBe(0);

    // The same resolver on premise reaches the server: the refusal above came from the
    // addresses, not from the name.
    const allowed = await fetchOk(url, { lookup });
    expect(await text(allowed.stream)).toBe(CSV);
    expect(server.connections).toBe(1);
  });

  it.each([[['93.184.216.34', '127.0.0.1']], [['::ffff:127.0.0.1']], [['10.0.0.7']]])(
    'refuses a name resolving to %j without connecting anywhere',
    async (addresses) => {
      const lookup = resolvingTo(...addresses);
      const err = await rejection(
        fetchFeed(`http://mixed.test:${server.port}/`, { allowPrivate: false, lookup, limits: FAST }),
      );
      expect(err).toBeInstanceOf(ForbiddenAddressError);
      expect(server.connections).toBe(0);
    },
  );
});
