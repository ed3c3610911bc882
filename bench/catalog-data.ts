/**
 * The benchmarks' generated catalog (shared by the import, publish and serve benches): N
 * seeded products as a shop's CSV export under bench/data, with a 1 %-changed twin, an XML
 * (Google Shopping RSS) twin, a JSON twin and a gzip twin, each written once and reused by
 * later runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { PACKAGE_ROOT } from '../src/config/config.js';
import type { CatalogDefinition } from '../src/model/catalog.js';
import type { Progress } from './harness.js';
import { pick, rng } from './random.js';

/** Where generated catalogs are kept between runs (git-ignored). */
export const DATA_DIR = path.join(PACKAGE_ROOT, 'bench', 'data');
// Part of the data file names: bump it when the generator changes, so old files are not reused.
const GENERATOR_VERSION = 1;
const SEED = 0x5eed_f00d;
// Rows whose index modulo 100 equals this get a new price and quantity in the changed file.
const CHANGED_SLOT = 50;
/** The id of the catalog whose mapping reads the generated CSV. */
export const CATALOG_ID = 'bench';

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
export const XML_CATALOG: CatalogDefinition = {
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
export const BENCH_CATALOG: CatalogDefinition = {
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
export function changedRowCount(n: number): number {
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

/** Columns whose cells the JSON twin writes as JSON numbers, as written in the CSV (`12.50`). */
const JSON_NUMBERS = new Set(['gtin', 'price', 'sale_price', 'stock_quantity', 'weight_kg']);

/**
 * One product as a JSON object on one line: the CSV's columns as keys (empty cells left
 * out), numbers as written, and a nested `shipping` object as shops' exports have.
 */
function productObject(index: number): string {
  const cells = productCells(index, false);
  let item = '{';
  cells.forEach((cell, i) => {
    if (cell === '') return;
    const name = HEADER[i] as string;
    item += `${item === '{' ? '' : ','}"${name}":${JSON_NUMBERS.has(name) ? cell : JSON.stringify(cell)}`;
  });
  return `${item},"shipping":{"country":"FR","price":4.95}}`;
}

async function* jsonChunks(n: number, onRows: (rows: number) => void) {
  let chunk = '{"products":[\n';
  for (let i = 0; i < n; i++) {
    chunk += `${productObject(i)}${i + 1 < n ? ',' : ''}\n`;
    if (chunk.length >= 256 * 1024) {
      yield chunk;
      chunk = '';
      onRows(i + 1);
    }
  }
  yield `${chunk}]}\n`;
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
export interface CatalogFile {
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
export function ensureCatalogFile(n: number, changed: boolean, progress: Progress): Promise<CatalogFile> {
  const file = path.join(DATA_DIR, `catalog-v${GENERATOR_VERSION}-${n}${changed ? '-changed' : ''}.csv`);
  // Readable.from pulls the next chunk only when the file stream wants more: backpressure.
  return ensureFile(file, changed ? 'generate (1 % changed)' : 'generate', n, progress, (out, onRows) =>
    pipeline(Readable.from(catalogChunks(n, changed, onRows)), out),
  );
}

/** The XML twin of the catalog (the same products as Google Shopping RSS items). */
export function ensureXmlFile(n: number, progress: Progress): Promise<CatalogFile> {
  const file = path.join(DATA_DIR, `catalog-v${GENERATOR_VERSION}-${n}.xml`);
  return ensureFile(file, 'generate (XML)', n, progress, (out, onRows) =>
    pipeline(Readable.from(xmlChunks(n, onRows)), out),
  );
}

/**
 * The JSON twin of the catalog: `{"products":[…]}`, one product a line (see productObject),
 * read with `options.itemsPath` `products` or found without it.
 */
export function ensureJsonFile(n: number, progress: Progress): Promise<CatalogFile> {
  const file = path.join(DATA_DIR, `catalog-v${GENERATOR_VERSION}-${n}.json`);
  return ensureFile(file, 'generate (JSON)', n, progress, (out, onRows) =>
    pipeline(Readable.from(jsonChunks(n, onRows)), out),
  );
}

/** The gzip twin of the CSV catalog (level 6, as shops and servers write it). */
export function ensureGzipFile(csv: CatalogFile, progress: Progress, n: number): Promise<CatalogFile> {
  return ensureFile(`${csv.path}.gz`, 'generate (gzip)', n, progress, (out) =>
    pipeline(fs.createReadStream(csv.path), createGzip({ level: 6 }), out),
  );
}
