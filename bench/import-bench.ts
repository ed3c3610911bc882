/**
 * Import benchmark (`npm run bench -- --products N`): generates a seeded catalog CSV of N
 * products, then measures on one store (PostgreSQL when DATABASE_URL is set, PGlite
 * otherwise) the bare csv-parse floor, a first import, a re-import of the same file and a
 * re-import with 1 % of rows changed. Prints a table and writes the figures as JSON under
 * bench/results/. A script, not a test: it checks the runs' counts and warns loudly (and
 * exits 1) when they are wrong, but its figures are for people to read.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { parse } from 'csv-parse';
import pg from 'pg';
import type { CatalogDefinition } from '../src/catalog/definition.js';
import { validateCatalogDefinition } from '../src/catalog/definition.js';
import { type ImportProgress, runImport } from '../src/catalog/import-run.js';
import { PACKAGE_ROOT } from '../src/config/config.js';
import { saveCatalog } from '../src/store/catalogs.js';
import type { ImportRunRecord, RunCounts } from '../src/store/imports.js';
import { migrate } from '../src/store/migrate.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/types.js';
import { pick, rng } from './random.js';

// ---------------------------------------------------------------------------------------
// Options

const DEFAULT_PRODUCTS = 1_000_000;
const DATA_DIR = path.join(PACKAGE_ROOT, 'bench', 'data');
const RESULTS_DIR = path.join(PACKAGE_ROOT, 'bench', 'results');
// Part of the data file names: bump it when the generator changes, so old files are not reused.
const GENERATOR_VERSION = 1;
const SEED = 0x5eed_f00d;
// Rows whose index modulo 100 equals this get a new price and quantity in the changed file.
const CHANGED_SLOT = 50;
// The import's own read buffer (src/sources/source.ts), so the floor reads the same way.
const READ_CHUNK = 256 * 1024;
const SAMPLE_EVERY_MS = 50;
const CATALOG_ID = 'bench';

const USAGE = `usage: npm run bench -- [--products N]

  --products N   number of products in the generated catalog (default ${DEFAULT_PRODUCTS.toLocaleString('en-US')})

Runs against PostgreSQL when DATABASE_URL is set (in a fresh schema, dropped at the end),
against PGlite in a fresh temporary folder otherwise.`;

interface BenchOptions {
  products: number;
}

function parseArgs(argv: string[]): BenchOptions {
  const opts: BenchOptions = { products: DEFAULT_PRODUCTS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    const [name, inline] = arg.split('=', 2) as [string, string | undefined];
    if (name !== '--products') throw new UsageError(`unknown argument "${arg}"`);
    const value = inline ?? argv[++i];
    // Accepts 100000, 100_000 and 1e5.
    const n = value === undefined ? Number.NaN : Number(value.replaceAll('_', ''));
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new UsageError(`--products needs a whole number ≥ 1, got "${value ?? ''}"`);
    }
    opts.products = n;
  }
  return opts;
}

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------
// Catalog generation: one seeded generator per row, so the changed file can rebuild any
// row exactly and alter only its price and quantity.

const HEADER = [
  'sku',
  'gtin',
  'title',
  'description',
  'brand',
  'category_path',
  'price',
  'sale_price',
  'stock_quantity',
  'weight_kg',
  'image_link',
  'link',
  'color',
  'size',
  'condition',
] as const;

/** The XML catalog: the same products as Google Shopping RSS items. */
const XML_CATALOG: CatalogDefinition = {
  kind: 'catalog',
  id: 'bench-xml',
  name: 'Import benchmark (XML)',
  format: 'xml',
  mapping: {
    sku: 'g:id',
    gtin: 'g:gtin',
    title: 'title',
    description: 'description',
    brand: 'g:brand',
    category: 'g:product_type',
    price: 'g:price',
    sale_price: 'g:sale_price',
    quantity: 'g:quantity',
    weight: 'g:shipping_weight',
    image_url: 'g:image_link',
    url: 'link',
    condition: 'g:condition',
  },
};

