/**
 * XML split benchmark (`npm run bench:xml -- --products N`): which split of the work between
 * feedwright's streaming reader and fast-xml-parser reads an XML feed fastest (issue 3: "use
 * fast-xml-parser where it serves … the bench decides"). Parse only, no store, over the
 * generated Google Shopping catalog (`catalog-v1-<N>.xml`, see catalog-data.ts):
 *
 * - (a) `parseXml`, the streaming tokenizer that also builds each item's record;
 * - (b) the same streaming split into items, each item's text parsed by fast-xml-parser's
 *   XMLParser (entities off: references are decoded by the reader's own `decodeText`, once;
 *   attributes kept; repeated elements as lists) and brought to the same record shape
 *   (prototype-free objects, Google's prefix stripped, blank text between elements dropped);
 * - (b0) the split and XMLParser alone, without the reshaping: the floor of (b), run once;
 * - (c) fast-xml-parser's whole-document `parse()` of a 100,000-item slice, and (a) on the same
 *   slice, for the memory reference the issue quotes.
 *
 * (a) and (b) run twice each, alternating, each run in its own process (so one run's heap
 * does not inflate the next one's RSS), RSS sampled every 50 ms. Before timing, (a) and (b)
 * are checked to give identical records on test/fixtures/parse/*.xml and on the first items
 * of the catalog. A script, not a test: it prints a table, writes its figures to
 * bench/results/ and exits 1 when the records differ on the catalog.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { XMLParser } from 'fast-xml-parser';
import { PACKAGE_ROOT } from '../src/config/config.js';
import { DEFAULT_MAX_RECORD_SIZE } from '../src/parse/csv.js';
import {
  createRawObject,
  DEFAULT_MAX_DEPTH,
  type KeyedRecord,
  LineCounter,
  type RawObject,
  type RawValue,
} from '../src/parse/records.js';
import { DEFAULT_STRIP_NAMESPACES, parseXml } from '../src/parse/xml.js';
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
import { decodeText } from './xml-tokenizer.js';

const DEFAULTS = { products: 1_000_000, slice: 100_000, check: 20_000 };
// The import's own read buffer (src/sources/source.ts).
const READ_CHUNK = 256 * 1024;
const FIXTURES = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'parse');

const USAGE = `usage: npm run bench:xml -- [--products N] [--slice N] [--check N]
  --products N  items of the generated Google Shopping feed read by (a) and (b) (default ${DEFAULTS.products.toLocaleString('en-US')})
  --slice N     items of the feed fast-xml-parser's parse() reads whole, in (c) (default ${DEFAULTS.slice.toLocaleString('en-US')})
  --check N     first items of the feed whose records (a) and (b) must give identically (default ${DEFAULTS.check.toLocaleString('en-US')})`;

type Variant = 'a' | 'b' | 'b0' | 'c';

const LABELS: Record<Variant, string> = {
  a: '(a) parseXml (stream, build)',
  b: '(b) stream split + XMLParser per item',
  b0: '(b0) split + XMLParser, no reshaping',
  c: '(c) XMLParser.parse(whole file)',
};

function parseArgs(argv: string[]): typeof DEFAULTS {
  return wholeNumberOptions(
    argv,
    DEFAULTS,
    { '--products': 'products', '--slice': 'slice', '--check': 'check' },
    USAGE,
  );
}

// ---------------------------------------------------------------------------------------
// (b): the streaming split, then fast-xml-parser per item

/** One item's text as written, from its start tag to its end tag, and its line. */
interface ItemText {
  line: number;
  text: string;
}

/**
 * Splits a stream of UTF-8 XML into the texts of its items (elements at `itemPath`, as
 * written), in one pass and bounded memory, as parseXml's tokenizer does: comments, CDATA,
 * processing instructions and quoted `>` are skipped, nested elements counted. Namespace
 * declarations outside items go to `namespaces`. It checks less than parseXml (text outside
 * the root, mismatched tags outside items), which can only favour it.
 */
