/**
 * Order-to-feed latency (`npm run bench:orders -- --products N --orders M`): how long after
 * an order's answer every channel's served feed holds the stock that order left. A catalog
 * of N generated products is imported, three channels (CSV, Google Shopping XML, JSON, each
 * with the 10-rule set) are published, and the service listens on 127.0.0.1 with its
 * publisher running as `serve` runs it. Orders (1 unit of a product with ≥ 10 in stock) go
 * to `POST /api/channels/{id}/orders`, one every `--interval-ms` (default 250); after each
 * answer the bench reads the catalog's stock revision (≥ the order's own) and polls `HEAD`
 * on the three feed URLs until each serves a publication built from that revision or a
 * later one. Latency = that moment − the order's answer; p50 and p99 over the orders.
 * Targets (issue 6): p99 under 1 s at 10,000 products, under 5 s at 1,000,000.
 *
 * A script, not a test: PostgreSQL when DATABASE_URL is set (a fresh schema, dropped at the
 * end), PGlite in a temporary folder otherwise. Figures go to bench/results/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { putChannel } from '../src/channels/service.js';
import { buildApp } from '../src/http/app.js';
import { runImport } from '../src/import/run.js';
import { putRuleSet } from '../src/rules/service.js';
import { saveCatalog } from '../src/store/catalogs.js';
import { getChannel } from '../src/store/channels.js';
import { migrate } from '../src/store/migrate.js';
import { BENCH_CATALOG, CATALOG_ID, ensureCatalogFile } from './catalog-data.js';
import {
  fmtLoad,
  machineInfo,
  openBenchStore,
  Progress,
  renderTable,
  runBench,
  UsageError,
  wholeNumber,
  writeResults,
} from './harness.js';
import { BENCH_RULE_SET } from './ten-rules.js';

const USAGE =
  'usage: npm run bench:orders -- [--products N (10000)] [--orders N (200)] [--interval-ms N (250)]';

interface Options {
  products: number;
  orders: number;
  intervalMs: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { products: 10_000, orders: 200, intervalMs: 250 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--products') o.products = wholeNumber('--products', v);
    else if (a === '--orders') o.orders = wholeNumber('--orders', v);
    else if (a === '--interval-ms') o.intervalMs = wholeNumber('--interval-ms', v, 0);
    else throw new UsageError(`unknown option ${a}`);
    i++;
  }
  return o;
}

const KEY = 'bench-key';
const CHANNELS = [
  { id: 'orders-csv', preset: 'generic-csv' as const },
  { id: 'orders-google', preset: 'google-shopping' as const, options: { currency: 'EUR' } },
  { id: 'orders-json', preset: 'json' as const },
];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const load = os.loadavg();
  const progress = new Progress();
  const file = await ensureCatalogFile(opts.products, false, progress);
  const bench = await openBenchStore();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-orders-bench-'));
  const { store } = bench;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    await migrate(store);
    await saveCatalog(store, BENCH_CATALOG, 'bench');
    const importStarted = performance.now();
    const run = await runImport(store, {
      catalogId: CATALOG_ID,
      input: { kind: 'file', path: file.path },
      mode: 'full',
      force: true,
      actor: 'bench',
    });
    const importMs = performance.now() - importStarted;
    if (run.status !== 'applied') throw new Error(`the import was ${run.status}`);
    await store.transaction(async (tx) => {
      await putRuleSet(tx, BENCH_RULE_SET, 'bench');
      for (const c of CHANNELS) {
        await putChannel(tx, { kind: 'channel', catalog: CATALOG_ID, rules: ['bench'], ...c }, 'bench');
      }
    });

    app = await buildApp({ store, apiKey: KEY, maxUploadBytes: 1024 * 1024, dataDir });
    const publisher = app.feeds.publisher;
    const firstStarted = performance.now();
    await publisher.check();
    const firstBuildsMs = performance.now() - firstStarted;
    publisher.start();
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const feeds = await Promise.all(
      CHANNELS.map(async (c) => {
        const ch = await getChannel(store, c.id);
        if (!ch) throw new Error(`no channel ${c.id}`);
        const ext = c.preset === 'google-shopping' ? 'xml' : c.preset === 'json' ? 'json' : 'csv';
        return { id: c.id, url: `${address}/feeds/${c.id}/${ch.token}.${ext}` };
      }),
    );
    const skus = (
      await store.query<{ sku: string }>({
        text: `SELECT sku FROM products WHERE catalog_id = $1 AND jsonb_typeof(fields->'quantity') = 'number'
                 AND (fields->>'quantity')::int >= 10 ORDER BY md5(sku) LIMIT $2`,
        values: [CATALOG_ID, opts.orders],
      })
    ).map((r) => r.sku);
    if (skus.length === 0) throw new Error('no product with 10 or more units to order');

    // Which stock revision each served publication was built from (versions never change).
    const revisionOf = new Map<string, number>();
    const servedRevision = async (feed: { id: string; url: string }): Promise<number> => {
      const res = await fetch(feed.url, { method: 'HEAD' });
      const version = res.headers.get('x-feed-version');
      if (!version) return -1;
      const key = `${feed.id}:${version}`;
      let rev = revisionOf.get(key);
      if (rev === undefined) {
        const rows = await store.query<{ r: number | string }>({
          text: 'SELECT stock_revision AS r FROM publications WHERE channel_id = $1 AND version = $2',
          values: [feed.id, Number(version)],
        });
        rev = Number(rows[0]?.r ?? -1);
        revisionOf.set(key, rev);
      }
      return rev;
    };
    const currentRevision = async () =>
      Number(
        (
          await store.query<{ r: number | string }>({
            text: 'SELECT revision AS r FROM catalog_stock WHERE catalog_id = $1',
            values: [CATALOG_ID],
          })
        )[0]?.r,
      );

    const latencies: number[] = [];
    const waits: Promise<void>[] = [];
    let failures = 0;
    const ordersStarted = performance.now();
    for (let i = 0; i < skus.length; i++) {
      const channel = CHANNELS[i % CHANNELS.length]?.id as string;
      const res = await fetch(`${address}/api/channels/${channel}/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          orderId: `bench-${i}`,
          status: 'paid',
          lines: [{ sku: skus[i], quantity: 1 }],
        }),
      });
      const answered = performance.now();
      if (res.status !== 201) {
        failures++;
        continue;
      }
      const revision = await currentRevision();
      waits.push(
        (async () => {
          for (;;) {
            const served = await Promise.all(feeds.map(servedRevision));
            if (served.every((r) => r >= revision)) {
              latencies.push(performance.now() - answered);
              return;
            }
            if (performance.now() - answered > 10 * 60_000) {
              failures++;
              return;
            }
            await new Promise((r) => setTimeout(r, 20));
          }
        })(),
      );
      if (opts.intervalMs > 0) await new Promise((r) => setTimeout(r, opts.intervalMs));
    }
    await Promise.all(waits);
    const ordersMs = performance.now() - ordersStarted;
    const sorted = [...latencies].sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p99 = percentile(sorted, 99);
    const targetMs = opts.products <= 10_000 ? 1000 : 5000;
    const publications = await store.query<{ channel_id: string; n: number }>({
      text: 'SELECT channel_id, count(*)::int AS n FROM publications GROUP BY channel_id ORDER BY channel_id',
    });
    // How the publications after the first were built: stock-only (incremental) or whole.
    const builds = await store.query<{ kind: string; n: number; p50: number | string; max: number }>({
      text: `SELECT CASE WHEN reason LIKE 'stock moved (%' THEN 'incremental' ELSE 'whole' END AS kind,
                    count(*)::int AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY build_ms) AS p50,
                    max(build_ms)::int AS max
             FROM publications WHERE version > 1 GROUP BY 1 ORDER BY 1`,
    });
    const report = {
      benchmark: 'order-latency',
      startedAt: startedAt.toISOString(),
      options: opts,
      loadAverageAtStart: load,
      machine: machineInfo(),
      backend: bench.backend,
      importMs,
      firstBuildsMs,
      orders: skus.length,
      answered: latencies.length,
      failures,
      ordersMs,
      latencyMs: { p50, p99, max: sorted.at(-1) ?? null, min: sorted[0] ?? null },
      publications: Object.fromEntries(publications.map((p) => [p.channel_id, p.n])),
      buildMs: Object.fromEntries(
        builds.map((b) => [b.kind, { builds: b.n, p50: Number(b.p50), max: b.max }]),
      ),
      target: { p99Ms: targetMs, met: p99 < targetMs && failures === 0 },
    };
    const out = writeResults(`orders-${bench.backend}-${opts.products}`, startedAt, report);
    process.stdout.write(
      `\norder-to-feed latency, ${opts.products.toLocaleString('en-US')} products, ${bench.backend}, load ${fmtLoad(load)}\n`,
    );
    process.stdout.write(
      `${renderTable(
        [
          'orders',
          'p50',
          'p99',
          'max',
          'failures',
          'publications per channel',
          `target p99 < ${targetMs} ms`,
        ],
        [
          [
            String(latencies.length),
            `${Math.round(p50)} ms`,
            `${Math.round(p99)} ms`,
            `${Math.round(sorted.at(-1) ?? 0)} ms`,
            String(failures),
            publications.map((p) => `${p.channel_id} ${p.n}`).join(', '),
            report.target.met ? 'met' : 'NOT met',
          ],
        ],
      )}\n`,
    );
    process.stdout.write(
      `import ${Math.round(importMs)} ms, first three builds ${Math.round(firstBuildsMs)} ms\n`,
    );
    for (const b of builds) {
      process.stdout.write(
        `${b.kind} builds after the first: ${b.n}, build time p50 ${Math.round(Number(b.p50))} ms, max ${b.max} ms\n`,
      );
    }
    process.stdout.write(`results: ${out}\n`);
    if (failures > 0) process.exitCode = 1;
  } finally {
    await app?.feeds.publisher.stop();
    await app?.close();
    await bench.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

runBench(main, USAGE);
