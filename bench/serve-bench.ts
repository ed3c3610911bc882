/**
 * Serve benchmark (`npm run bench:serve`): a fresh store (PostgreSQL when DATABASE_URL is
 * set, PGlite otherwise) with the import bench's catalog of `--products` products (10,000
 * by default) and one CSV channel built from it, served by the real fastify app on
 * 127.0.0.1. A child process (the load generator, so that it does not share the server's
 * event loop) runs autocannon for a bounded time against the feed URL:
 *   (1) conditional requests (If-None-Match: the ETag), answered 304;
 *   (2) the whole feed, 200; (3) the whole feed with Accept-Encoding: gzip, 200;
 * and then, on a second catalog of `--serve-products` products (1,000,000 by default),
 *   (4) 20 clients fetching that feed at once, each streaming and discarding it: the
 *       server's RSS must stay flat however large the feed.
 * The server process samples its own RSS every 50 ms. Prints a table and writes the
 * figures as JSON under bench/results/. A script, not a test: it checks what was served
 * (status codes, bytes, the fetch log's counts, the feed's sha256) and exits 1 when a
 * check fails.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { feedPath, putChannel } from '../src/channels/service.js';
import { buildApp } from '../src/http/app.js';
import { runImport } from '../src/import/run.js';
import type { ChannelDefinition } from '../src/model/channel.js';
import { buildChannelFeed } from '../src/publish/build/build.js';
import { readPublication } from '../src/publish/pack/index.js';
import { putRuleSet } from '../src/rules/service.js';
import { saveCatalog } from '../src/store/catalogs.js';
import { getChannel } from '../src/store/channels.js';
import { migrate } from '../src/store/migrate.js';
import { latestPublication, type Publication } from '../src/store/publications.js';
import type { Store } from '../src/store/types.js';
import { BENCH_CATALOG, CATALOG_ID, ensureCatalogFile } from './catalog-data.js';
import {
  fmtInt,
  fmtLoad,
  fmtMiB,
  fmtSec,
  gitState,
  machineInfo,
  openBenchStore,
  Progress,
  packageVersion,
  RssSampler,
  renderTable,
  reportFailures,
  runBench,
  wholeNumberOptions,
  writeResults,
} from './harness.js';
import { BENCH_RULE_SET } from './ten-rules.js';

// ---------------------------------------------------------------------------------------
// Options

const DEFAULTS = {
  products: 10_000,
  serveProducts: 1_000_000,
  duration: 10,
  connections: 10,
  clients: 20,
  streamSeconds: 30,
};
/** The issue's target for conditional requests answered 304. */
const TARGET_304_PER_SEC = 10_000;
/** Growth of the server's RSS, serving the large feed to every client at once, that still counts as flat. */
const FLAT_LIMIT_BYTES = 64 * 1024 * 1024;
const WARM_UP_SECONDS = 2;
/** The argument that makes this script the load generator (the child process). */
const LOAD_ROLE = '--load-generator';

const USAGE = `usage: npm run bench:serve -- [--products N] [--serve-products N] [--duration S]
                                 [--connections N] [--clients N] [--stream-seconds S]

  --products N        products of the catalog served in (1)–(3) (default ${fmtInt(DEFAULTS.products)})
  --serve-products N  products of the feed served to all clients at once in (4) (default ${fmtInt(DEFAULTS.serveProducts)}; 0 skips (4))
  --duration S        seconds of each autocannon run (default ${DEFAULTS.duration})
  --connections N     autocannon connections in (1)–(3) (default ${DEFAULTS.connections})
  --clients N         clients fetching the large feed at once in (4) (default ${DEFAULTS.clients})
  --stream-seconds S  (4) stops the clients that are not done after this long (default ${DEFAULTS.streamSeconds})

Runs against PostgreSQL when DATABASE_URL is set (in a fresh schema, dropped at the end),
against PGlite in a fresh temporary folder otherwise.`;

type BenchOptions = typeof DEFAULTS;

function parseArgs(argv: string[]): BenchOptions {
  return wholeNumberOptions(
    argv,
    DEFAULTS,
    {
      '--products': 'products',
      '--serve-products': 'serveProducts',
      '--duration': 'duration',
      '--connections': 'connections',
      '--clients': 'clients',
      '--stream-seconds': 'streamSeconds',
    },
    USAGE,
    { serveProducts: 0 },
  );
}

// ---------------------------------------------------------------------------------------
// The load generator (child process): runs what the server process asks, answers figures.

