import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_LOCK_FILE, type StoreHolder } from '../src/store/store-lock.js';
import { runCli } from './helpers/cli.js';
import { SAMPLES } from './helpers/samples.js';
import { type ServeChild, startServe } from './helpers/serve-child.js';
import { BACKEND, openTestStore } from './helpers/store.js';

// biome-ignore lint/suspicious/noExplicitAny: the API's answers are read loosely, as the assertions check them.
type Json = Record<string, any>;

// serve has the key from its environment; the command line does not, and needs none.
const KEY = 'serve-cli-test-key';

/** The run fields the API and `import --json` show (no internal columns). */
const RUN_KEYS = [
  'actor',
  'applicable',
  'catalog',
  'counts',
  'durationMs',
  'failure',
  'fetchedAt',
  'finishedAt',
  'forced',
  'heldReasons',
  'id',
  'mode',
  'numberFormat',
  'source',
  'startedAt',
  'status',
];

describe.runIf(BACKEND === 'pglite')('the command line beside a running serve (embedded store)', () => {
  let work: string;
  let dataDir: string;
  let cli: Record<string, string>;
  let serve: ServeChild;

  const api = async (method: string, url: string) => {
    const res = await fetch(`${serve.url}${url}`, { method, headers: { authorization: `Bearer ${KEY}` } });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const lockFile = () => path.join(dataDir, STORE_LOCK_FILE);
  const readLock = () => JSON.parse(fs.readFileSync(lockFile(), 'utf8')) as StoreHolder;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-serve-cli-'));
    dataDir = path.join(work, 'data');
    fs.mkdirSync(path.join(work, 'feeds'));
    fs.copyFileSync(path.join(SAMPLES, 'woocommerce-sample-products.csv'), path.join(work, 'woo.csv'));
    const mapping = { sku: 'SKU', title: 'Name', price: 'Regular price', quantity: 'Stock' };
    const definitions = [
      { kind: 'catalog', id: 'woo', source: { file: 'woo.csv' }, mapping },
      { kind: 'catalog', id: 'second', mapping },
      {
        kind: 'channel',
        id: 'woo-csv',
        catalog: 'woo',
        format: 'csv',
        fields: { id: 'sku', stock: 'quantity' },
      },
    ];
    for (const d of definitions)
      fs.writeFileSync(path.join(work, 'feeds', `${d.id}.json`), JSON.stringify(d));
    cli = { DATA_DIR: dataDir };
    serve = await startServe({ DATA_DIR: dataDir, FEEDWRIGHT_API_KEY: KEY, LOG_LEVEL: 'warn' }, work);
    // serve imports a never-imported catalog with a source at start: let it finish first.
    for (let waited = 0; waited < 60_000; waited += 100) {
      const runs = (await api('GET', '/api/catalogs/woo/imports?limit=1')).body.runs as Json[];
      if (runs[0]?.status === 'applied') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 120_000);
  afterAll(async () => {
    if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill('SIGKILL');
    await serve.exited;
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('serve holds DATA_DIR: a private lock naming it, its address and a credential of its own', () => {
    expect(fs.statSync(lockFile()).mode & 0o777).toBe(0o600);
    const lock = readLock();
    expect(lock).toMatchObject({
      pid: serve.child.pid,
      command: 'serve',
      serve: { state: 'ready', url: serve.url, schema: expect.any(Number) },
    });
    expect(lock.serve?.token).toMatch(/^[\w-]{43}$/);
    expect(lock.serve?.token).not.toBe(KEY);
  });

  it('imports the catalog’s source through serve: the same output, the run in the API at once, as the command line’s', async () => {
    const res = await runCli(['import', 'woo'], cli, { cwd: work });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const id = Number(/^import (\d+) of woo: applied in \d+ ms\n/.exec(res.stdout)?.[1]);
    expect(res.stdout).toMatch(/ROWS\s+VALID\s+CREATED[\s\S]*\n25\s+25\s+0\s+0\s+25\s+0\s+0/);
    const run = await api('GET', `/api/imports/${id}`);
    expect(run.body.run).toMatchObject({
      status: 'applied',
      actor: 'cli',
      source: `file:${path.join(work, 'woo.csv')}`,
    });
    expect((await api('GET', '/api/catalogs/woo/products?limit=1')).body.total).toBe(25);
  });

  it('exits 2 on a held run with the same one line, and applies it with --apply-run', async () => {
    const few = path.join(work, 'few.csv');
    fs.writeFileSync(few, 'SKU,Name,Regular price,Stock\nwoo-beanie,Beanie,20,7\n');
    const held = await runCli(['import', 'woo', '--file', few], cli);
    expect(held.code).toBe(2);
    const lines = held.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    const id = /^feedwright: import (\d+) held: would remove 24 of 25 products/.exec(lines[0] ?? '')?.[1];
    expect(lines[0]).toContain(`(apply it with --apply-run ${id}, or re-run with --force)`);
    expect((await api('GET', `/api/imports/${id}`)).body.run).toMatchObject({
      status: 'held',
      source: `upload:${few}`,
    });
    const applied = await runCli(['import', '--apply-run', String(id)], cli);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(new RegExp(`^import ${id} of woo: applied \\(forced\\)`));
    expect((await api('GET', '/api/catalogs/woo/products?limit=1')).body.total).toBe(1);
  });

  it('imports stdin in partial mode with the same --json, then reports an order that moves stock at once', async () => {
    const res = await runCli(['import', 'woo', '--file', '-', '--partial', '--json'], cli, {
      stdin: 'SKU,Stock\nwoo-beanie,7\nno-such-sku,1\n',
    });
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(Object.keys(out.run).sort()).toEqual(RUN_KEYS);
    expect(out.run).toMatchObject({
      status: 'applied',
      mode: 'partial',
      source: 'upload:stdin',
      counts: { updated: 0, unchanged: 1, errors: 1 },
    });
    expect(out.rowErrors).toEqual([
      { line: 3, sku: 'no-such-sku', code: 'unknown_sku', message: expect.any(String) },
    ]);

    const order = { orderId: 'o-1', status: 'paid', lines: [{ sku: 'woo-beanie', quantity: 2 }] };
    const reported = await runCli(['order', 'woo-csv', '-'], cli, { stdin: JSON.stringify(order) });
    expect(reported.code).toBe(0);
    expect(reported.stdout).toMatch(/^order o-1 on woo-csv: paid, holds its units\nSKU\s+DELTA\s+CAUSE/);
    expect(reported.stdout).toMatch(/woo-beanie\s+-2\s+order\s+5/);
    expect((await api('GET', '/api/catalogs/woo/products/woo-beanie')).body.stock).toMatchObject({
      imported: 7,
      effective: 5,
    });
  });

  it('publishes through serve: the version it prints is the one the API serves', async () => {
    const res = await runCli(['publish', 'woo-csv'], cli);
    expect(res.code).toBe(0);
    const version = Number(/\nwoo-csv\s+(\d+)\s+1\s+0/.exec(res.stdout)?.[1]);
    expect(version).toBeGreaterThan(0);
    const channel = (await api('GET', '/api/channels/woo-csv')).body;
    expect(channel.lastPublication).toMatchObject({ version, actor: 'cli', reason: 'on demand' });
    const feed = await fetch(channel.feedUrl);
    expect(await feed.text()).toBe('id,stock\r\nwoo-beanie,5\r\n');
  });

  it('applies a folder through serve, all or nothing, its file sources resolved in that folder', async () => {
    const other = path.join(work, 'other');
    fs.mkdirSync(path.join(other, 'feeds'), { recursive: true });
    fs.writeFileSync(
      path.join(other, 'feeds', 'third.json'),
      JSON.stringify({ kind: 'catalog', id: 'third', source: { file: 'third.csv' } }),
    );
    const res = await runCli(['apply', '--dir', other], cli);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(
      /^KIND\s+ID\s+FILE\s+OUTCOME\s+VERSION\ncatalog\s+third\s+feeds\/third\.json\s+created\s+1\n$/,
    );
    const third = (await api('GET', '/api/catalogs/third')).body;
    expect(third.definition.source).toEqual({ file: path.join(other, 'third.csv') });
  });

  it('runs two imports at once through serve, and both are in the API', async () => {
    const [a, b] = await Promise.all([
      runCli(['import', 'woo', '--file', path.join(work, 'woo.csv'), '--force'], cli),
      runCli(['import', 'second', '--file', path.join(work, 'woo.csv')], cli),
    ]);
    expect([a.code, b.code, a.stderr, b.stderr]).toEqual([0, 0, '', '']);
    for (const [res, catalog] of [
      [a, 'woo'],
      [b, 'second'],
    ] as const) {
      const id = Number(new RegExp(`^import (\\d+) of ${catalog}: applied`).exec(res.stdout)?.[1]);
      expect((await api('GET', `/api/imports/${id}`)).body.run).toMatchObject({ catalog, status: 'applied' });
      expect((await api('GET', `/api/catalogs/${catalog}/products?limit=1`)).body.total).toBe(25);
    }
  });

  it('maps errors to the same lines, says migrate has nothing to do, and refuses a second serve', async () => {
    const bad = path.join(work, 'bad');
    fs.mkdirSync(path.join(bad, 'feeds'), { recursive: true });
    fs.writeFileSync(path.join(bad, 'feeds', 'third.json'), JSON.stringify({ kind: 'catalog', id: 'third' }));
    fs.writeFileSync(path.join(bad, 'feeds', 'bad.json'), JSON.stringify({ kind: 'catalog', id: 'Bad' }));
    const [refused, explain, ghost, migrate, second] = await Promise.all([
      runCli(['apply', '--dir', bad], cli),
      runCli(['explain', 'woo-csv', 'no-such'], cli),
      runCli(['import', 'ghost'], cli),
      runCli(['migrate'], cli),
      runCli(['serve', '--dir', work], { ...cli, PORT: '0', HOST: '127.0.0.1' }),
    ]);
    // A folder with a faulty file: every problem, then the one line; nothing applied (third stays).
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^feeds\/bad\.json: \$\.id: must be lowercase letters[^\n]*\nfeedwright: apply refused: 1 problem\(s\), nothing applied\n$/,
    );
    expect((await api('GET', '/api/catalogs/third')).body.version).toBe(1);
    expect([explain.code, explain.stderr]).toEqual([
      1,
      'feedwright: catalog "woo" has no product "no-such"\n',
    ]);
    expect([ghost.code, ghost.stderr]).toEqual([1, 'feedwright: no catalog "ghost"\n']);
    expect([migrate.code, migrate.stdout]).toEqual([
      0,
      `schema is up to date (migrated by feedwright serve, pid ${serve.child.pid})\n`,
    ]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(
        `^feedwright: the embedded store in ${dataDir} is in use by feedwright serve \\(pid ${serve.child.pid}, since [^)]*, listening on ${serve.url}\\); stop that process first`,
      ),
    );
  });

  it('after serve is killed (SIGKILL), the command line takes over its lock; nothing it did is lost', async () => {
    serve.child.kill('SIGKILL');
    await serve.exited;
    expect(readLock().pid).toBe(serve.child.pid);
    const history = await runCli(['history', '--catalog', 'woo', '--type', 'import.applied', '--json'], cli);
    expect(history.code).toBe(0);
    const events = JSON.parse(history.stdout).events as Array<{ actor: string }>;
    // The forced import, the partial one, the held run applied and the import: all through serve.
    expect(events.map((e) => e.actor)).toEqual(['cli', 'cli', 'cli', 'cli', 'startup']);
    expect(fs.existsSync(lockFile())).toBe(false);
  });

  it('a new serve waits for nobody, the command line waits for it, and SIGTERM lets go of the lock', async () => {
    const starting = startServe({ DATA_DIR: dataDir, FEEDWRIGHT_API_KEY: KEY, LOG_LEVEL: 'warn' }, work);
    for (let waited = 0; !fs.existsSync(lockFile()) && waited < 60_000; waited += 20)
      await new Promise((resolve) => setTimeout(resolve, 20));
    // Most likely still starting (migrations, definitions): the command waits until it listens.
    const [history, started] = await Promise.all([
      runCli(['history', '--limit', '1', '--json'], cli),
      starting,
    ]);
    serve = started;
    expect(history.code).toBe(0);
    expect(JSON.parse(history.stdout).events).toHaveLength(1);
    expect(readLock()).toMatchObject({ pid: serve.child.pid, serve: { state: 'ready' } });
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(lockFile())).toBe(false);
  }, 120_000);
});

describe.runIf(BACKEND === 'postgres')('the command line on PostgreSQL', () => {
  it('takes no lock: any number of processes share the store', async () => {
    const t = await openTestStore();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-pg-lock-'));
    try {
      const res = await runCli(['migrate'], { DATABASE_URL: t.databaseUrl, DATA_DIR: dataDir });
      expect([res.code, res.stdout]).toEqual([0, 'schema is up to date\n']);
      expect(fs.readdirSync(dataDir)).toEqual([]);
    } finally {
      await t.cleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
