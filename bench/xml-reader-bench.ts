/**
 * XML reader benchmark (`npm run bench:xml -- --products N`): the XML reader on saxes
 * (`parseXml`, src/parse/xml-reader.ts, issue 15) against the streaming tokenizer it
 * replaced (bench/xml-tokenizer.ts), parse only, no store, over the generated Google Shopping
 * catalog (`catalog-v1-<N>.xml`, see catalog-data.ts).
 *
 * Before timing, both read every XML fixture of test/fixtures and the first `--check` items of
 * the catalog, and the records are compared: on the catalog they must be identical (line,
 * data and key order); on the fixtures the differences are listed (the issue's fixtures are
 * feeds the tokenizer read wrong). Then (a) and (b) run `--runs` times each, alternating, so
 * that a change of load on the shared machine falls on both, each run in a process of its own
 * (one run's heap does not inflate the next one's RSS), RSS sampled every 50 ms, the load
 * average noted at the start of each run. A script, not a test: it prints a table, writes its
 * figures to bench/results/ and exits 1 when the records differ on the catalog.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { PACKAGE_ROOT } from '../src/config/config.js';
import type { KeyedFeed, KeyedRecord } from '../src/parse/records.js';
import { parseXml } from '../src/parse/xml.js';
import { ensureXmlFile } from './catalog-data.js';
import {
  fmtInt,
  fmtLoad,
  fmtMiB,
  fmtSec,
  gitState,
  machineInfo,
  Progress,
  packageVersion,
  RssSampler,
  renderTable,
  reportFailures,
  runBench,
  wholeNumberOptions,
  writeResults,
} from './harness.js';
import { parseXmlTokenizer } from './xml-tokenizer.js';

const DEFAULTS = { products: 1_000_000, check: 20_000, runs: 3 };
// The import's own read buffer (src/sources/source.ts).
const READ_CHUNK = 256 * 1024;
const FIXTURE_DIRS = [
  path.join(PACKAGE_ROOT, 'test', 'fixtures'),
  path.join(PACKAGE_ROOT, 'test', 'fixtures', 'parse'),
];

const USAGE = `usage: npm run bench:xml -- [--products N] [--check N] [--runs N]
  --products N  items of the generated Google Shopping feed (default ${DEFAULTS.products.toLocaleString('en-US')})
  --check N     first items of the feed whose records both readers must give identically (default ${DEFAULTS.check.toLocaleString('en-US')})
  --runs N      timed runs of each reader, alternating (default ${DEFAULTS.runs})`;

type Variant = 'a' | 'b';

const LABELS: Record<Variant, string> = {
  a: '(a) tokenizer (before issue 15)',
  b: '(b) saxes reader (parseXml)',
};

const READERS: Record<Variant, (file: string) => Promise<KeyedFeed>> = {
  a: (file) => parseXmlTokenizer(fs.createReadStream(file, { highWaterMark: READ_CHUNK })),
  b: (file) => parseXml(fs.createReadStream(file, { highWaterMark: READ_CHUNK })),
};

// ---------------------------------------------------------------------------------------
// The same records: fixtures and the first items of the catalog

interface Comparison {
  input: string;
  items: number;
  identical: boolean;
  note?: string;
}

interface Read {
  records: KeyedRecord[];
  issues: number;
  error?: string;
}

async function read(variant: Variant, file: string, limit = Number.POSITIVE_INFINITY): Promise<Read> {
  const records: KeyedRecord[] = [];
  let feed: KeyedFeed | undefined;
  try {
    feed = await READERS[variant](file);
    for await (const r of feed.records) {
      records.push(r);
      if (records.length >= limit) break;
    }
    return { records, issues: feed.issues.length };
  } catch (err) {
    return { records, issues: feed?.issues.length ?? 0, error: (err as Error).message };
  }
}

/** The first key path at which two values differ, for the report. */
function firstDifference(a: unknown, b: unknown, at = ''): string {
  if (isDeepStrictEqual(a, b)) return JSON.stringify(a) === JSON.stringify(b) ? '' : `${at} (key order)`;
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = firstDifference(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        `${at}/${k}`,
      );
      if (d !== '') return d;
    }
    return `${at} (key order)`;
  }
  return `${at}: ${JSON.stringify(a)?.slice(0, 50)} ≠ ${JSON.stringify(b)?.slice(0, 50)}`;
}