/** autocannon's programmatic API, as far as this bench uses it (the package has no types). */
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
  latency: { average: number; p50: number; p90: number; p99: number; max: number };
  requests: { average: number; total: number; sent: number };
  throughput: { average: number; total: number };
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
  timeout?: number;
}) => Promise<AutocannonResult>;

/** What one autocannon run measured. */
interface CannonSummary {
  seconds: number;
  /** Responses received whole. */
  completed: number;
  /** Requests sent (those in flight at the end were never answered). */
  sent: number;
  /** completed / seconds. */
  perSec: number;
  /** autocannon's mean of its per-second samples. */
  perSecSampled: number;
  latencyMs: { average: number; p50: number; p90: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  bytes: number;
  bytesPerSec: number;
}

/** One client of (4). */
interface StreamClient {
  status: number | null;
  contentLength: number | null;
  bytes: number;
  ms: number;
  complete: boolean;
  error: string | null;
}

type LoadRequest =
  | {
      id: number;
      kind: 'cannon';
      url: string;
      connections: number;
      duration: number;
      headers: Record<string, string>;
    }
  | { id: number; kind: 'stream'; url: string; clients: number; timeoutMs: number }
  | { kind: 'exit' };
type LoadReply =
  | { id: number; result: CannonSummary | StreamClient[]; cpuMs: number; wallMs: number }
  | { id: number; error: string };

/** What the load generator answered, and the CPU time it spent on it (user + system, all threads). */
interface Loaded<T> {
  value: T;
  cpuMs: number;
  wallMs: number;
}

async function loadGenerator(): Promise<void> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  process.on('message', (message: LoadRequest) => {
    if (message.kind === 'exit') {
      process.disconnect();
      return;
    }
    const cpu = process.cpuUsage();
    const started = performance.now();
    const work: Promise<CannonSummary | StreamClient[]> =
      message.kind === 'cannon' ? cannon(autocannon, message) : streamClients(message);
    work.then(
      (result) => {
        const used = process.cpuUsage(cpu);
        const reply: LoadReply = {
          id: message.id,
          result,
          cpuMs: (used.user + used.system) / 1000,
          wallMs: performance.now() - started,
        };
        process.send?.(reply);
      },
      (err: unknown) => process.send?.({ id: message.id, error: String(err) } satisfies LoadReply),
    );
  });
}

async function cannon(
  autocannon: Autocannon,
  req: Extract<LoadRequest, { kind: 'cannon' }>,
): Promise<CannonSummary> {
  const r = await autocannon({
    url: req.url,
    connections: req.connections,
    duration: req.duration,
    headers: req.headers,
    timeout: 30,
  });
  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(r.statusCodeStats)) statusCodes[code] = Number(count);
  return {
    seconds: r.duration,
    completed: r.requests.total,
    sent: r.requests.sent,
    perSec: r.requests.total / r.duration,
    perSecSampled: r.requests.average,
    latencyMs: {
      average: r.latency.average,
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      max: r.latency.max,
    },
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
    bytes: r.throughput.total,
    bytesPerSec: r.throughput.average,
  };
}

/** `clients` GETs at once, each read to its end and discarded; those not done by the deadline are cut. */
function streamClients(req: Extract<LoadRequest, { kind: 'stream' }>): Promise<StreamClient[]> {
  const started = performance.now();
  const requests: http.ClientRequest[] = [];
  const runs = Array.from(
    { length: req.clients },
    () =>
      new Promise<StreamClient>((resolve) => {
        const client: StreamClient = {
          status: null,
          contentLength: null,
          bytes: 0,
          ms: 0,
          complete: false,
          error: null,
        };
        const finish = (error: string | null) => {
          if (client.ms !== 0) return;
          client.ms = performance.now() - started;
          client.error = error;
          client.complete = error === null && client.bytes === client.contentLength;
          resolve(client);
        };
        const request = http.get(req.url, { agent: false }, (res) => {
          client.status = res.statusCode ?? null;
          const length = res.headers['content-length'];
          client.contentLength = length === undefined ? null : Number(length);
          res.on('data', (chunk: Buffer) => {
            client.bytes += chunk.length;
          });
          res.on('end', () => finish(null));
          res.on('error', (err) => finish(err.message));
          res.on('aborted', () => finish('aborted'));
        });
        request.on('error', (err) => finish(err.message));
        requests.push(request);
      }),
  );
  const deadline = setTimeout(() => {
    for (const r of requests) r.destroy(new Error(`cut at the ${req.timeoutMs / 1000} s bound`));
  }, req.timeoutMs);
  return Promise.all(runs).finally(() => clearTimeout(deadline));
}

