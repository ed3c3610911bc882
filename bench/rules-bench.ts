/**
 * Rule evaluation benchmark (`node dist/bench/rules-bench.js --products N`): a 10-rule set
 * (conditions on numbers, strings, `in` lists and a window; actions set, percent, clamp,
 * exclude) over N generated products, evaluated by feedwright's compiled evaluator and, on
 * a sample, by json-rules-engine's own Engine.run (one run per product, the rules in order).
 * Checks that both give identical products on a sample, prints the rates and their ratio,
 * and writes the figures as JSON under bench/results/. Products are generated in chunks
 * and dropped after use, so memory does not grow with N. A script, not a test: it exits 1
 * when the results differ.
 */
// biome-ignore-all lint/suspicious/noThenProperty: a rule's actions are its "then" (SPEC §2), not a thenable.
import fs from 'node:fs';
import path from 'node:path';
import { progressBar } from '../src/cli/output.js';
import { compileRuleSets } from '../src/rules/engine.js';
import { factsOf } from '../src/rules/facts.js';
import type { ApplyResult, Product } from '../src/rules/types.js';
import { RESULTS_DIR, runBench, wholeNumberOptions } from './harness.js';
import { pick, rng } from './random.js';
import { createReferenceEvaluator, referenceEngine, toEngineCondition } from './reference-engine.js';
import { BENCH_RULE_SET } from './ten-rules.js';

const DEFAULTS = { products: 1_000_000, engineSample: 20_000, check: 10_000 };
const CHUNK = 10_000;
const SEED = 0x7e1e5;
const AT = new Date('2026-06-15T10:00:00Z');

const USAGE = `usage: node dist/bench/rules-bench.js [--products N] [--engine-sample N] [--check N]
  --products N       products evaluated by feedwright (default ${DEFAULTS.products.toLocaleString('en-US')})
  --engine-sample N  products evaluated by json-rules-engine (default ${DEFAULTS.engineSample.toLocaleString('en-US')})
  --check N          products whose results are compared (default ${DEFAULTS.check.toLocaleString('en-US')})`;

function parseArgs(argv: string[]): typeof DEFAULTS {
  return wholeNumberOptions(
    argv,
    DEFAULTS,
    { '--products': 'products', '--engine-sample': 'engineSample', '--check': 'check' },
    USAGE,
  );
}

// ---------------------------------------------------------------------------------------
// The rule set and the products

const BRANDS = Array.from({ length: 40 }, (_, i) => `Brand-${String(i).padStart(2, '0')}`);
const CATEGORIES = [
  'Shoes',
  'Shirts',
  'Pants',
  'Hats',
  'Bags',
  'Toys',
  'Books',
  'Garden',
  'Kitchen',
  'Sport',
];
const COLORS = ['black', 'white', 'red', 'blue', 'green', 'yellow', 'grey', 'pink'];
const SIZES = ['XS', 'S', 'M', 'L', 'XL'];
const WORDS = ['Classic', 'Clearance', 'Premium', 'Basic', 'Eco', 'Sport', 'Vintage', 'Urban'];

/**
 * Products [from, from + count) of the seeded catalog, shaped as the store hands them over
 * (plain objects parsed from JSON), or with `nullPrototype` as the import's normalizer
 * builds them (Object.create(null), which V8 keeps as slower dictionaries).
 */
function generateChunk(from: number, count: number, nullPrototype = false): Product[] {
  const r = rng(SEED + from);
  const out: Product[] = new Array(count);
  for (let k = 0; k < count; k++) {
    const i = from + k;
    const sku = `SKU-${String(i).padStart(8, '0')}`;
    const managed = r() >= 0.05;
    // Plain objects, as the store hands products over (JSON parsed from PostgreSQL).
    const fields: Product['fields'] = {
      sku,
      title: `${pick(r, WORDS)} ${pick(r, CATEGORIES)} ${i % 997}`,
      brand: pick(r, BRANDS),
      category: pick(r, CATEGORIES),
      price: Math.round(r() * 30_000) / 100,
    };
    if (managed) fields.quantity = Math.floor(r() * r() * 150);
    fields.manage_stock = managed;
    fields.status = r() < 0.05 ? 'inactive' : 'active';
    fields.condition = 'new';
    const attributes: Product['attributes'] = {
      color: pick(r, COLORS),
      size: pick(r, SIZES),
      material: r() < 0.5 ? 'cotton' : 'polyester',
    };
    out[k] = nullPrototype
      ? {
          sku,
          fields: Object.assign(Object.create(null), fields),
          attributes: Object.assign(Object.create(null), attributes),
        }
      : { sku, fields, attributes };
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Measurements

interface Rate {
  products: number;
  seconds: number;
  perSecond: number;
  microsecondsPerProduct: number;
}

function rate(products: number, seconds: number): Rate {
  return {
    products,
    seconds: round(seconds, 3),
    perSecond: Math.round(products / seconds),
    microsecondsPerProduct: round((seconds * 1e6) / products, 3),
  };
}

function round(x: number, d: number): number {
  return Math.round(x * 10 ** d) / 10 ** d;
}

// With --expose-gc (as `npm run bench` runs), the garbage of generating a chunk is
// collected before the chunk is timed, so it is not billed to the evaluator measured.
const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});