/** The catalog definition: canonical fields mapped to the export's column names. */
const BENCH_CATALOG: CatalogDefinition = {
  kind: 'catalog',
  id: CATALOG_ID,
  name: 'Import benchmark',
  format: 'csv',
  mapping: {
    sku: 'sku',
    gtin: 'gtin',
    title: 'title',
    description: 'description',
    brand: 'brand',
    category: 'category_path',
    price: 'price',
    sale_price: 'sale_price',
    quantity: 'stock_quantity',
    weight: 'weight_kg',
    image_url: 'image_link',
    url: 'link',
    condition: 'condition',
  },
};

// Word lists, comma-separated: the generated rows pick from these.
const BRANDS = words(`Northwind, Contoso, Fabrikam, Tailspin, Adventure Works, Litware, Proseware, Wingtip,
  Lucerne, Margie, Alpine Ski House, Coho, Woodgrove, Fourth Coffee, Trey Research, Blue Yonder, Humongous,
  Graphic Design Institute, Wide World Importers, Bellows & Brass`);
const ADJECTIVES = words(`Classic, Compact, Premium, Lightweight, Heavy-Duty, Ergonomic, Vintage, Modern,
  Foldable, Waterproof, Organic, Handmade, Wireless, Insulated, Stackable, Adjustable`);
const MATERIALS = words('Cotton, Steel, Oak, Bamboo, Leather, Ceramic, Glass, Linen, Wool, Copper');
const NOUNS = words(`Backpack, Frying Pan, Desk Lamp, Water Bottle, Throw Blanket, Office Chair, Running Shoe,
  Cutting Board, Headphones, Storage Box, Rain Jacket, Coffee Grinder, Yoga Mat, Picture Frame, Tool Set, Garden Hose`);
// One feature holds a double quote, so quoted cells with escaped quotes occur as in real exports.
const FEATURES = words(`a reinforced base, easy-clean surfaces, a two-year warranty, recycled packaging,
  soft-touch handles, a slim profile, hand-finished edges, a non-slip grip, replaceable parts,
  tool-free assembly, a 12" reach, quiet operation`);
const USES = words('everyday use, travel, small kitchens, the office, outdoor trips, gifting, workshops');
const CATEGORY_TOP = words('Home & Garden, Apparel, Electronics, Sports & Outdoors, Office, Kitchen');
const CATEGORY_MID = words('Essentials, Accessories, Furniture, Storage, Tools, Textiles');
const CATEGORY_LEAF = words('Bestsellers, New Arrivals, Basics, Eco Line, Pro Series');
const COLORS = words('black, white, navy, forest green, burgundy, sand, grey, red, sky blue');
const SIZES = words('XS, S, M, L, XL, 38, 40, 42, 44, One size, 30x40 cm');

function words(list: string): string[] {
  return list
    .split(',')
    .map((w) => w.trim())
    .filter((w) => w !== '');
}