/** The server side's handle on the load generator. */
class LoadGenerator {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (reply: LoadReply) => {
      const w = this.waiting.get(reply.id);
      if (!w) return;
      this.waiting.delete(reply.id);
      if ('error' in reply) w.reject(new Error(`load generator: ${reply.error}`));
      else w.resolve({ value: reply.result, cpuMs: reply.cpuMs, wallMs: reply.wallMs });
    });
    child.on('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`load generator exited (${code})`));
      this.waiting.clear();
    });
  }

  static start(): LoadGenerator {
    const script = fileURLToPath(import.meta.url);
    return new LoadGenerator(fork(script, [LOAD_ROLE], { execArgv: [], stdio: 'inherit' }));
  }

  cannon(url: string, connections: number, duration: number, headers: Record<string, string>) {
    return this.ask<Loaded<CannonSummary>>({
      id: this.nextId++,
      kind: 'cannon',
      url,
      connections,
      duration,
      headers,
    });
  }

  stream(url: string, clients: number, timeoutMs: number) {
    return this.ask<Loaded<StreamClient[]>>({ id: this.nextId++, kind: 'stream', url, clients, timeoutMs });
  }

  stop(): void {
    if (this.child.connected) this.child.send({ kind: 'exit' } satisfies LoadRequest);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private ask<T>(req: Exclude<LoadRequest, { kind: 'exit' }>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(req.id, { resolve: resolve as (r: unknown) => void, reject });
      this.child.send(req);
    });
  }
}

// ---------------------------------------------------------------------------------------
// Measuring (the server process)

/** One autocannon run's figures with the server's memory during it. */
interface RunResult {
  id: string;
  name: string;
  expectedStatus: number;
  headers: Record<string, string>;
  connections: number;
  loadAverage: number[];
  startRssBytes: number;
  peakRssBytes: number;
  cannon: CannonSummary;
  /** CPU time over wall time (1 = one core busy) of the server process and of the load generator. */
  serverCpu: number;
  clientCpu: number;
  /** Responses of another status than expected. */
  unexpected: number;
  /** What the fetch log recorded for the channel during the run, by status. */
  logged: Record<string, number>;
  target?: { description: string; met: boolean };
}

/** (4): every client at once on the large feed. */
interface FlatnessResult {
  products: number;
  feedBytes: number;
  clients: StreamClient[];
  complete: number;
  bytes: number;
  wallMs: number;
  loadAverage: number[];
  startRssBytes: number;
  peakRssBytes: number;
  deltaBytes: number;
  flat: boolean;
  serverCpu: number;
  clientCpu: number;
  logged: Record<string, number>;
}

async function fetchCounts(store: Store, channelId: string): Promise<Record<string, number>> {
  const rows = await store.query<{ status: number; n: number }>({
    text: 'SELECT status, count(*)::int AS n FROM channel_fetches WHERE channel_id = $1 GROUP BY status',
    values: [channelId],
  });
  return Object.fromEntries(rows.map((r) => [String(r.status), Number(r.n)]));
}

function countsSince(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [status, n] of Object.entries(after)) {
    const d = n - (before[status] ?? 0);
    if (d !== 0) out[status] = d;
  }
  return out;
}

/** Runs `body` after a GC, sampling this process's RSS every 50 ms. */
async function withRss<T>(body: () => Promise<T>) {
  const loadAverage = os.loadavg();
  globalThis.gc?.();
  const startRssBytes = process.memoryUsage.rss();
  const sampler = new RssSampler();
  sampler.start();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await body();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const cpuShare = (used.user + used.system) / 1000 / wallMs;
  return { value, wallMs, cpuShare, loadAverage, startRssBytes, peakRssBytes: sampler.stop() };
}

