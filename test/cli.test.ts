import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgliteStore } from '../src/store/pglite-store.js';
import { countProducts, getProduct } from '../src/store/products.js';
import type { Store } from '../src/store/types.js';
import { runCli } from './helpers/cli.js';
import { startFixtureServer } from './helpers/fixture-server.js';
import { SAMPLES } from './helpers/samples.js';
import { BACKEND, openTestStore, type TestStore } from './helpers/store.js';

const REPO = path.resolve(import.meta.dirname, '..');

describe('command line', () => {
  let work: string;
  let env: Record<string, string | undefined>;
  let t: TestStore | undefined;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-cli-'));
    fs.mkdirSync(path.join(work, 'feeds'));
    fs.copyFileSync(path.join(SAMPLES, 'woocommerce-sample-products.csv'), path.join(work, 'woo.csv'));
    fs.writeFileSync(
      path.join(work, 'feeds', 'woo.json'),
      JSON.stringify({
        kind: 'catalog',
        id: 'woo',
        source: { file: 'woo.csv' },
        mapping: { sku: 'SKU', title: 'Name', price: 'Regular price', quantity: 'Stock' },
      }),
    );
    if (BACKEND === 'postgres') {
      // The CLI opens its own connections to this test's schema.
      t = await openTestStore();
      env = { DATABASE_URL: t.databaseUrl };
    } else {
      env = { DATA_DIR: path.join(work, 'data') };
    }
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** Reads the store the commands wrote to (PGlite is opened once the command has exited). */
  async function readStore<T>(read: (store: Store) => Promise<T>): Promise<T> {
    if (t) return read(t.store);
    const store = await openPgliteStore(path.join(work, 'data', 'pglite'));
    try {
      return await read(store);
    } finally {
      await store.close();
    }
  }

  it('migrates, and a second and third migrate change nothing', async () => {
    await runCli(['migrate'], env);
    for (let i = 0; i < 2; i++) {
      const again = await runCli(['migrate'], env);
      expect(again.code).toBe(0);
      expect(again.stdout.trim()).toBe('schema is up to date');
    }
  });

  it('applies feeds/ from --dir, then reports the same files unchanged', async () => {
    const first = await runCli(['apply', '--dir', work, '--json'], env);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout).applied).toEqual([
      { kind: 'catalog', id: 'woo', file: 'feeds/woo.json', outcome: 'created', version: 1 },
    ]);
    const second = await runCli(['apply', '--dir', work], env);
    expect(second.stdout).toMatch(/woo\s+feeds\/woo\.json\s+unchanged\s+1/);
  });

  it('refuses a faulty definition folder with exit 1 and the file and JSON path', async () => {
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-bad-'));
    fs.mkdirSync(path.join(bad, 'feeds'));
    fs.writeFileSync(
      path.join(bad, 'feeds', 'x.json'),
      JSON.stringify({ kind: 'catalog', id: 'X Y', format: 'pdf' }),
    );
    const res = await runCli(['apply', '--dir', bad], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('feeds/x.json: $.id: must be lowercase letters');
    expect(res.stderr).toContain('feeds/x.json: $.format: must be one of');
    fs.rmSync(bad, { recursive: true });
  });

  it('imports the catalog source and prints the counts', async () => {
    const res = await runCli(['import', 'woo'], env, { cwd: work });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/import \d+ of woo: applied/);
    expect(res.stdout).toMatch(/ROWS\s+VALID\s+CREATED[\s\S]*\n25\s+25\s+25\s+0\s+0\s+0\s+0/);
    expect(res.stdout).toContain('numbers: decimal point (4.50), detected from');
    expect(res.stderr).toBe('');
  });

  it('warns when an import applied with row errors, naming the products kept as they were', async () => {
    // The same export with a typo in one price: the product keeps its last imported version.
    const rows = parse(fs.readFileSync(path.join(work, 'woo.csv'))) as string[][];
    const header = rows[0] as string[];
    const price = header.indexOf('Regular price');
    const beanie = rows.find((r) => r[header.indexOf('SKU')] === 'woo-beanie') as string[];
    beanie[price] = '2O';
    const typo = path.join(work, 'typo.csv');
    fs.writeFileSync(typo, stringify(rows));
    const res = await runCli(['import', 'woo', '--file', typo], env);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/import \d+ of woo: applied with errors/);
    expect(res.stdout).toMatch(/KEPT[\s\S]*price "2O" in column "Regular price" is not a number/);
    expect(res.stderr).toMatch(
      /^feedwright: warning: import \d+ applied with 1 row error; 1 product kept its last imported version\n$/,
    );
    const kept = await readStore((store) => getProduct(store, 'woo', 'woo-beanie'));
    expect(kept?.fields.price).toBe(20);
  });

  it('imports from stdin in partial mode, with --json', async () => {
    const res = await runCli(['import', 'woo', '--file', '-', '--partial', '--json'], env, {
      stdin: 'SKU,Stock\nwoo-beanie,7\nno-such-sku,1\n',
    });
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.run).toMatchObject({
      status: 'applied',
      mode: 'partial',
      counts: { updated: 1, errors: 1, removed: 0 },
    });
    expect(out.rowErrors).toEqual([
      expect.objectContaining({ line: 3, sku: 'no-such-sku', code: 'unknown_sku' }),
    ]);
  });

  it('exits 2 with one line on stderr when the safety gate holds a run, then applies it', async () => {
    const few = path.join(work, 'few.csv');
    fs.writeFileSync(few, 'SKU,Name,Regular price,Stock\nwoo-beanie,Beanie,20,7\n');
    const res = await runCli(['import', 'woo', '--file', few], env);
    expect(res.code).toBe(2);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^feedwright: import (\d+) held: would remove 24 of 25 products \(96 %\), more than the 50 % allowed/,
    );
    const runId = /import (\d+) held/.exec(lines[0] ?? '')?.[1];
    expect(lines[0]).toContain(`(apply it with --apply-run ${runId}, or re-run with --force)`);
    const applied = await runCli(['import', '--apply-run', String(runId)], env);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('applied (forced)');
  });

  it('imports a catalog linked to a URL now when no --file is given', async () => {
    const server = await startFixtureServer();
    try {
      const woo = fs.readFileSync(path.join(SAMPLES, 'woocommerce-sample-products.csv'));
      server.route('/export/products.csv', (req, res) => {
        if (req.headers['if-none-match'] === '"w1"') res.writeHead(304).end();
        else res.writeHead(200, { 'content-type': 'text/csv', etag: '"w1"' }).end(woo);
      });
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-linked-'));
      fs.mkdirSync(path.join(dir, 'feeds'));
      fs.writeFileSync(
        path.join(dir, 'feeds', 'linked.json'),
        JSON.stringify({
          kind: 'catalog',
          id: 'linked',
          source: { url: server.url('/export/products.csv') },
          mapping: { sku: 'SKU', title: 'Name', price: 'Regular price', quantity: 'Stock' },
        }),
      );
      expect((await runCli(['apply', '--dir', dir], env)).code).toBe(0);
      fs.rmSync(dir, { recursive: true });

      // The fixture server is on 127.0.0.1: the command may reach it only with the setting
      // (linked-source.test.ts shows the refusal without it).
      const allowed = { ...env, FEEDWRIGHT_ALLOW_PRIVATE_SOURCES: 'true' };
      const res = await runCli(['import', 'linked'], allowed);
      expect(res.code).toBe(0);
      expect(res.stderr).toBe('');
      expect(res.stdout).toMatch(/^import \d+ of linked: applied/);
      expect(res.stdout).toMatch(/ROWS\s+VALID\s+CREATED[\s\S]*\n25\s+25\s+25\s+0\s+0\s+0\s+0/);
      expect(server.hits('/export/products.csv')).toBe(1);
      expect(server.requests[0]?.headers['user-agent']).toMatch(/^feedwright\//);
      const products = await readStore(async (store) => ({
        count: await countProducts(store, 'linked'),
        belt: (await getProduct(store, 'linked', 'woo-belt'))?.fields,
      }));
      expect(products).toEqual({ count: 25, belt: expect.objectContaining({ title: 'Belt', price: 65 }) });

      // Asked again: a conditional GET, answered 304, nothing parsed.
      const again = await runCli(['import', 'linked', '--json'], allowed);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout).run).toMatchObject({ status: 'not_modified', counts: { rows: 0 } });
      expect(server.requests.at(-1)?.headers['if-none-match']).toBe('"w1"');
    } finally {
      await server.close();
    }
  }, 120_000);

  it('shows history with filters, newest first', async () => {
    const res = await runCli(['history', '--catalog', 'woo', '--type', 'import', '--json'], env);
    expect(res.code).toBe(0);
    const types = JSON.parse(res.stdout).events.map((e: { type: string }) => e.type);
    expect(types[0]).toBe('import.applied');
    expect(types).toContain('import.held');
    const sku = await runCli(['history', '--sku', 'woo-beanie'], env);
    expect(sku.stdout).toMatch(/product\.updated\s+woo\s+woo-beanie\s+\d+\s+quantity: ∅ → 7/);
  });

  it('validates rule set files: the examples pass, a faulty one fails with its JSON path', async () => {
    const examples = fs.readdirSync(path.join(REPO, 'rules')).filter((f) => f !== 'schema.json');
    const ok = await runCli(['rules', 'validate', ...examples.map((f) => path.join(REPO, 'rules', f))], {});
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toBe(`${examples.length} rule set file(s) valid`);
    const bad = path.join(work, 'bad-rules.json');
    fs.writeFileSync(
      bad,
      JSON.stringify({
        id: 'bad',
        rules: [{ id: 'r', when: { all: [] }, then: [{ clamp: 'quantity', min: 9, max: 1 }] }],
      }),
    );
    const res = await runCli(['rules', 'validate', bad], {});
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${bad}: $.rules[0].then[0]`);
  });

  it("validates the repository's own rules/ folder, skipping what is not a rule set, and says when nothing was one", async () => {
    const rules = path.join(REPO, 'rules');
    const sets = fs.readdirSync(rules).filter((f) => f.endsWith('.json') && f !== 'schema.json').length;
    // As a shell expands rules/*.json: schema.json comes with the rule sets.
    const all = fs.readdirSync(rules).map((f) => path.join(rules, f));
    for (const args of [all, [rules]]) {
      const res = await runCli(['rules', 'validate', ...args], {});
      expect(res.code).toBe(0);
      expect(res.stdout).toBe(
        `skipped ${path.join(rules, 'schema.json')}: a JSON Schema document, not a rule set\n${sets} rule set file(s) valid\n`,
      );
    }
    const feeds = await runCli(['rules', 'validate', path.join(REPO, 'feeds', 'example.json')], {});
    expect(feeds.code).toBe(1);
    expect(feeds.stdout).toContain('example.json: a catalog definition, not a rule set');
    expect(feeds.stderr).toContain('no rule set among the files given');
  });

  it('explains a product through a rule set applied from rules/', async () => {
    fs.mkdirSync(path.join(work, 'rules'), { recursive: true });
    fs.copyFileSync(
      path.join(REPO, 'rules', 'unmanaged-stock.json'),
      path.join(work, 'rules', 'unmanaged-stock.json'),
    );
    expect((await runCli(['apply', '--dir', work], env)).code).toBe(0);
    // woo-beanie is the one product left, with 7 units in managed stock (see the tests above).
    const res = await runCli(['explain', 'unmanaged-stock', 'woo-beanie', '--catalog', 'woo'], env);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('1. unmanaged-stock/fixed-quantity-when-not-managed: not-matched');
    expect(res.stdout).toContain('failed: manage_stock = true, equal false');
    const missing = await runCli(['explain', 'unmanaged-stock', 'woo-cap', '--catalog', 'woo'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('feedwright: catalog "woo" has no product "woo-cap"');
  });

  it('does not offer to apply a held run that staged nothing', async () => {
    // A gzip file cut in the middle: the feed cannot be read to its end.
    const cut = path.join(work, 'cut.csv.gz');
    const whole = gzipSync(fs.readFileSync(path.join(SAMPLES, 'woocommerce-sample-products.csv')));
    fs.writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const res = await runCli(['import', 'woo', '--file', cut], env);
    expect(res.code).toBe(2);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^feedwright: import \d+ held: gzip: the compressed feed is cut short/);
    expect(lines[0]).toContain('nothing was staged, so there is nothing to apply');
    expect(lines[0]).not.toContain('--apply-run');
  });

  it('fails with one line and exit 1 on a missing file or an unknown catalog', async () => {
    const missing = await runCli(['import', 'woo', '--file', path.join(work, 'nope.csv')], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('no such file');
    const unknown = await runCli(['import', 'ghost'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe('feedwright: no catalog "ghost"');
    const bad = await runCli(['frobnicate'], env);
    expect(bad.code).toBe(1);
  });
});