async function* splitItems(
  input: Readable,
  itemPath: readonly string[],
  namespaces: Record<string, string>,
): AsyncGenerator<ItemText> {
  const decoder = new StringDecoder('utf8');
  const lines = new LineCounter();
  const names: string[] = [];
  let buf = '';
  let pos = 0;
  let state: '' | ']]>' | '-->' | '?>' = '';
  let itemStart = -1;
  let itemLine = 0;
  const depth = itemPath.length;
  const matches = () => {
    if (names.length !== depth) return false;
    for (let i = 0; i < depth; i++) if (names[i] !== itemPath[i]) return false;
    return true;
  };
  const out: ItemText[] = [];
  const feed = (text: string) => {
    const keep = itemStart >= 0 ? itemStart : pos;
    if (keep > 0) {
      lines.shift(buf, keep);
      buf = buf.slice(keep) + text;
      pos -= keep;
      if (itemStart >= 0) itemStart = 0;
    } else buf += text;
    const len = buf.length;
    while (pos < len) {
      if (state !== '') {
        const end = buf.indexOf(state, pos);
        if (end === -1) {
          pos = Math.max(pos, len - state.length + 1);
          return;
        }
        pos = end + state.length;
        state = '';
        continue;
      }
      const lt = buf.indexOf('<', pos);
      if (lt === -1) {
        pos = len;
        return;
      }
      pos = lt;
      if (lt + 1 >= len) return;
      const c1 = buf.charCodeAt(lt + 1);
      if (c1 === 0x2f) {
        const gt = buf.indexOf('>', lt + 2);
        if (gt === -1) return;
        pos = gt + 1;
        const closesItem = itemStart >= 0 && names.length === depth;
        names.pop();
        if (closesItem) {
          out.push({ line: itemLine, text: buf.slice(itemStart, pos) });
          itemStart = -1;
        }
        continue;
      }
      if (c1 === 0x21) {
        if (buf.startsWith('<!--', lt)) {
          pos = lt + 4;
          state = '-->';
        } else if (buf.startsWith('<![CDATA[', lt)) {
          pos = lt + 9;
          state = ']]>';
        } else {
          if (len - lt < 9) return;
          // A DOCTYPE (parseXml refuses one that declares entities; the generated feed has none).
          const gt = buf.indexOf('>', lt);
          if (gt === -1) return;
          pos = gt + 1;
        }
        continue;
      }
      if (c1 === 0x3f) {
        pos = lt + 2;
        state = '?>';
        continue;
      }
      let i = lt + 1;
      while (i < len) {
        const c = buf.charCodeAt(i);
        if (c === 0x3e || c === 0x2f || c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) break;
        i++;
      }
      if (i >= len) return;
      let gt = i;
      if (buf.charCodeAt(i) !== 0x3e) {
        let quote = 0;
        for (; gt < len; gt++) {
          const c = buf.charCodeAt(gt);
          if (quote !== 0) {
            if (c === quote) quote = 0;
          } else if (c === 0x22 || c === 0x27) quote = c;
          else if (c === 0x3e) break;
        }
        if (gt >= len) return;
      }
      const selfClosing = buf.charCodeAt(gt - 1) === 0x2f;
      names.push(buf.slice(lt + 1, i));
      if (itemStart < 0) {
        if (gt > i) declareNamespaces(buf.slice(i, gt), namespaces);
        if (matches()) {
          itemStart = lt;
          itemLine = lines.lineAt(buf, lt);
        }
      }
      pos = gt + 1;
      if (selfClosing) {
        if (itemStart >= 0 && names.length === depth) {
          out.push({ line: itemLine, text: buf.slice(itemStart, pos) });
          itemStart = -1;
        }
        names.pop();
      }
    }
  };
  try {
    for await (const chunk of input) {
      feed(decoder.write(chunk as Buffer));
      if (out.length > 0) yield* out.splice(0);
    }
    feed(decoder.end());
    yield* out.splice(0);
  } finally {
    input.destroy();
  }
}

const XMLNS = /\bxmlns:([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

function declareNamespaces(attrs: string, namespaces: Record<string, string>): void {
  if (!attrs.includes('xmlns:')) return;
  XMLNS.lastIndex = 0;
  for (let m = XMLNS.exec(attrs); m !== null; m = XMLNS.exec(attrs)) {
    namespaces[m[1] as string] ??= m[2] ?? m[3] ?? '';
  }
}

// Names a plain object must not get: fast-xml-parser refuses them, so they are hidden behind
// a marker and restored as plain keys of prototype-free objects.
const CRITICAL = new Set(['__proto__', 'constructor', 'prototype']);
const HIDDEN = '\u0001';
const CDATA = '#cdata';

/** fast-xml-parser set up safely, for one item's text: entities off, attributes kept. */
function itemParser(): XMLParser {
  const hide = (name: string) => (CRITICAL.has(name) ? HIDDEN + name : name);
  return new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    textNodeName: '#text',
    cdataPropName: CDATA,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    // Entities off: no expansion at all; `decodeText` decodes references once, as parseXml does.
    processEntities: false,
    htmlEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    maxNestedTags: DEFAULT_MAX_DEPTH,
    transformTagName: hide,
    transformAttributeName: hide,
    // `hasOwnProperty`, `toString`…: hidden the same way (its default renames them `__name`).
    onDangerousProperty: (name: string) => HIDDEN + name,
  });
}