async function compare(file: string, label: string, limit?: number): Promise<Comparison> {
  const [a, b] = [await read('a', file, limit), await read('b', file, limit)];
  const items = b.records.length;
  if (a.error !== undefined || b.error !== undefined) {
    if (a.error !== undefined && b.error !== undefined)
      return { input: label, items, identical: true, note: 'both refuse it' };
    return {
      input: label,
      items,
      identical: false,
      note: a.error !== undefined ? `only (a) refuses it: ${a.error}` : `only (b) refuses it: ${b.error}`,
    };
  }
  for (let i = 0; i < Math.max(a.records.length, b.records.length); i++) {
    const d = firstDifference(a.records[i], b.records[i]);
    if (d !== '') return { input: label, items, identical: false, note: `item ${i + 1}: ${d}` };
  }
  if (a.issues !== b.issues) {
    return { input: label, items, identical: false, note: `row issues: (a) ${a.issues}, (b) ${b.issues}` };
  }
  return { input: label, items, identical: true };
}

// ---------------------------------------------------------------------------------------
// One timed run, in a process of its own

interface RunResult {
  variant: Variant;
  items: number;
  wallMs: number;
  peakRssBytes: number;
  startRssBytes: number;
  loadStart: number[];
  loadEnd: number[];
}

async function runChild(variant: Variant, file: string): Promise<RunResult> {
  globalThis.gc?.();
  const loadStart = os.loadavg();
  const startRssBytes = process.memoryUsage.rss();
  const sampler = new RssSampler();
  sampler.start();
  const started = performance.now();
  let items = 0;
  const feed = await READERS[variant](file);
  for await (const _ of feed.records) items++;
  const wallMs = performance.now() - started;
  const peakRssBytes = sampler.stop();
  return { variant, items, wallMs, peakRssBytes, startRssBytes, loadStart, loadEnd: os.loadavg() };
}