function progress(label: string, done: number, total: number): void {
  if (process.stderr.isTTY) {
    const ratio = total > 0 ? Math.min(1, done / total) : 0;
    process.stderr.write(
      `\r\x1b[K  ${progressBar(ratio, 20)} ${String(Math.floor(ratio * 100)).padStart(3)} % ${label}: ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}`,
    );
  }
}

function endProgress(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}

/** feedwright's compiled evaluator over N products, in chunks; only `apply` is timed. */
function measureCompiled(n: number, nullPrototype = false): Rate & { included: number } {
  const evaluator = compileRuleSets([BENCH_RULE_SET]);
  for (const p of generateChunk(0, Math.min(CHUNK, n), nullPrototype)) evaluator.apply(p, AT); // JIT warm-up
  let elapsed = 0;
  let included = 0;
  for (let from = 0; from < n; from += CHUNK) {
    const chunk = generateChunk(from, Math.min(CHUNK, n - from), nullPrototype);
    collect();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < chunk.length; i++)
      if ((evaluator.apply(chunk[i] as Product, AT) as ApplyResult).included) included++;
    elapsed += Number(process.hrtime.bigint() - t0) / 1e9;
    progress('feedwright', from + chunk.length, n);
  }
  endProgress();
  return { ...rate(n, elapsed), included };
}

/**
 * json-rules-engine doing the same job: one Engine with the 10 rules (descending
 * priorities, so they run in order), one Engine.run per product, the actions applied in
 * its success handlers (bench/reference-engine.ts).
 */
async function measureEngine(n: number): Promise<Rate> {
  const reference = createReferenceEvaluator([BENCH_RULE_SET]);
  for (const p of generateChunk(0, 500)) await reference.apply(p, AT);
  let elapsed = 0;
  for (let from = 0; from < n; from += CHUNK) {
    const chunk = generateChunk(from, Math.min(CHUNK, n - from));
    collect();
    const t0 = process.hrtime.bigint();
    for (const p of chunk) await reference.apply(p, AT);
    elapsed += Number(process.hrtime.bigint() - t0) / 1e9;
    progress('json-rules-engine', from + chunk.length, n);
  }
  endProgress();
  return rate(n, elapsed);
}

/**
 * json-rules-engine's floor: the 10 conditions only (no actions, not sequential), one
 * Engine.run per product. It cannot produce the rule set's results; it bounds how fast
 * any use of Engine.run can be.
 */
async function measureEngineConditionsOnly(n: number): Promise<Rate> {
  const engine = referenceEngine();
  BENCH_RULE_SET.rules.forEach((rule, i) => {
    engine.addRule({ name: rule.id, conditions: toEngineCondition(rule.when), event: { type: String(i) } });
  });
  const now = AT.toISOString();
  for (const p of generateChunk(0, 500)) await engine.run(factsOf(p.fields, p.attributes, now));
  let elapsed = 0;
  for (let from = 0; from < n; from += CHUNK) {
    const chunk = generateChunk(from, Math.min(CHUNK, n - from));
    collect();
    const t0 = process.hrtime.bigint();
    for (const p of chunk) await engine.run(factsOf(p.fields, p.attributes, now));
    elapsed += Number(process.hrtime.bigint() - t0) / 1e9;
  }
  return rate(n, elapsed);
}

function sameResult(a: ApplyResult, b: ApplyResult): boolean {
  const plain = (x: ApplyResult) =>
    JSON.stringify([
      Object.entries(x.product.fields).sort(),
      Object.entries(x.product.attributes).sort(),
      x.included,
      x.excludedBy ?? null,
    ]);
  return plain(a) === plain(b);
}