/** Strips Google's namespace as parseXml does by default: a name the node also has unprefixed keeps its prefix. */
class Stripper {
  private readonly uris = new Set(DEFAULT_STRIP_NAMESPACES);
  private readonly cache = new Map<string, string | null>();
  constructor(private readonly namespaces: Record<string, string>) {}

  strip(node: RawObject): RawObject {
    const out = createRawObject();
    for (const k in node) {
      const s = this.name(k);
      if (s !== null && node[s] === undefined && out[s] === undefined) out[s] = node[k] as RawValue;
      else out[k] = node[k] as RawValue;
    }
    return out;
  }

  private name(key: string): string | null {
    let s = this.cache.get(key);
    if (s === undefined) {
      s = null;
      const at = key.charCodeAt(0) === 0x40 ? 1 : 0;
      const colon = key.indexOf(':', at);
      if (colon !== -1) {
        const uri = this.namespaces[key.slice(at, colon)];
        if (uri !== undefined && this.uris.has(uri)) s = (at === 1 ? '@' : '') + key.slice(colon + 1);
      }
      this.cache.set(key, s);
    }
    return s;
  }
}

function isBlank(s: string): boolean {
  return /^[ \t\r\n\ufeff]*$/.test(s);
}

function decodeAttribute(raw: string): string {
  return decodeText(raw.replace(/\r\n|[\t\n\r]/g, ' '));
}

function cdataText(v: unknown): string {
  const s = Array.isArray(v) ? v.join('') : String(v);
  return s.includes('\r') ? s.replace(/\r\n?/g, '\n') : s;
}

/** One element's value as fast-xml-parser gives it, in parseXml's record shape. */
function reshape(value: unknown, stripper: Stripper): RawValue {
  if (typeof value === 'string') return decodeText(value);
  if (Array.isArray(value)) return value.map((v) => reshape(v, stripper));
  if (value === null || typeof value !== 'object') return value === undefined ? '' : String(value);
  const obj = value as Record<string, unknown>;
  let node: RawObject | null = null;
  let text = '';
  let prefixed = false;
  // parseXml puts an element's attributes before its children; fast-xml-parser after them.
  const keys = Object.keys(obj);
  const attributesFirst = keys.filter((k) => k.charCodeAt(0) === 0x40);
  for (const k of keys) if (k.charCodeAt(0) !== 0x40) attributesFirst.push(k);
  for (const raw of attributesFirst) {
    const v = obj[raw];
    if (raw === '#text') {
      text = decodeText(String(v)) + text;
      continue;
    }
    if (raw === CDATA) {
      text += cdataText(v);
      continue;
    }
    const key = raw.includes(HIDDEN) ? raw.replace(HIDDEN, '') : raw;
    node ??= createRawObject();
    if (key.includes(':')) prefixed = true;
    node[key] = key.charCodeAt(0) === 0x40 ? decodeAttribute(String(v)) : reshape(v, stripper);
  }
  if (node === null) return text;
  if (text !== '' && !isBlank(text)) node['#text'] = text;
  return prefixed ? stripper.strip(node) : node;
}

/** The records of an XML feed read by the split and XMLParser; `reshapeItems: false` is (b0). */
async function* parseBySplit(
  input: Readable,
  itemPath: string,
  reshapeItems = true,
  maxRecordSize = DEFAULT_MAX_RECORD_SIZE,
): AsyncGenerator<KeyedRecord> {
  const path = itemPath.split('/');
  const name = path[path.length - 1] as string;
  const key = CRITICAL.has(name) ? HIDDEN + name : name;
  const namespaces: Record<string, string> = Object.create(null);
  const stripper = new Stripper(namespaces);
  const parser = itemParser();
  for await (const item of splitItems(input, path, namespaces)) {
    if (item.text.length > maxRecordSize) continue;
    const doc = parser.parse(item.text) as Record<string, unknown>;
    if (!reshapeItems) {
      yield { line: item.line, data: doc as RawObject };
      continue;
    }
    const value = reshape(doc[key], stripper);
    let data: RawObject;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) data = value;
    else {
      data = createRawObject();
      if (typeof value === 'string' && value !== '') data['#text'] = value;
    }
    yield { line: item.line, data };
  }
}

// ---------------------------------------------------------------------------------------
// The same records: fixtures and the first items of the catalog

