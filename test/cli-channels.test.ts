import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { BACKEND, openTestStore, type TestStore } from './helpers/store.js';

const REPO = path.resolve(import.meta.dirname, '..');

describe("channels from the command line, with the repository's example catalog, channels and rules", () => {
  let work: string;
  let env: Record<string, string | undefined>;
  let t: TestStore | undefined;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-cli-channels-'));
    const dataDir = path.join(work, 'data');
    if (BACKEND === 'postgres') {
      t = await openTestStore();
      env = { DATABASE_URL: t.databaseUrl, DATA_DIR: dataDir };
    } else {
      env = { DATA_DIR: dataDir };
    }
    const applied = await runCli(['apply', '--dir', REPO, '--json'], env);
    expect(applied.code).toBe(0);
    const kinds = JSON.parse(applied.stdout).applied.map(
      (a: { kind: string; id: string }) => `${a.kind}:${a.id}`,
    );
    expect(kinds).toContain('channel:example-google');
    expect(kinds).toContain('channel:example-marketplace');
    expect((await runCli(['import', 'example'], env)).code).toBe(0);
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('publishes every channel and writes each feed, its gzip twin and item list under DATA_DIR/feeds', async () => {
    const res = await runCli(['publish', '--json'], env);
    expect(res.code).toBe(0);
    const { publications } = JSON.parse(res.stdout) as {
      publications: Array<{
        channel: string;
        version: number;
        items: number;
        excluded: number;
        format: string;
      }>;
    };
    expect(publications.map((p) => p.channel)).toEqual(['example-google', 'example-marketplace']);
    for (const p of publications) {
      expect(p.version).toBe(1);
      expect(p.items).toBeGreaterThan(0);
      const base = path.join(env.DATA_DIR as string, 'feeds', p.channel, `1.${p.format}`);
      expect(fs.existsSync(`${base}.gz`)).toBe(true);
      expect(fs.readFileSync(`${base}.items`, 'utf8').trim().split('\n')).toHaveLength(p.items);
    }
    const csv = fs.readFileSync(
      path.join(env.DATA_DIR as string, 'feeds', 'example-marketplace', '1.csv'),
      'utf8',
    );
    const rows = parseCsv(csv, { columns: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(publications[1]?.items ?? -1);
    expect(Object.keys(rows[0] ?? {})).toEqual([
      'id',
      'parent',
      'name',
      'price',
      'sale_price',
      'stock',
      'category',
      'image',
      'channel',
    ]);
    expect(rows.every((r) => r.channel === 'feedwright-example')).toBe(true);

    const table = await runCli(['publish', 'example-marketplace'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/example-marketplace\s+2\s+\d+\s+\d+\s+0\s+0\s+0/);
  });

  it('explains a product in a channel, with the row the feed holds for it', async () => {
    const res = await runCli(['explain', 'example-marketplace', 'woo-beanie', '--json'], env);
    expect(res.code).toBe(0);
    const e = JSON.parse(res.stdout);
    expect(e.channel).toBe('example-marketplace');
    expect(e.ruleSets).toEqual(['unmanaged-stock', 'stock-share', 'min-max-quantity']);
    expect(e.feedRow).toMatchObject({ id: 'woo-beanie', name: 'Beanie', channel: 'feedwright-example' });
    expect(e.feedRow.stock).toBe(e.product.fields.quantity);
    const text = await runCli(['explain', 'example-marketplace', 'woo-beanie'], env);
    expect(text.stdout).toContain('the feed of example-marketplace holds:');
    expect(text.stdout).toMatch(/\s+name\s+"Beanie"/);
    // A channel runs over its own catalog: naming another is refused, not ignored.
    const refusal =
      'feedwright: channel "example-marketplace" runs over its own catalog "example"; --catalog names the catalog of a rule set';
    const other = await runCli(
      ['explain', 'example-marketplace', 'woo-beanie', '--catalog', 'elsewhere'],
      env,
    );
    expect(other.code).toBe(1);
    expect(other.stderr.trim()).toBe(refusal);
    const preview = await runCli(['rules', 'preview', 'example-marketplace', '--catalog', 'elsewhere'], env);
    expect(preview.code).toBe(1);
    expect(preview.stderr.trim()).toBe(refusal);
    const same = await runCli(['explain', 'example-marketplace', 'woo-beanie', '--catalog', 'example'], env);
    expect(same.code).toBe(0);
  });

  it('previews a channel with a draft rule set in place of its stored one', async () => {
    const draft = path.join(work, 'stock-share.json');
    fs.writeFileSync(
      draft,
      JSON.stringify({
        id: 'stock-share',
        rules: [{ id: 'exclude-all', when: { all: [] }, then: [{ exclude: true, reason: 'draft' }] }],
      }),
    );
    const res = await runCli(['rules', 'preview', 'example-marketplace', '--rules', draft, '--json'], env);
    expect(res.code).toBe(0);
    const p = JSON.parse(res.stdout);
    expect(p.channel).toBe('example-marketplace');
    expect(p.ruleSets).toEqual(['unmanaged-stock', 'stock-share', 'min-max-quantity']);
    expect(p.totals.included).toBe(0);
    expect(p.rules.find((r: { rule: string }) => r.rule === 'exclude-all').excluded).toBe(
      p.totals.products - p.totals.excludedInactive,
    );
  });

  it('reports an order from a JSON file, once', async () => {
    const file = path.join(work, 'order.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        orderId: 'CLI-1',
        status: 'paid',
        lines: [
          { sku: 'woo-beanie', quantity: 1 },
          { sku: 'no-such-sku', quantity: 2 },
        ],
      }),
    );
    const first = await runCli(['order', 'example-marketplace', file], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('order CLI-1 on example-marketplace: paid, holds its units');
    // The sample export manages no stock: nothing moves, and the unknown sku is kept as unlinked.
    expect(first.stdout).toContain('not managed: woo-beanie × 1');
    expect(first.stdout).toContain('unlinked: no-such-sku × 2 is not a product of the catalog');
    const again = await runCli(['order', 'example-marketplace', file], env);
    expect(again.stdout).toContain('this report was received before; nothing moved');
    const history = await runCli(['history', '--channel', 'example-marketplace', '--type', 'order'], env);
    expect(history.stdout.split('\n')[0]).toMatch(/\bCHANNEL\b/);
    expect(history.stdout).toMatch(
      /order\.reported\s+example\s+example-marketplace\s+order CLI-1 paid: 0 stock movements, 1 unknown skus/,
    );
    fs.writeFileSync(file, '{"orderId": "CLI-2", "status": "paid"}');
    const bad = await runCli(['order', 'example-marketplace', file], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('feedwright: $.lines: a paid order needs at least one line');
  });
});
