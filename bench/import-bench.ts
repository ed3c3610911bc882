/**
 * Import benchmark (`npm run bench -- --products N`): generates a seeded catalog CSV of N
 * products, then measures on one store (PostgreSQL when DATABASE_URL is set, PGlite
 * otherwise) the bare csv-parse floor, a first import, a re-import of the same file and a
 * re-import with 1 % of rows changed. Prints a table and writes the figures as JSON under
 * bench/results/. A script, not a test: it checks the runs' counts and warns loudly (and
 * exits 1) when they are wrong, but its figures are for people to read.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse';
import { validateCatalogDefinition } from '../src/catalog/definition.js';
import { type ImportProgress, runImport } from '../src/import/run.js';
import { saveCatalog } from '../src/store/catalogs.js';
import type { ImportRunRecord, RunCounts } from '../src/store/imports.js';
import { migrate } from '../src/store/migrate.js';
import type { Store } from '../src/store/types.js';
import {
  BENCH_CATALOG,
  CATALOG_ID,
  changedRowCount,
  ensureCatalogFile,
  ensureGzipFile,
  ensureXmlFile,
  XML_CATALOG,
} from './catalog-data.js';
import {
  fmtInt,
  fmtMiB,
  fmtSec,
  gitState,
  openBenchStore,
  Progress,
  packageVersion,
  RESULTS_DIR,
  RssSampler,
  runBench,
  tableBytes,
  wholeNumberOptions,
} from './harness.js';

// ---------------------------------------------------------------------------------------
// Options

const DEFAULT_PRODUCTS = 1_000_000;
// The import's own read buffer (src/sources/source.ts), so the floor reads the same way.
const READ_CHUNK = 256 * 1024;

const USAGE = `usage: npm run bench -- [--products N]

  --products N   number of products in the generated catalog (default ${DEFAULT_PRODUCTS.toLocaleString('en-US')})

Runs against PostgreSQL when DATABASE_URL is set (in a fresh schema, dropped at the end),
against PGlite in a fresh temporary folder otherwise.`;

function parseArgs(argv: string[]): { products: number } {
  return wholeNumberOptions(argv, { products: DEFAULT_PRODUCTS }, { '--products': 'products' }, USAGE);
}

// ---------------------------------------------------------------------------------------
// Measuring

/** What one measured step did. */
interface StepResult {
  id: 'a' | 'b' | 'c' | 'd' | 'e' | 'f';
  name: string;
  rows: number;
  wallMs: number;
  rowsPerSec: number;
  /** rows/s divided by the bare csv-parse floor's rows/s. */
  ratioToParse: number;
  /** (e), (f): rows/s divided by (b)'s, the first import of the same products as CSV. */
  ratioToCsvImport?: number;
  /** RSS right before the step, after a forced GC. */
  startRssBytes: number;
  /** Highest RSS sampled during the step (every ~50 ms). */
  peakRssBytes: number;
  /** process.resourceUsage().maxRSS after the step: the process's high-water mark so far. */
  processMaxRssBytes: number;
  /** Time spent in each phase runImport reported; null for a phase a failed run never reached. */
  phasesMs?: { readAndCopy: number; diff: number | null; apply: number | null };
  run?: {
    id: number;
    status: string;
    counts: RunCounts;
    expected: Partial<RunCounts> & { status: string };
    ok: boolean;
    failure: string | null;
    heldReasons: string[];
  };
}

type Measured = Omit<StepResult, 'id' | 'name' | 'rowsPerSec' | 'ratioToParse' | 'ratioToCsvImport'>;