interface Comparison {
  input: string;
  items: number;
  /** null: (a) refuses the feed, so there is nothing to compare. */
  identical: boolean | null;
  note?: string;
}

async function recordsOfA(file: string, limit = Number.POSITIVE_INFINITY) {
  const feed = await parseXml(fs.createReadStream(file, { highWaterMark: READ_CHUNK }));
  const records: KeyedRecord[] = [];
  for await (const r of feed.records) {
    records.push(r);
    if (records.length >= limit) break;
  }
  return { itemPath: feed.itemPath, records, issues: feed.issues.length };
}

async function recordsOfB(file: string, itemPath: string, limit = Number.POSITIVE_INFINITY) {
  const records: KeyedRecord[] = [];
  for await (const r of parseBySplit(fs.createReadStream(file, { highWaterMark: READ_CHUNK }), itemPath)) {
    records.push(r);
    if (records.length >= limit) break;
  }
  return records;
}

/** The first key path at which two values differ, for the report. */
function firstDifference(a: unknown, b: unknown, at = ''): string {
  if (isDeepStrictEqual(a, b)) return '';
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
  return `${at}: ${JSON.stringify(a)?.slice(0, 60)} ≠ ${JSON.stringify(b)?.slice(0, 60)}`;
}

async function compare(file: string, label: string, limit?: number): Promise<Comparison> {
  let a: Awaited<ReturnType<typeof recordsOfA>>;
  try {
    a = await recordsOfA(file, limit);
  } catch (err) {
    return {
      input: label,
      items: 0,
      identical: null,
      note: `(a) refuses the feed (${(err as Error).message.slice(0, 60)}…)`,
    };
  }
  let b: KeyedRecord[];
  try {
    b = await recordsOfB(file, a.itemPath, limit);
  } catch (err) {
    return {
      input: label,
      items: a.records.length,
      identical: false,
      note: `(b) fails: ${(err as Error).message}`,
    };
  }
  // parseXml skips items with problems (row issues); compare what both hand on.
  const plain = (records: KeyedRecord[]) => records.map((r) => ({ line: r.line, data: r.data }));
  const same = isDeepStrictEqual(plain(a.records), plain(b)) && orderEqual(a.records, b);
  if (same) return { input: label, items: a.records.length, identical: true };
  const n = Math.min(a.records.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = firstDifference(a.records[i], b[i]);
    if (d !== '')
      return { input: label, items: a.records.length, identical: false, note: `item ${i + 1}: ${d}` };
  }
  return {
    input: label,
    items: a.records.length,
    identical: false,
    note: `(a) ${a.records.length} items${a.issues > 0 ? ` and ${a.issues} row issues` : ''}, (b) ${b.length}`,
  };
}

/** Key order matters to the import (the first item's keys are the feed's columns). */
function orderEqual(a: KeyedRecord[], b: KeyedRecord[]): boolean {
  return a.every((r, i) => JSON.stringify(r.data) === JSON.stringify(b[i]?.data));
}

// ---------------------------------------------------------------------------------------
// One timed run, in a process of its own

interface RunResult {
  variant: Variant;
  file: string;
  items: number;
  wallMs: number;
  peakRssBytes: number;
  startRssBytes: number;
  loadStart: number[];
  loadEnd: number[];
}

async function runChild(variant: Variant, file: string, itemPath: string): Promise<RunResult> {
  globalThis.gc?.();
  const loadStart = os.loadavg();
  const startRssBytes = process.memoryUsage.rss();
  const sampler = new RssSampler();
  sampler.start();
  const started = performance.now();
  let items = 0;
  const stream = () => fs.createReadStream(file, { highWaterMark: READ_CHUNK });
  if (variant === 'a') {
    const feed = await parseXml(stream());
    for await (const _ of feed.records) items++;
  } else if (variant === 'b' || variant === 'b0') {
    for await (const _ of parseBySplit(stream(), itemPath, variant === 'b')) items++;
  } else {
    const text = fs.readFileSync(file, 'utf8');
    const doc = itemParser().parse(text) as { rss?: { channel?: { item?: unknown[] } } };
    items = doc.rss?.channel?.item?.length ?? 0;
  }
  const wallMs = performance.now() - started;
  const peakRssBytes = sampler.stop();
  return { variant, file, items, wallMs, peakRssBytes, startRssBytes, loadStart, loadEnd: os.loadavg() };
}