/** A GET's status, headers and body (for the checks, not for timing). */
function get(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>(
    (resolve, reject) => {
      http
        .get(url, { headers, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        })
        .on('error', reject);
    },
  );
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------------------------------
// Report

// autocannon records latencies in whole milliseconds: 0 is under one.
function fmtMs(ms: number): string {
  return ms === 0 ? '< 1 ms' : `${ms.toFixed(0)} ms`;
}

const tty = process.stdout.isTTY === true;

/** Says what runs now, on a terminal only (`settle` replaces the line). */
function announce(text: string): void {
  if (tty) process.stdout.write(`  ${text}`);
}

function settle(text: string): void {
  if (tty) process.stdout.write(`\r\x1b[K  ${text}\n`);
  else console.log(`  ${text}`);
}

/** CPU time over wall time, as a share of one core. */
function fmtCpu(share: number): string {
  return `${Math.round(share * 100)} %`;
}

function fmtCounts(c: Record<string, number>): string {
  const parts = Object.entries(c).map(([status, n]) => `${status}×${fmtInt(n)}`);
  return parts.length === 0 ? '—' : parts.join(' ');
}

function renderRuns(runs: RunResult[]): string {
  return renderTable(
    [
      'run',
      'conns',
      'time',
      'responses',
      'resp/s',
      'p50',
      'p99',
      'errors',
      'unexpected',
      'MiB/s',
      'server CPU',
      'client CPU',
      'logged',
      'target',
      'RSS before',
      'peak RSS',
      'load at start',
    ],
    runs.map((r) => [
      `(${r.id}) ${r.name}`,
      String(r.connections),
      `${r.cannon.seconds.toFixed(1)} s`,
      fmtInt(r.cannon.completed),
      fmtInt(r.cannon.perSec),
      fmtMs(r.cannon.latencyMs.p50),
      fmtMs(r.cannon.latencyMs.p99),
      fmtInt(r.cannon.errors),
      fmtInt(r.unexpected),
      (r.cannon.bytesPerSec / 1024 / 1024).toFixed(1),
      fmtCpu(r.serverCpu),
      fmtCpu(r.clientCpu),
      fmtCounts(r.logged),
      r.target ? `${r.target.description} ${r.target.met ? 'met' : 'MISSED'}` : '',
      fmtMiB(r.startRssBytes),
      fmtMiB(r.peakRssBytes),
      fmtLoad(r.loadAverage),
    ]),
  );
}

function renderFlatness(f: FlatnessResult): string {
  return renderTable(
    [
      'run',
      'clients',
      'whole',
      'received',
      'wall',
      'MiB/s',
      'server CPU',
      'client CPU',
      'RSS before',
      'peak RSS',
      'growth',
      'flat',
      'load at start',
    ],
    [
      [
        `(4) ${fmtInt(f.products)}-product feed (${fmtMiB(f.feedBytes)}), all at once`,
        String(f.clients.length),
        `${f.complete}/${f.clients.length}`,
        fmtMiB(f.bytes),
        fmtSec(f.wallMs),
        (f.bytes / 1024 / 1024 / (f.wallMs / 1000)).toFixed(0),
        fmtCpu(f.serverCpu),
        fmtCpu(f.clientCpu),
        fmtMiB(f.startRssBytes),
        fmtMiB(f.peakRssBytes),
        `${(f.deltaBytes / 1024 / 1024).toFixed(1)} MiB`,
        `${f.flat ? 'yes' : 'NO'} (≤ ${fmtMiB(FLAT_LIMIT_BYTES)})`,
        fmtLoad(f.loadAverage),
      ],
    ],
  );
}

// ---------------------------------------------------------------------------------------
// Main

const SMALL_CHANNEL: ChannelDefinition = {
  kind: 'channel',
  id: 'serve-csv',
  catalog: CATALOG_ID,
  preset: 'generic-csv',
  rules: [BENCH_RULE_SET.id],
};
const LARGE_CATALOG = 'bench-large';
const LARGE_CHANNEL: ChannelDefinition = { ...SMALL_CHANNEL, id: 'serve-large', catalog: LARGE_CATALOG };

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const progress = new Progress();
  const startedAt = new Date();
  const loadAtStart = os.loadavg();
  // Taken now, closest to when dist/ was built from src/.
  const git = gitState();
  if (!globalThis.gc)
    console.log('note: run with --expose-gc (npm run bench:serve does) for a GC before each run');
  console.log(
    `feedwright serve benchmark: ${fmtInt(opts.products)}-product feed for (1)–(3), ${
      opts.serveProducts > 0 ? `${fmtInt(opts.serveProducts)}-product feed for (4)` : '(4) skipped'
    }; load average ${fmtLoad(loadAtStart)}`,
  );
  const small = await ensureCatalogFile(opts.products, false, progress);
  const large =
    opts.serveProducts > 0 ? await ensureCatalogFile(opts.serveProducts, false, progress) : undefined;
  for (const f of [small, large]) {
    if (!f) continue;
    const how = f.generatedMs === null ? 'reused' : `generated in ${fmtSec(f.generatedMs)}`;
    console.log(`  ${path.relative(process.cwd(), f.path)}  ${fmtMiB(f.bytes)}  (${how})`);
  }

  const bench = await openBenchStore();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-serve-bench-'));
  let load: LoadGenerator | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    load?.stop();
    await app?.close().catch(() => {});
    fs.rmSync(dataDir, { recursive: true, force: true });
    await bench.cleanup();
  };
  const onInterrupt = () => {
    progress.stop();
    console.error(`\ninterrupted: removing ${bench.where} and ${dataDir}`);
    cleaned = true;
    interrupted = true;
    load?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    bench
      .abort()
      .catch((err) => console.error(`cleanup failed: ${String(err)}`))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onInterrupt);

  const failures: string[] = [];
  const runs: RunResult[] = [];
  let flatness: FlatnessResult | undefined;
  const setup: Record<string, number> = {};
  try {
    const { store } = bench;
    await migrate(store);
    await saveCatalog(store, BENCH_CATALOG, 'bench');
    await saveCatalog(
      store,
      { ...BENCH_CATALOG, id: LARGE_CATALOG, name: 'Serve benchmark (large)' },
      'bench',
    );
    await store.transaction(async (tx) => {
      await putRuleSet(tx, BENCH_RULE_SET, 'bench');
      await putChannel(tx, SMALL_CHANNEL, 'bench');
      await putChannel(tx, LARGE_CHANNEL, 'bench');
    });
    const serverVersion =
      (await store.query<{ server_version: string }>({ text: 'SHOW server_version' }))[0]?.server_version ??
      null;
    console.log(`  backend: ${bench.backend} ${serverVersion ?? ''} (${bench.where})`);

    /** Imports a catalog file and builds its channel; checks both counts. */
    const publish = async (
      catalogId: string,
      channelId: string,
      file: string,
      n: number,
    ): Promise<Publication> => {
      const t0 = performance.now();
      progress.start(`import ${fmtInt(n)} products`, n);
      const run = await runImport(store, {
        catalogId,
        input: { kind: 'file', path: file },
        mode: 'full',
        force: false,
        actor: 'bench',
        onProgress: (p) => progress.update(p.phase, p.rows),
      }).finally(() => progress.stop());
      setup[`import ${catalogId}`] = performance.now() - t0;
      if (run.status !== 'applied' || run.counts.created !== n)
        failures.push(
          `import of ${catalogId}: ${run.status}, created ${fmtInt(run.counts.created)}, expected ${fmtInt(n)}`,
        );
      const t1 = performance.now();
      progress.start(`build ${channelId}`, n);
      const p = await buildChannelFeed(
        { store, dataDir },
        { channelId, reason: 'benchmark', actor: 'bench', onProgress: (r) => progress.update('building', r) },
      ).finally(() => progress.stop());
      setup[`build ${channelId}`] = performance.now() - t1;
      if (p.items + p.excluded !== n)
        failures.push(
          `build of ${channelId}: items ${fmtInt(p.items)} + excluded ${fmtInt(p.excluded)} ≠ ${fmtInt(n)}`,
        );
      console.log(
        `  ${catalogId}: imported ${fmtInt(n)} in ${fmtSec(setup[`import ${catalogId}`] ?? 0)}, ${channelId} built in ${fmtSec(
          setup[`build ${channelId}`] ?? 0,
        )}: ${fmtInt(p.items)} items, ${fmtMiB(p.bytes)} (gzip ${fmtMiB(p.gzipBytes)})`,
      );
      return p;
    };
    const smallPub = await publish(CATALOG_ID, SMALL_CHANNEL.id, small.path, opts.products);

    const apiKey = randomBytes(24).toString('base64url');
    app = await buildApp({
      store,
      apiKey,
      maxUploadBytes: 1024 * 1024,
      dataDir,
    });
    const server = app;
    await server.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('the app listens on no TCP port');
    const base = `http://127.0.0.1:${address.port}`;
    const feedUrl = async (id: string) => {
      const channel = await getChannel(store, id);
      if (!channel) throw new Error(`no channel ${id}`);
      return `${base}${feedPath(channel)}`;
    };
    const url = await feedUrl(SMALL_CHANNEL.id);
    console.log(`  serving ${url.replace(/\/[^/]+(\.csv)$/, '/…$1')} (pid ${process.pid})`);

    // What is served must be the publication: its bytes, its gzip twin, its ETag and a 304.
    // (The ETag is the publication's checksum, over its pieces' sha256s: the bytes are
    // compared with the feed file itself.)
    const plain = await get(url);
    const etag = `"${smallPub.sha256}"`;
    const smallSha = sha256(await readPublication(dataDir, smallPub, 'feed'));
    if (plain.status !== 200 || sha256(plain.body) !== smallSha || plain.headers.etag !== etag)
      failures.push(
        `GET feed: ${plain.status}, ${fmtInt(plain.body.length)} bytes, ETag ${plain.headers.etag}; expected 200, ${fmtInt(smallPub.bytes)} bytes of sha256 ${smallSha}`,
      );
    const gz = await get(url, { 'accept-encoding': 'gzip' });
    if (
      gz.status !== 200 ||
      gz.headers['content-encoding'] !== 'gzip' ||
      sha256(gunzipSync(gz.body)) !== smallSha
    )
      failures.push(
        `GET feed with gzip: ${gz.status}, encoding ${gz.headers['content-encoding']}, not the feed's bytes`,
      );
    const notModified = await get(url, { 'if-none-match': etag });
    if (notModified.status !== 304)
      failures.push(`GET feed with If-None-Match: ${notModified.status}, expected 304`);

    const generator = LoadGenerator.start();
    load = generator;
    console.log(
      `  load generator: pid ${generator.pid} (a child process), autocannon ${packageVersion('autocannon')}`,
    );
    await generator.cannon(url, opts.connections, WARM_UP_SECONDS, { 'if-none-match': etag });

    const plan: Array<Pick<RunResult, 'id' | 'name' | 'expectedStatus' | 'headers'> & { bodyBytes: number }> =
      [
        {
          id: '1',
          name: '304, If-None-Match',
          expectedStatus: 304,
          headers: { 'if-none-match': etag },
          bodyBytes: 0,
        },
        { id: '2', name: '200, whole feed', expectedStatus: 200, headers: {}, bodyBytes: smallPub.bytes },
        {
          id: '3',
          name: '200, whole feed, gzip',
          expectedStatus: 200,
          headers: { 'accept-encoding': 'gzip' },
          bodyBytes: smallPub.gzipBytes,
        },
      ];
    const measure = async (step: (typeof plan)[number]) => {
      const label = `(${step.id}) ${step.name}`;
      announce(`${label}: ${opts.duration} s…`);
      await server.feeds.fetchLog.flush();
      const before = await fetchCounts(store, SMALL_CHANNEL.id);
      const m = await withRss(() => generator.cannon(url, opts.connections, opts.duration, step.headers));
      await server.feeds.fetchLog.flush();
      const logged = countsSince(await fetchCounts(store, SMALL_CHANNEL.id), before);
      const c = m.value.value;
      const expected = c.statusCodes[String(step.expectedStatus)] ?? 0;
      const run: RunResult = {
        id: step.id,
        name: step.name,
        expectedStatus: step.expectedStatus,
        headers: step.headers,
        connections: opts.connections,
        loadAverage: m.loadAverage,
        startRssBytes: m.startRssBytes,
        peakRssBytes: m.peakRssBytes,
        cannon: c,
        serverCpu: m.cpuShare,
        clientCpu: m.value.cpuMs / m.value.wallMs,
        unexpected: c.completed - expected,
        logged,
      };
      if (step.id === '1')
        run.target = {
          description: `≥ ${fmtInt(TARGET_304_PER_SEC)}/s`,
          met: c.perSec >= TARGET_304_PER_SEC,
        };
      runs.push(run);
      settle(
        `${label}: ${fmtInt(c.perSec)} responses/s, p50 ${fmtMs(c.latencyMs.p50)}, p99 ${fmtMs(c.latencyMs.p99)}, peak RSS ${fmtMiB(m.peakRssBytes)}`,
      );
      // Checks: every response as expected, none lost, each logged once.
      if (expected === 0) failures.push(`${label}: no ${step.expectedStatus} response at all`);
      if (run.unexpected > 0)
        failures.push(
          `${label}: ${fmtInt(run.unexpected)} responses of another status (${fmtCounts(c.statusCodes)})`,
        );
      if (c.errors > 0)
        failures.push(`${label}: ${fmtInt(c.errors)} errors (${fmtInt(c.timeouts)} timeouts)`);
      // Headers count in autocannon's bytes; the bodies alone must be there in full.
      if (c.bytes < expected * step.bodyBytes)
        failures.push(
          `${label}: ${fmtInt(c.bytes)} bytes received for ${fmtInt(expected)} bodies of ${fmtInt(step.bodyBytes)}`,
        );
      const loggedExpected = logged[String(step.expectedStatus)] ?? 0;
      const loggedTotal = Object.values(logged).reduce((a, b) => a + b, 0);
      if (loggedExpected < expected || loggedTotal > c.sent)
        failures.push(
          `${label}: the fetch log has ${fmtCounts(logged)} for ${fmtInt(expected)} responses received and ${fmtInt(c.sent)} requests sent`,
        );
    };
    for (const step of plan) await measure(step);

    // (5), (6): the same feed after a stock-only rebuild, served from its packs (the last
    // whole build's and the delta pack of the one segment written again).
    const movedSku = await firstSku(store);
    const pushed = await server.inject({
      method: 'PATCH',
      url: `/api/catalogs/${CATALOG_ID}/stock`,
      headers: { authorization: `Bearer ${apiKey}` },
      payload: [{ sku: movedSku, quantity: 0 }],
    });
    await server.feeds.publisher.check();
    const deltaPub = await latestPublication(store, SMALL_CHANNEL.id);
    if (pushed.statusCode !== 200 || !deltaPub || !/^stock moved \(1 sku\)$/.test(deltaPub.reason))
      failures.push(
        `stock push: ${pushed.statusCode}, then publication "${deltaPub?.reason}"; expected a stock-only rebuild`,
      );
    else {
      server.feeds.states.invalidate(SMALL_CHANNEL.id);
      // Checked against the whole feed served before: the same lines but the pushed sku's.
      const served = await get(url);
      const before = plain.body.toString('utf8').split('\r\n');
      const after = served.body.toString('utf8').split('\r\n');
      const beforeSet = new Set(before);
      const afterSet = new Set(after);
      const changed = [...before.filter((l) => !afterSet.has(l)), ...after.filter((l) => !beforeSet.has(l))];
      if (
        served.status !== 200 ||
        served.body.length !== deltaPub.bytes ||
        served.headers.etag !== `"${deltaPub.sha256}"` ||
        changed.length === 0 ||
        changed.some((line) => !line.includes(movedSku))
      )
        failures.push(
          `GET feed after the stock push: ${served.status}, ${fmtInt(served.body.length)} bytes, lines changed: ${changed.length}; expected ${fmtInt(deltaPub.bytes)} bytes and only ${movedSku}'s line changed`,
        );
      const servedGz = await get(url, { 'accept-encoding': 'gzip' });
      if (!gunzipSync(servedGz.body).equals(served.body))
        failures.push("GET feed with gzip after the stock push: not the new publication's bytes");
      // Their fetches are logged once the server's response hook has run: not in (5)'s count.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await measure({
        id: '5',
        name: '200, whole feed, delta packs',
        expectedStatus: 200,
        headers: {},
        bodyBytes: deltaPub.bytes,
      });
      await measure({
        id: '6',
        name: '200, gzip, delta packs',
        expectedStatus: 200,
        headers: { 'accept-encoding': 'gzip' },
        bodyBytes: deltaPub.gzipBytes,
      });
    }
    if (app.feeds.fetchLog.droppedCount > 0)
      failures.push(
        `the fetch log dropped ${fmtInt(app.feeds.fetchLog.droppedCount)} fetches (the store could not keep up)`,
      );

    // (4) The large feed to every client at once.
    if (large) {
      const largePub = await publish(LARGE_CATALOG, LARGE_CHANNEL.id, large.path, opts.serveProducts);
      const largeUrl = await feedUrl(LARGE_CHANNEL.id);
      await app.feeds.fetchLog.flush();
      const before = await fetchCounts(store, LARGE_CHANNEL.id);
      announce(`(4) ${opts.clients} clients × ${fmtMiB(largePub.bytes)}, at most ${opts.streamSeconds} s…`);
      const m = await withRss(() => generator.stream(largeUrl, opts.clients, opts.streamSeconds * 1000));
      await app.feeds.fetchLog.flush();
      const clients = m.value.value;
      const deltaBytes = m.peakRssBytes - m.startRssBytes;
      flatness = {
        products: opts.serveProducts,
        feedBytes: largePub.bytes,
        clients,
        complete: clients.filter((c) => c.complete).length,
        bytes: clients.reduce((a, c) => a + c.bytes, 0),
        wallMs: m.wallMs,
        loadAverage: m.loadAverage,
        startRssBytes: m.startRssBytes,
        peakRssBytes: m.peakRssBytes,
        deltaBytes,
        flat: deltaBytes <= FLAT_LIMIT_BYTES,
        serverCpu: m.cpuShare,
        clientCpu: m.value.cpuMs / m.value.wallMs,
        logged: countsSince(await fetchCounts(store, LARGE_CHANNEL.id), before),
      };
      settle(
        `(4) ${opts.clients} clients: ${flatness.complete} whole in ${fmtSec(m.wallMs)}, server RSS ${fmtMiB(m.startRssBytes)} → peak ${fmtMiB(m.peakRssBytes)}`,
      );
      const cut = `cut at the ${opts.streamSeconds} s bound`;
      for (const [i, c] of clients.entries()) {
        if (c.status !== 200)
          failures.push(`(4) client ${i + 1}: status ${c.status ?? 'none'} (${c.error ?? ''})`);
        else if (c.contentLength !== largePub.bytes)
          failures.push(
            `(4) client ${i + 1}: Content-Length ${c.contentLength}, the feed has ${fmtInt(largePub.bytes)} bytes`,
          );
        else if (!c.complete && c.error !== cut)
          failures.push(
            `(4) client ${i + 1}: ${fmtInt(c.bytes)} of ${fmtInt(largePub.bytes)} bytes (${c.error ?? 'ended early'})`,
          );
      }
      if (!flatness.flat)
        failures.push(
          `(4) the server's RSS grew by ${fmtMiB(deltaBytes)} serving ${opts.clients} clients at once (flat: ≤ ${fmtMiB(FLAT_LIMIT_BYTES)})`,
        );
    }

    console.log(`\n${renderRuns(runs)}`);
    if (flatness) console.log(`\n${renderFlatness(flatness)}`);
    const r304 = runs.find((r) => r.id === '1');
    if (r304)
      console.log(
        `\n  304s: ${fmtInt(r304.cannon.perSec)}/s against a target of ${fmtInt(TARGET_304_PER_SEC)}/s (${r304.target?.met ? 'met' : 'MISSED'}); fastify answering a small cached body did about 41,000/s on this machine (the issue's figure)`,
      );
    if (flatness && flatness.complete < flatness.clients.length)
      console.log(
        `  (4): ${flatness.clients.length - flatness.complete} clients were cut at the ${opts.streamSeconds} s bound (received ${fmtMiB(flatness.bytes)} of ${fmtMiB(flatness.feedBytes * flatness.clients.length)})`,
      );

    const out = writeResults(`serve-${bench.backend}-${opts.products}-${opts.serveProducts}`, startedAt, {
      benchmark: 'serve',
      startedAt: startedAt.toISOString(),
      options: opts,
      loadAverageAtStart: loadAtStart,
      machine: machineInfo(),
      backend: {
        kind: bench.backend,
        serverVersion,
        pglite: bench.backend === 'pglite' ? packageVersion('@electric-sql/pglite') : null,
      },
      loadGenerator: 'a child process (autocannon for (1)–(3); node:http clients for (4))',
      versions: {
        autocannon: packageVersion('autocannon'),
        fastify: packageVersion('fastify'),
        pg: packageVersion('pg'),
        git,
      },
      feed: {
        channel: SMALL_CHANNEL.id,
        items: smallPub.items,
        bytes: smallPub.bytes,
        gzipBytes: smallPub.gzipBytes,
      },
      setupMs: setup,
      runs,
      flatness: flatness ?? null,
      targets: {
        notModifiedPerSec: {
          target: TARGET_304_PER_SEC,
          value: r304?.cannon.perSec ?? null,
          met: r304?.target?.met ?? null,
        },
        flatness: flatness
          ? { limitBytes: FLAT_LIMIT_BYTES, deltaBytes: flatness.deltaBytes, met: flatness.flat }
          : null,
      },
      ok: failures.length === 0,
      failures,
    });
    console.log(`  results: ${path.relative(process.cwd(), out)}`);
  } finally {
    await cleanup();
    process.off('SIGINT', onInterrupt);
  }
  reportFailures('the serve benchmark did not serve what it should', failures);
}

// Set on Ctrl-C: the run then fails on its vanished store, which is no news to report.
let interrupted = false;

if (process.argv[2] === LOAD_ROLE) {
  void loadGenerator();
} else {
  runBench(main, USAGE, () => interrupted);
}

/** The first sku with 10 or more in stock (the stock push sets it to 0: its line changes). */
async function firstSku(store: Store): Promise<string> {
  const rows = await store.query<{ sku: string }>({
    text: `SELECT sku FROM products WHERE catalog_id = $1 AND (fields->>'quantity')::numeric >= 10
           ORDER BY sku LIMIT 1`,
    values: [CATALOG_ID],
  });
  const sku = rows[0]?.sku;
  if (sku === undefined) throw new Error('the benchmark catalog is empty');
  return sku;
}