function spawnRun(variant: Variant, file: string): RunResult {
  const out = path.join(os.tmpdir(), `xml-reader-${process.pid}-${variant}-${Date.now()}.json`);
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), '--child', variant, '--file', file, '--out', out],
    { stdio: 'inherit' },
  );
  if (child.status !== 0) throw new Error(`the ${variant} run exited with ${child.status ?? child.signal}`);
  const result = JSON.parse(fs.readFileSync(out, 'utf8')) as RunResult;
  fs.rmSync(out, { force: true });
  return result;
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    const arg = (name: string) => argv[argv.indexOf(name) + 1] as string;
    const result = await runChild(argv[1] as Variant, arg('--file'));
    fs.writeFileSync(arg('--out'), JSON.stringify(result));
    return;
  }
  const opts = wholeNumberOptions(
    argv,
    DEFAULTS,
    { '--products': 'products', '--check': 'check', '--runs': 'runs' },
    USAGE,
  );
  const startedAt = new Date();
  const feed = await ensureXmlFile(opts.products, new Progress());

  console.log('checking the records (a) and (b) give…');
  const comparisons: Comparison[] = [];
  for (const dir of FIXTURE_DIRS) {
    for (const name of fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.xml'))
      .sort()) {
      const file = path.join(dir, name);
      comparisons.push(await compare(file, path.relative(path.join(PACKAGE_ROOT, 'test'), file)));
    }
  }
  const catalogCheck = await compare(
    feed.path,
    `${path.basename(feed.path)}, first ${fmtInt(opts.check)}`,
    opts.check,
  );
  comparisons.push(catalogCheck);
  console.log(
    renderTable(
      ['input', 'items (b)', 'same', 'note'],
      comparisons.map((c) => [
        c.input,
        fmtInt(c.items),
        c.identical ? 'yes' : 'NO',
        (c.note ?? '').slice(0, 110),
      ]),
      [2, 3],
    ),
  );

  // Alternating, so that a change of load on the machine falls on both.
  const runs: RunResult[] = [];
  for (let i = 0; i < opts.runs; i++) {
    for (const variant of ['a', 'b'] as const) {
      console.log(
        `\n${LABELS[variant]} over ${fmtInt(opts.products)} items (load ${fmtLoad(os.loadavg())})…`,
      );
      const r = spawnRun(variant, feed.path);
      console.log(
        `  ${fmtInt(r.items)} items in ${fmtSec(r.wallMs)}: ${fmtInt((r.items / r.wallMs) * 1000)} items/s, peak RSS ${fmtMiB(r.peakRssBytes)}`,
      );
      runs.push(r);
    }
  }

  const rate = (r: RunResult) => (r.items / r.wallMs) * 1000;
  // Each (b) run against the (a) run just before it: the pair shared the machine's load.
  const pairRatios = runs
    .filter((r) => r.variant === 'b')
    .map((r) => rate(r) / rate(runs[runs.indexOf(r) - 1] as RunResult));
  const median = (xs: number[]) => {
    const s = [...xs].sort((x, y) => x - y);
    const m = Math.floor(s.length / 2);
    return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
  };
  const best = (variant: Variant) => Math.max(...runs.filter((r) => r.variant === variant).map(rate));
  const rows = runs.map((r, i) => [
    LABELS[r.variant],
    fmtInt(r.items),
    fmtSec(r.wallMs),
    fmtInt(rate(r)),
    r.variant === 'b' ? `${(rate(r) / rate(runs[i - 1] as RunResult)).toFixed(2)}×` : '',
    fmtMiB(r.peakRssBytes),
    fmtLoad(r.loadStart),
  ]);
  console.log(
    `\nXML readers, parse only (${os.cpus().length} cores); (b)/(a) against the (a) run just before\n`,
  );
  console.log(
    renderTable(['reader', 'items', 'wall', 'items/s', '(b)/(a)', 'peak RSS', 'load 1/5/15 at start'], rows),
  );
  console.log(
    `\nmedian (b)/(a): ${median(pairRatios).toFixed(2)}×; best (a) ${fmtInt(best('a'))} items/s, best (b) ${fmtInt(best('b'))} items/s`,
  );

  const failures: string[] = [];
  for (const r of runs)
    if (r.items !== opts.products) failures.push(`${LABELS[r.variant]} read ${r.items} items`);
  if (!catalogCheck.identical) failures.push(`(a) and (b) differ on the catalog: ${catalogCheck.note ?? ''}`);
  const out = writeResults(`xml-reader-${opts.products}`, startedAt, {
    bench: 'xml-reader',
    startedAt: startedAt.toISOString(),
    options: opts,
    // The file's name, not its path: results stay free of where the repository lies.
    file: { name: path.basename(feed.path), bytes: feed.bytes, generatedMs: feed.generatedMs },
    comparisons,
    runs: runs.map((r) => ({ ...r, label: LABELS[r.variant], itemsPerSecond: rate(r) })),
    summary: {
      pairRatios,
      medianBOverA: median(pairRatios),
      bestAItemsPerSecond: best('a'),
      bestBItemsPerSecond: best('b'),
    },
    machine: machineInfo(),
    versions: { saxes: packageVersion('saxes'), entities: packageVersion('entities'), git: gitState() },
  });
  console.log(`\nfigures written to ${path.relative(process.cwd(), out)}`);
  reportFailures('the runs did not all read what they should', failures);
}

runBench(main, USAGE);