function spawnRun(variant: Variant, file: string, itemPath: string): RunResult {
  const out = path.join(os.tmpdir(), `xml-split-${process.pid}-${variant}-${Date.now()}.json`);
  const child = spawnSync(
    process.execPath,
    [
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      '--child',
      variant,
      '--file',
      file,
      '--item-path',
      itemPath,
      '--out',
      out,
    ],
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
    const result = await runChild(argv[1] as Variant, arg('--file'), arg('--item-path'));
    fs.writeFileSync(arg('--out'), JSON.stringify(result));
    return;
  }
  const opts = parseArgs(argv);
  const startedAt = new Date();
  const progress = new Progress();
  const big = await ensureXmlFile(opts.products, progress);
  const slice = await ensureXmlFile(opts.slice, progress);
  const itemPath = 'rss/channel/item';

  console.log(`checking that (a) and (b) give the same records…`);
  const comparisons: Comparison[] = [];
  for (const name of fs
    .readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.xml'))
    .sort()) {
    comparisons.push(await compare(path.join(FIXTURES, name), name));
  }
  const catalogCheck = await compare(
    big.path,
    `${path.basename(big.path)}, first ${fmtInt(opts.check)}`,
    opts.check,
  );
  comparisons.push(catalogCheck);
  console.log(
    renderTable(
      ['input', 'items', 'same records', 'note'],
      comparisons.map((c) => [
        c.input,
        fmtInt(c.items),
        c.identical === null ? '—' : c.identical ? 'yes' : 'NO',
        c.note ?? '',
      ]),
      [2, 3],
    ),
  );

  // Alternating, so that a change of load on the machine falls on both.
  const plan: Array<[Variant, string]> = [
    ['a', big.path],
    ['b', big.path],
    ['a', big.path],
    ['b', big.path],
    ['b0', big.path],
    ['a', slice.path],
    ['c', slice.path],
  ];
  const runs: RunResult[] = [];
  for (const [variant, file] of plan) {
    const items = file === big.path ? opts.products : opts.slice;
    console.log(`\n${LABELS[variant]} over ${fmtInt(items)} items (load ${fmtLoad(os.loadavg())})…`);
    const r = spawnRun(variant, file, itemPath);
    console.log(
      `  ${fmtInt(r.items)} items in ${fmtSec(r.wallMs)}: ${fmtInt((r.items / r.wallMs) * 1000)} items/s, peak RSS ${fmtMiB(r.peakRssBytes)}`,
    );
    runs.push(r);
  }

  const rate = (r: RunResult) => (r.items / r.wallMs) * 1000;
  const best = (variant: Variant, file: string) =>
    Math.max(...runs.filter((r) => r.variant === variant && r.file === file).map(rate));
  const base = (r: RunResult) => best('a', r.file);
  const rows = runs.map((r) => [
    LABELS[r.variant],
    fmtInt(r.items),
    fmtSec(r.wallMs),
    fmtInt(rate(r)),
    `${(rate(r) / base(r)).toFixed(2)}×`,
    fmtMiB(r.peakRssBytes),
    fmtLoad(r.loadStart),
  ]);
  console.log(
    `\nXML split, parse only (${os.cpus().length} cores, load at start ${fmtLoad(runs[0]?.loadStart ?? [])}); ratio to the best (a) run on the same file\n`,
  );
  console.log(
    renderTable(['variant', 'items', 'wall', 'items/s', 'vs (a)', 'peak RSS', 'load 1/5/15 at start'], rows),
  );

  const failures: string[] = [];
  const counts = runs.filter((r) => r.items !== (r.file === big.path ? opts.products : opts.slice));
  for (const r of counts) failures.push(`${LABELS[r.variant]} read ${r.items} items`);
  if (catalogCheck.identical !== true)
    failures.push(`(a) and (b) differ on the catalog: ${catalogCheck.note ?? ''}`);
  const out = writeResults(`xml-split-${opts.products}`, startedAt, {
    bench: 'xml-split',
    startedAt: startedAt.toISOString(),
    options: opts,
    files: { items: big, slice },
    comparisons,
    runs: runs.map((r) => ({
      ...r,
      label: LABELS[r.variant],
      itemsPerSecond: rate(r),
      ratioToA: rate(r) / base(r),
    })),
    summary: {
      aItemsPerSecond: best('a', big.path),
      bItemsPerSecond: best('b', big.path),
      bOverA: best('b', big.path) / best('a', big.path),
    },
    machine: machineInfo(),
    versions: { fastXmlParser: packageVersion('fast-xml-parser'), git: gitState() },
  });
  console.log(`\nfigures written to ${path.relative(process.cwd(), out)}`);
  reportFailures('the runs did not all read what they should', failures);
}

runBench(main, USAGE);