function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** A 13-digit EAN with a valid check digit, unique per row. */
function gtinOf(index: number): string {
  const body = `40${String(index).padStart(10, '0')}`;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(body[i]) * (i % 2 === 0 ? 1 : 3);
  return `${body}${(10 - (sum % 10)) % 10}`;
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** Whether the row at this index differs in the changed file. */
function isChangedRow(index: number): boolean {
  return index % 100 === CHANGED_SLOT;
}

/** How many rows differ between the two files of N products. */
function changedRowCount(n: number): number {
  return Math.floor(n / 100) + (n % 100 > CHANGED_SLOT ? 1 : 0);
}

/** One CSV line (with its newline) of product `index`; `changed` alters price and quantity. */
function productCells(index: number, changed: boolean): string[] {
  const next = rng((SEED ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const sku = `FW-${String(index + 1).padStart(8, '0')}`;
  const brand = pick(next, BRANDS);
  const noun = pick(next, NOUNS);
  let title = `${brand} ${pick(next, ADJECTIVES)} ${pick(next, MATERIALS)} ${noun}`;
  while (title.length < 52) title += ` ${pick(next, ADJECTIVES)}`;
  title = `${title}, Model ${String.fromCharCode(65 + Math.floor(next() * 26))}${Math.floor(next() * 900 + 100)}`;

  let description = `The ${title.toLowerCase()} is made for ${pick(next, USES)}.`;
  while (description.length < 290) {
    const first = Math.floor(next() * FEATURES.length);
    const second = (first + 1 + Math.floor(next() * (FEATURES.length - 1))) % FEATURES.length;
    description += ` It comes with ${FEATURES[first]} and ${FEATURES[second]}, ideal for ${pick(next, USES)}.`;
  }
  const category = `${pick(next, CATEGORY_TOP)} > ${pick(next, CATEGORY_MID)} > ${pick(next, CATEGORY_LEAF)}`;
  const cents = Math.floor(next() * 99_900) + 100;
  const onSale = next() < 0.25;
  let quantity = Math.floor(next() * 500);
  const weight = (Math.floor(next() * 25_000) + 50) / 1000;
  const color = pick(next, COLORS);
  const size = pick(next, SIZES);
  const c = next();
  const condition = c < 0.9 ? 'new' : c < 0.97 ? 'refurbished' : 'used';

  // The changed file alters exactly these two cells; the sale price follows the original price.
  const price = changed ? cents + 150 : cents;
  if (changed) quantity += 7;
  const cells = [
    sku,
    gtinOf(index),
    title,
    description,
    brand,
    category,
    (price / 100).toFixed(2),
    onSale ? (Math.round(cents * 0.8) / 100).toFixed(2) : '',
    String(quantity),
    weight.toFixed(3),
    `https://cdn.example.com/images/${sku.toLowerCase()}/main.jpg`,
    `https://shop.example.com/products/${slug(title)}-${index + 1}`,
    color,
    size,
    condition,
  ];
  return cells;
}

function productLine(index: number, changed: boolean): string {
  return `${productCells(index, changed).map(csvCell).join(',')}\n`;
}

/** The Google Shopping element of each column, for the XML twin of the catalog. */
const XML_ELEMENTS = [
  'g:id',
  'g:gtin',
  'title',
  'description',
  'g:brand',
  'g:product_type',
  'g:price',
  'g:sale_price',
  'g:quantity',
  'g:shipping_weight',
  'g:image_link',
  'link',
  'g:color',
  'g:size',
  'g:condition',
] as const;

function xmlText(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/** One product as a Google Shopping RSS item; prices carry their currency as Google writes them. */
function productItem(index: number): string {
  const cells = productCells(index, false);
  let item = '<item>';
  cells.forEach((cell, i) => {
    if (cell === '') return;
    const name = XML_ELEMENTS[i] as string;
    const value = name === 'g:price' || name === 'g:sale_price' ? `${cell} EUR` : cell;
    item += `<${name}>${xmlText(value)}</${name}>`;
  });
  return `${item}</item>\n`;
}

async function* xmlChunks(n: number, onRows: (rows: number) => void) {
  let chunk =
    '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">\n<channel>\n<title>Benchmark</title>\n';
  for (let i = 0; i < n; i++) {
    chunk += productItem(i);
    if (chunk.length >= 256 * 1024) {
      yield chunk;
      chunk = '';
      onRows(i + 1);
    }
  }
  yield `${chunk}</channel>\n</rss>\n`;
}

async function* catalogChunks(n: number, changed: boolean, onRows: (rows: number) => void) {
  let chunk = `${HEADER.join(',')}\n`;
  for (let i = 0; i < n; i++) {
    chunk += productLine(i, changed && isChangedRow(i));
    if (chunk.length >= 256 * 1024) {
      yield chunk;
      chunk = '';
      onRows(i + 1);
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** A generated catalog file and whether this run wrote it. */
interface CatalogFile {
  path: string;
  bytes: number;
  generatedMs: number | null;
}

/**
 * Writes a generated file unless a complete one is there already: written under a temporary
 * name and renamed, so an interrupted generation is never reused. `write` streams into the
 * file with backpressure.
 */
async function ensureFile(
  file: string,
  label: string,
  n: number,
  progress: Progress,
  write: (out: fs.WriteStream, onRows: (rows: number) => void) => Promise<void>,
): Promise<CatalogFile> {
  if (fs.existsSync(file)) return { path: file, bytes: fs.statSync(file).size, generatedMs: null };
  fs.mkdirSync(DATA_DIR, { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  const started = performance.now();
  progress.start(label, n, 'writing');
  try {
    await write(fs.createWriteStream(partial), (rows) => progress.update('writing', rows));
    fs.renameSync(partial, file);
  } catch (err) {
    fs.rmSync(partial, { force: true });
    throw err;
  } finally {
    progress.stop();
  }
  return { path: file, bytes: fs.statSync(file).size, generatedMs: performance.now() - started };
}

/** The catalog of N products as CSV, or its 1 %-changed twin. */
function ensureCatalogFile(n: number, changed: boolean, progress: Progress): Promise<CatalogFile> {
  const file = path.join(DATA_DIR, `catalog-v${GENERATOR_VERSION}-${n}${changed ? '-changed' : ''}.csv`);
  // Readable.from pulls the next chunk only when the file stream wants more: backpressure.
  return ensureFile(file, changed ? 'generate (1 % changed)' : 'generate', n, progress, (out, onRows) =>
    pipeline(Readable.from(catalogChunks(n, changed, onRows)), out),
  );
}

/** The XML twin of the catalog (the same products as Google Shopping RSS items). */
function ensureXmlFile(n: number, progress: Progress): Promise<CatalogFile> {
  const file = path.join(DATA_DIR, `catalog-v${GENERATOR_VERSION}-${n}.xml`);
  return ensureFile(file, 'generate (XML)', n, progress, (out, onRows) =>
    pipeline(Readable.from(xmlChunks(n, onRows)), out),
  );
}

/** The gzip twin of the CSV catalog (level 6, as shops and servers write it). */
function ensureGzipFile(csv: CatalogFile, progress: Progress, n: number): Promise<CatalogFile> {
  return ensureFile(`${csv.path}.gz`, 'generate (gzip)', n, progress, (out) =>
    pipeline(fs.createReadStream(csv.path), createGzip({ level: 6 }), out),
  );
}

// ---------------------------------------------------------------------------------------
// Measuring

/** Samples RSS on a timer and keeps the peak since `start`. */
class RssSampler {
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    this.peak = process.memoryUsage.rss();
    this.timer = setInterval(() => this.sample(), SAMPLE_EVERY_MS);
  }

  /** Stops sampling and returns the step's peak. */
  stop(): number {
    this.sample();
    clearInterval(this.timer);
    this.timer = undefined;
    return this.peak;
  }

  private sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
  }
}

/** Progress on a terminal (a redrawn line), plain lines otherwise (at most one per 5 s). */
class Progress {
  private label = '';
  private total = 0;
  private phase = '';
  private rows = 0;
  private started = 0;
  private phaseStarted = 0;
  private lastLine = 0;
  private ticker: NodeJS.Timeout | undefined;
  private readonly tty = process.stdout.isTTY === true;

  start(label: string, total: number, phase = ''): void {
    this.label = label;
    this.total = total;
    this.phase = phase;
    this.phaseStarted = performance.now();
    this.rows = 0;
    this.started = performance.now();
    this.lastLine = 0;
    // Diffing and applying report no rows; the ticker keeps the elapsed time moving.
    if (this.tty) this.ticker = setInterval(() => this.draw(), 250);
  }

  update(phase: string, rows: number): void {
    const now = performance.now();
    const newPhase = phase !== this.phase;
    if (newPhase) this.phaseStarted = now;
    this.phase = phase;
    this.rows = rows;
    if (this.tty) {
      if (newPhase || now - this.lastLine >= 100) {
        this.lastLine = now;
        this.draw();
      }
    } else if (newPhase || now - this.lastLine >= 5000) {
      this.lastLine = now;
      console.log(`  ${this.describe()}`);
    }
  }

  stop(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
    if (this.tty) process.stdout.write('\r\x1b[K');
  }

  private draw(): void {
    process.stdout.write(`\r\x1b[K  ${this.describe()}`);
  }

  private describe(): string {
    const now = performance.now();
    const elapsed = (now - this.started) / 1000;
    const pct = this.total > 0 ? ` (${Math.floor((this.rows / this.total) * 100)} %)` : '';
    const rate =
      this.phase === 'reading' || this.phase === 'writing' ? `, ${fmtInt(this.rows / elapsed)} rows/s` : '';
    // A plain line is printed as a phase starts: its time in the phase would always read 0.
    const inPhase = !this.phase
      ? ''
      : this.tty
        ? ` ${this.phase} ${fmtSec(now - this.phaseStarted)}`
        : ` ${this.phase}`;
    return `${this.label}:${inPhase} · ${fmtInt(this.rows)} rows${pct}${rate} · ${elapsed.toFixed(1)} s`;
  }
}

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
// Backends

interface BenchStore {
  store: Store;
  backend: 'pglite' | 'postgres';
  /** Where it lives: the PGlite folder or the PostgreSQL schema. */
  where: string;
  /** Closes the store and removes it. */
  cleanup: () => Promise<void>;
  /** Removes the store while an import may still be running (Ctrl-C). */
  abort: () => Promise<void>;
}

/** A fresh, migrated store: a new schema on DATABASE_URL, or PGlite in a new temp folder. */
async function openBenchStore(): Promise<BenchStore> {
  const base = process.env.DATABASE_URL;
  if (!base) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-bench-'));
    const cleanup = async () => fs.rmSync(dataDir, { recursive: true, force: true });
    try {
      const store = await openStore({ databaseUrl: undefined, dataDir });
      return {
        store,
        backend: 'pglite',
        where: dataDir,
        cleanup: async () => {
          await store.close();
          await cleanup();
        },
        abort: async () => {
          // A statement running inside PGlite cannot be cancelled; do not wait for it long.
          await Promise.race([store.close(), new Promise((r) => setTimeout(r, 2000).unref())]);
          await cleanup();
        },
      };
    } catch (err) {
      await cleanup();
      throw err;
    }
  }

  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: base });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE SCHEMA ${schema}`);
  const url = new URL(base);
  // Options already in DATABASE_URL (say `-c log_min_duration_statement=500`) are kept.
  const options = url.searchParams.get('options');
  url.searchParams.set('options', `${options ? `${options} ` : ''}-c search_path=${schema}`);
  // Names the bench's connections in pg_stat_activity, so an interrupted run can cancel them.
  const appName = `feedwright-${schema}`;
  url.searchParams.set('application_name', appName);
  const drop = () => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  try {
    const store = await openStore({ databaseUrl: url.toString(), dataDir: os.tmpdir() });
    return {
      store,
      backend: 'postgres',
      where: `schema ${schema} on ${redact(base)}`,
      cleanup: async () => {
        await store.close();
        await drop();
      },
      abort: async () => {
        // Cancelling (not terminating) the running statement lets the import fail as it
        // would on any error; its locks go with it and the drop can proceed.
        for (let attempt = 1; ; attempt++) {
          try {
            await admin(`SELECT pg_cancel_backend(pid) FROM pg_stat_activity
                         WHERE application_name = '${appName}' AND pid <> pg_backend_pid();
                         SET lock_timeout = '3s'; DROP SCHEMA IF EXISTS ${schema} CASCADE`);
            return;
          } catch (err) {
            if (attempt === 3) {
              throw new Error(`could not drop schema ${schema} (${String(err)}); drop it by hand`);
            }
          }
        }
      },
    };
  } catch (err) {
    await drop().catch(() => {});
    throw err;
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable DATABASE_URL)';
  }
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

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function fmtSec(ms: number | null): string {
  if (ms === null) return '—';
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function fmtMiB(bytes: number | null): string {
  return bytes === null ? '?' : `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
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

function packageVersion(name: string): string | null {
  try {
    const file = path.join(PACKAGE_ROOT, 'node_modules', name, 'package.json');
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

/** The commit measured, and the files under src/ and migrations/ that differ from it. */
function gitState(): { commit: string; uncommitted: string[] } | null {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: PACKAGE_ROOT, stdio: 'pipe' }).toString();
    // Porcelain lines are `XY path`; the status letters may be spaces, so no trimming.
    const status = git('status', '--porcelain', '--', 'src', 'migrations');
    return {
      commit: git('rev-parse', 'HEAD').trim(),
      uncommitted: status
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.slice(3)),
    };
  } catch {
    return null;
  }
}

async function tableBytes(store: Store, table: string): Promise<number | null> {
  try {
    const rows = await store.query<{ bytes: number | string }>({
      text: 'SELECT pg_total_relation_size($1::regclass) AS bytes',
      values: [table],
    });
    return rows[0] ? Number(rows[0].bytes) : null;
  } catch {
    return null;
  }
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

main().catch((err: unknown) => {
  if (interrupted) return;
  if (err instanceof UsageError) {
    console.error(`${err.message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