async function measure(
  label: string,
  total: number,
  progress: Progress,
  body: (onProgress: (p: ImportProgress) => void) => Promise<{ rows: number; run?: ImportRunRecord }>,
): Promise<Measured & { runRecord?: ImportRunRecord }> {
  globalThis.gc?.();
  const startRssBytes = process.memoryUsage.rss();
  const sampler = new RssSampler();
  const phaseAt: Partial<Record<ImportProgress['phase'], number>> = {};
  progress.start(label, total);
  sampler.start();
  const started = performance.now();
  let outcome: { rows: number; run?: ImportRunRecord };
  try {
    outcome = await body((p) => {
      phaseAt[p.phase] ??= performance.now() - started;
      progress.update(p.phase, p.rows);
    });
  } finally {
    progress.stop();
  }
  const wallMs = performance.now() - started;
  const peakRssBytes = sampler.stop();
  const result: Measured & { runRecord?: ImportRunRecord } = {
    rows: outcome.rows,
    wallMs,
    startRssBytes,
    peakRssBytes,
    processMaxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  if (outcome.run) {
    result.runRecord = outcome.run;
    const diffAt = phaseAt.diffing;
    const applyAt = phaseAt.applying;
    result.phasesMs = {
      readAndCopy: diffAt ?? wallMs,
      diff: diffAt === undefined ? null : (applyAt ?? wallMs) - diffAt,
      apply: applyAt === undefined ? null : wallMs - applyAt,
    };
  }
  return result;
}

/** (a) The floor: csv-parse alone, objects per record as `columns: true` makes them. */
async function bareParse(file: string, onProgress: (p: ImportProgress) => void): Promise<number> {
  const input = fs.createReadStream(file, { highWaterMark: READ_CHUNK });
  const parser = parse({ columns: true });
  input.on('error', (err) => parser.destroy(err));
  input.pipe(parser);
  let rows = 0;
  for await (const _record of parser) {
    rows++;
    if (rows % 10_000 === 0) onProgress({ phase: 'reading', rows });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------
// Checks, report

function checkRun(
  run: ImportRunRecord,
  expected: Partial<RunCounts> & { status: string },
): { ok: boolean; problems: string[] } {
  const problems: string[] = [];
  if (run.status !== expected.status) {
    problems.push(
      `status is ${run.status}, expected ${expected.status}${run.failure ? ` (failure: ${run.failure})` : ''}${
        run.heldReasons.length ? ` (held: ${run.heldReasons.map((r) => r.message).join('; ')})` : ''
      }`,
    );
  }
  for (const [key, want] of Object.entries(expected)) {
    if (key === 'status') continue;
    const got = run.counts[key as keyof RunCounts];
    if (got !== want) problems.push(`${key} is ${fmtInt(got)}, expected ${fmtInt(want as number)}`);
  }
  return { ok: problems.length === 0, problems };
}

function renderTable(steps: StepResult[]): string {
  const head = [
    'step',
    'rows',
    'wall',
    'rows/s',
    'vs (a)',
    'vs (b)',
    'RSS before',
    'peak RSS',
    'read+copy',
    'diff',
    'apply',
    'run',
  ];
  const body = steps.map((s) => [
    `(${s.id}) ${s.name}`,
    fmtInt(s.rows),
    fmtSec(s.wallMs),
    fmtInt(s.rowsPerSec),
    `${s.ratioToParse.toFixed(2)}×`,
    s.ratioToCsvImport === undefined ? '' : `${s.ratioToCsvImport.toFixed(2)}×`,
    fmtMiB(s.startRssBytes),
    fmtMiB(s.peakRssBytes),
    s.phasesMs ? fmtSec(s.phasesMs.readAndCopy) : '',
    s.phasesMs ? fmtSec(s.phasesMs.diff) : '',
    s.phasesMs ? fmtSec(s.phasesMs.apply) : '',
    s.run && s.run.status !== 'applied' ? s.run.status : '',
  ]);
  // The run column only matters when a run was not applied.
  if (body.every((r) => r.at(-1) === '')) {
    head.pop();
    for (const r of body) r.pop();
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------
// Main

/** A step of the plan: what it runs and, for imports, what the run must report. */
interface PlannedStep {
  id: StepResult['id'];
  name: string;
  run: (onProgress: (p: ImportProgress) => void) => Promise<{ rows: number; run?: ImportRunRecord }>;
  expected?: Partial<RunCounts> & { status: string };
}

async function main(): Promise<void> {
  const { products: n } = parseArgs(process.argv.slice(2));
  const changedRows = changedRowCount(n);
  const progress = new Progress();
  const startedAt = new Date();
  if (!globalThis.gc)
    console.log('note: run with --expose-gc (npm run bench does) for a GC before each step');
  const problems = validateCatalogDefinition(BENCH_CATALOG);
  if (problems.length > 0) throw new Error(`bench catalog definition: ${problems[0]?.message}`);

  console.log(`feedwright import benchmark: ${fmtInt(n)} products`);
  const catalog = await ensureCatalogFile(n, false, progress);
  const changed = await ensureCatalogFile(n, true, progress);
  const xml = await ensureXmlFile(n, progress);
  const gzip = await ensureGzipFile(catalog, progress, n);
  for (const f of [catalog, changed, xml, gzip]) {
    const how = f.generatedMs === null ? 'reused' : `generated in ${fmtSec(f.generatedMs)}`;
    console.log(`  ${path.relative(process.cwd(), f.path)}  ${fmtMiB(f.bytes)}  (${how})`);
  }

  const steps: StepResult[] = [];
  const failures: string[] = [];
  const record = async (step: PlannedStep) => {
    const result = await runStep(step, n, steps[0]?.rowsPerSec, progress);
    steps.push(result.step);
    failures.push(...result.failures);
  };

  // The floor runs before the store is opened, so that its RSS is csv-parse's alone.
  await record({
    id: 'a',
    name: 'csv-parse only',
    run: async (onProgress) => ({ rows: await bareParse(catalog.path, onProgress) }),
  });

  const bench = await openBenchStore();
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await bench.cleanup();
  };
  const onInterrupt = () => {
    progress.stop();
    console.error(`\ninterrupted: removing ${bench.where}`);
    cleaned = true;
    interrupted = true;
    bench
      .abort()
      .catch((err) => console.error(`cleanup failed: ${String(err)}`))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onInterrupt);

  try {
    const { store } = bench;
    await migrate(store);
    await saveCatalog(store, BENCH_CATALOG, 'bench');
    await saveCatalog(store, XML_CATALOG, 'bench');
    await saveCatalog(
      store,
      { ...BENCH_CATALOG, id: 'bench-gzip', name: 'Import benchmark (gzip CSV)' },
      'bench',
    );
    const serverVersion =
      (await store.query<{ server_version: string }>({ text: 'SHOW server_version' }))[0]?.server_version ??
      null;
    globalThis.gc?.();
    const storeOpenRssBytes = process.memoryUsage.rss();
    console.log(`  backend: ${bench.backend} ${serverVersion ?? ''} (${bench.where})`);
    console.log(`  RSS with the store open and migrated: ${fmtMiB(storeOpenRssBytes)}`);

    const importFile =
      (file: string, catalogId = CATALOG_ID) =>
      (onProgress: (p: ImportProgress) => void) =>
        runImport(store, {
          catalogId,
          input: { kind: 'file', path: file },
          mode: 'full',
          force: false,
          actor: 'bench',
          onProgress,
        }).then((run) => ({ rows: run.counts.rows, run }));
    const whole = { status: 'applied', rows: n, valid: n, errors: 0, removed: 0 };

    await record({
      id: 'b',
      name: 'first import',
      run: importFile(catalog.path),
      expected: { ...whole, created: n, updated: 0, unchanged: 0 },
    });
    await record({
      id: 'c',
      name: 're-import, unchanged',
      run: importFile(catalog.path),
      expected: { ...whole, created: 0, updated: 0, unchanged: n },
    });
    await record({
      id: 'd',
      name: 're-import, 1 % changed',
      run: importFile(changed.path),
      expected: { ...whole, created: 0, updated: changedRows, unchanged: n - changedRows },
    });

    // The same products as XML, and as gzip CSV, each into an empty catalog of its own:
    // compared with (b), the first CSV import.
    await record({
      id: 'e',
      name: 'first import, XML',
      run: importFile(xml.path, 'bench-xml'),
      expected: { ...whole, created: n, updated: 0, unchanged: 0 },
    });
    await record({
      id: 'f',
      name: 'first import, gzip CSV',
      run: importFile(gzip.path, 'bench-gzip'),
      expected: { ...whole, created: n, updated: 0, unchanged: 0 },
    });

    const csvFirst = steps.find((x) => x.id === 'b');
    for (const x of steps) {
      if ((x.id === 'e' || x.id === 'f') && csvFirst) x.ratioToCsvImport = x.rowsPerSec / csvFirst.rowsPerSec;
    }

    const stored = await countProducts(store);
    if (stored !== n) failures.push(`the catalog holds ${fmtInt(stored)} products, expected ${fmtInt(n)}`);
    const storage = {
      productsBytes: await tableBytes(store, 'products'),
      historyBytes: await tableBytes(store, 'history'),
    };

    console.log(`\n${renderTable(steps)}\n`);
    console.log(
      `  store after the run: products ${fmtMiB(storage.productsBytes)}, history ${fmtMiB(storage.historyBytes)} (with indexes)`,
    );

    const cpus = os.cpus();
    const report = {
      benchmark: 'import',
      startedAt: startedAt.toISOString(),
      products: n,
      changedRows,
      machine: {
        cpus: cpus.length,
        cpuModel: cpus[0]?.model ?? null,
        totalMemoryBytes: os.totalmem(),
        platform: os.platform(),
        arch: os.arch(),
        osRelease: os.release(),
        node: process.version,
        // Other work on the machine skews the figures; the load average tells whether there was any.
        loadAverage: os.loadavg(),
      },
      backend: {
        kind: bench.backend,
        serverVersion,
        pglite: bench.backend === 'pglite' ? packageVersion('@electric-sql/pglite') : null,
        storeOpenRssBytes,
      },
      versions: { csvParse: packageVersion('csv-parse'), pg: packageVersion('pg'), git: gitState() },
      files: {
        catalog: {
          name: path.basename(catalog.path),
          bytes: catalog.bytes,
          generatedMs: catalog.generatedMs,
        },
        changed: {
          name: path.basename(changed.path),
          bytes: changed.bytes,
          generatedMs: changed.generatedMs,
        },
      },
      steps,
      storage,
      ok: failures.length === 0,
      failures,
    };
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const stamp = startedAt.toISOString().replaceAll(':', '-');
    const out = path.join(RESULTS_DIR, `import-${bench.backend}-${n}-${stamp}.json`);
    fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`  results: ${path.relative(process.cwd(), out)}`);
  } finally {
    await cleanup();
    process.off('SIGINT', onInterrupt);
  }

  if (failures.length > 0) {
    const bar = '!'.repeat(78);
    console.error(`\n${bar}\n!! WARNING: the import did not do what it should; these figures are suspect:`);
    for (const f of failures) console.error(`!!   ${f}`);
    console.error(`${bar}\n`);
    process.exitCode = 1;
  }
}

/** Measures one step, prints its line, and checks the run against what it must report. */
async function runStep(
  step: PlannedStep,
  n: number,
  floorRowsPerSec: number | undefined,
  progress: Progress,
): Promise<{ step: StepResult; failures: string[] }> {
  const label = `(${step.id}) ${step.name}`;
  const { runRecord, ...m } = await measure(label, n, progress, step.run);
  const rowsPerSec = m.rows / (m.wallMs / 1000);
  const result: StepResult = {
    id: step.id,
    name: step.name,
    ...m,
    rowsPerSec,
    ratioToParse: rowsPerSec / (floorRowsPerSec ?? rowsPerSec),
  };
  const failures: string[] = [];
  // Import steps have their row count checked with the run's other counts.
  if (!step.expected && m.rows !== n)
    failures.push(`${label}: read ${fmtInt(m.rows)} rows, expected ${fmtInt(n)}`);
  if (runRecord && step.expected) {
    const check = checkRun(runRecord, step.expected);
    result.run = {
      id: runRecord.id,
      status: runRecord.status,
      counts: runRecord.counts,
      expected: step.expected,
      ok: check.ok,
      failure: runRecord.failure,
      heldReasons: runRecord.heldReasons.map((r) => r.message),
    };
    for (const p of check.problems) failures.push(`${label}: ${p}`);
  }
  const c = runRecord?.counts;
  const outcome = c
    ? `; ${runRecord.status}${runRecord.failure ? ` (${runRecord.failure})` : ''}: created ${fmtInt(c.created)}, updated ${fmtInt(c.updated)}, unchanged ${fmtInt(c.unchanged)}, removed ${fmtInt(c.removed)}, errors ${fmtInt(c.errors)}`
    : '';
  console.log(
    `  ${label}: ${fmtSec(m.wallMs)}, ${fmtInt(rowsPerSec)} rows/s, peak RSS ${fmtMiB(m.peakRssBytes)}${outcome}`,
  );
  return { step: result, failures };
}

async function countProducts(store: Store): Promise<number> {
  const rows = await store.query<{ n: number | string }>({
    text: 'SELECT count(*) AS n FROM products WHERE catalog_id = $1',
    values: [CATALOG_ID],
  });
  return Number(rows[0]?.n ?? -1);
}

// Set on Ctrl-C: the import then fails on its vanished store, which is no news to report.
let interrupted = false;

runBench(main, USAGE, () => interrupted);