/** Compares both evaluators product by product; returns the skus that differ. */
async function check(
  n: number,
): Promise<{ products: number; mismatches: string[]; excluded: number; changed: number }> {
  const evaluator = compileRuleSets([BENCH_RULE_SET]);
  const reference = createReferenceEvaluator([BENCH_RULE_SET]);
  const mismatches: string[] = [];
  let excluded = 0;
  let changed = 0;
  for (let from = 0; from < n; from += CHUNK) {
    for (const p of generateChunk(from, Math.min(CHUNK, n - from))) {
      const ours = evaluator.apply(p, AT);
      const theirs = await reference.apply(p, AT);
      if (!sameResult(ours, theirs)) mismatches.push(p.sku);
      if (!ours.included) excluded++;
      if (ours.product.fields !== p.fields || ours.product.attributes !== p.attributes) changed++;
    }
  }
  return { products: n, mismatches, excluded, changed };
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const engineSample = Math.min(opts.engineSample, opts.products);
  const checked = Math.min(opts.check, opts.products);
  console.log(
    `rules bench: ${BENCH_RULE_SET.rules.length} rules, ${opts.products.toLocaleString('en-US')} products, json-rules-engine on ${engineSample.toLocaleString('en-US')}`,
  );

  const equality = await check(checked);
  const ours = measureCompiled(opts.products);
  const oursNullPrototype = measureCompiled(Math.min(opts.products, 200_000), true);
  const engine = await measureEngine(engineSample);
  const conditionsOnly = await measureEngineConditionsOnly(engineSample);
  const ratio = round(ours.perSecond / engine.perSecond, 1);
  const ratioConditionsOnly = round(ours.perSecond / conditionsOnly.perSecond, 1);
  const ok = equality.mismatches.length === 0;

  const row = (name: string, r: Rate, vs: string) =>
    `${name.padEnd(44)}${r.products.toLocaleString('en-US').padStart(11)}${`${r.seconds.toFixed(2)} s`.padStart(10)}${r.perSecond.toLocaleString('en-US').padStart(13)}${`${r.microsecondsPerProduct.toFixed(2)} µs`.padStart(12)}${vs.padStart(9)}`;
  console.log(
    `${'evaluator'.padEnd(44)}${'products'.padStart(11)}${'time'.padStart(10)}${'products/s'.padStart(13)}${'each'.padStart(12)}${'ratio'.padStart(9)}`,
  );
  console.log(row('feedwright compiled (apply)', ours, `${ratio}×`));
  console.log(
    row(
      'feedwright, null-prototype input',
      oursNullPrototype,
      `${round(oursNullPrototype.perSecond / engine.perSecond, 1)}×`,
    ),
  );
  console.log(row('json-rules-engine Engine.run, same results', engine, '1×'));
  console.log(
    row(
      'json-rules-engine Engine.run, conditions only',
      conditionsOnly,
      `${round(conditionsOnly.perSecond / engine.perSecond, 1)}×`,
    ),
  );
  console.log(
    `  feedwright vs json-rules-engine: ${ratio}× (${ratioConditionsOnly}× its conditions-only floor); target 50×`,
  );
  console.log(
    `  identical results on ${checked.toLocaleString('en-US')} products: ${ok ? 'yes' : `NO, ${equality.mismatches.length} differ (e.g. ${equality.mismatches.slice(0, 5).join(', ')})`}; ${equality.excluded.toLocaleString('en-US')} excluded, ${equality.changed.toLocaleString('en-US')} changed`,
  );
  console.log(`  peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);

  const report = {
    startedAt: startedAt.toISOString(),
    node: process.version,
    gcBetweenChunks: (globalThis as { gc?: unknown }).gc !== undefined,
    at: AT.toISOString(),
    rules: BENCH_RULE_SET.rules.length,
    products: opts.products,
    feedwright: ours,
    feedwrightNullPrototypeInput: oursNullPrototype,
    jsonRulesEngine: engine,
    jsonRulesEngineConditionsOnly: conditionsOnly,
    ratio,
    ratioConditionsOnly,
    check: {
      ...equality,
      mismatches: equality.mismatches.slice(0, 100),
      mismatchCount: equality.mismatches.length,
    },
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    ok,
  };
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const out = path.join(
    RESULTS_DIR,
    `rules-${opts.products}-${startedAt.toISOString().replaceAll(':', '-')}.json`,
  );
  fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`  results: ${path.relative(process.cwd(), out)}`);
  if (!ok) {
    console.error('RESULTS DIFFER: feedwright and json-rules-engine disagree (see the JSON)');
    process.exitCode = 1;
  }
}

runBench(main, USAGE);
