import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyDefinitions, DefinitionsInvalidError } from '../src/definitions/apply.js';
import { getCatalog, listCatalogs } from '../src/store/catalogs.js';
import { getChannel } from '../src/store/channels.js';
import { readHistory } from '../src/store/history.js';
import { openTestStore, type TestStore } from './helpers/store.js';

let t: TestStore;
let dir: string;

beforeAll(async () => {
  t = await openTestStore();
});
afterAll(async () => {
  await t?.cleanup();
});
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-defs-'));
  fs.mkdirSync(path.join(dir, 'feeds'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function writeFeed(name: string, value: unknown): void {
  const text = typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`;
  fs.writeFileSync(path.join(dir, 'feeds', name), text);
}

const history = async (catalog: string) =>
  (await readHistory(t.store, { catalog, type: 'catalog', limit: 100 })).events;

describe('applyDefinitions', () => {
  it('refuses a folder with one faulty file as a whole, naming file and JSON path', async () => {
    writeFeed('good.json', { kind: 'catalog', id: 'good-shop', mapping: { sku: 'SKU' } });
    writeFeed('bad.json', { kind: 'catalog', id: 'bad-shop', mapping: { sku: 'SKU', colour: 'Colour' } });
    writeFeed('broken.json', '{ "kind": "catalog", ');

    const error = await applyDefinitions(t.store, dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DefinitionsInvalidError);
    const message = (error as Error).message.split('\n');
    expect(message).toContain(`${path.join('feeds', 'bad.json')}: $.mapping.colour: is not a known property`);
    expect(message.some((m) => m.startsWith(`${path.join('feeds', 'broken.json')}: $: not valid JSON`))).toBe(
      true,
    );
    expect(message.some((m) => m.includes('good.json'))).toBe(false);
    expect(await listCatalogs(t.store)).toEqual([]);
    expect(await history('good-shop')).toEqual([]);
  });

  it('refuses two files defining the same catalog', async () => {
    writeFeed('a.json', { kind: 'catalog', id: 'twin' });
    writeFeed('b.json', { kind: 'catalog', id: 'twin', name: 'Other' });
    await expect(applyDefinitions(t.store, dir)).rejects.toThrow(
      `${path.join('feeds', 'b.json')}: $.id: catalog "twin" is also defined in ${path.join('feeds', 'a.json')}`,
    );
    expect(await getCatalog(t.store, 'twin')).toBeUndefined();
  });

  it('writes nothing when the same folder is applied again', async () => {
    writeFeed('steady.json', {
      kind: 'catalog',
      id: 'steady',
      source: { file: 'data/steady.csv' },
      mapping: { sku: 'SKU', title: 'Name' },
    });
    const first = await applyDefinitions(t.store, dir);
    expect(first.applied).toEqual([
      {
        kind: 'catalog',
        id: 'steady',
        file: path.join('feeds', 'steady.json'),
        outcome: 'created',
        version: 1,
      },
    ]);
    const stored = await getCatalog(t.store, 'steady');
    // A relative source file is read from the applied folder.
    expect(stored?.definition.source).toEqual({ file: path.join(dir, 'data/steady.csv') });

    const second = await applyDefinitions(t.store, dir);
    expect(second.applied).toMatchObject([{ id: 'steady', outcome: 'unchanged', version: 1 }]);
    expect(await getCatalog(t.store, 'steady')).toEqual(stored);
    expect((await history('steady')).map((e) => e.type)).toEqual(['catalog.created']);
  });

  it('bumps the version of a changed definition and records what changed', async () => {
    writeFeed('moving.json', { kind: 'catalog', id: 'moving', mapping: { sku: 'SKU', title: 'Name' } });
    await applyDefinitions(t.store, dir);
    writeFeed('moving.json', {
      kind: 'catalog',
      id: 'moving',
      mapping: { sku: 'SKU', title: 'Title' },
      safety: { maxDropPercent: 20 },
    });

    const result = await applyDefinitions(t.store, dir);
    expect(result.applied).toMatchObject([{ id: 'moving', outcome: 'updated', version: 2 }]);
    const stored = await getCatalog(t.store, 'moving');
    expect(stored).toMatchObject({ version: 2, origin: `file:${path.join('feeds', 'moving.json')}` });
    expect(stored?.definition.mapping?.title).toBe('Title');

    const events = await history('moving');
    expect(events.map((e) => e.type)).toEqual(['catalog.updated', 'catalog.created']);
    expect(events[0]?.data).toEqual({
      version: 2,
      changes: {
        mapping: { before: { sku: 'SKU', title: 'Name' }, after: { sku: 'SKU', title: 'Title' } },
        safety: { before: null, after: { maxDropPercent: 20 } },
      },
    });
  });

  it('applies channel files after catalogs and rule sets, and a second apply changes nothing', async () => {
    writeFeed('acme.json', { kind: 'catalog', id: 'acme-shop', mapping: { sku: 'SKU' } });
    writeFeed('google.json', {
      kind: 'channel',
      id: 'google',
      catalog: 'acme-shop',
      preset: 'google-shopping',
      rules: ['low-stock'],
    });
    fs.mkdirSync(path.join(dir, 'rules'));
    fs.writeFileSync(
      path.join(dir, 'rules', 'low-stock.json'),
      JSON.stringify({ id: 'low-stock', rules: [{ id: 'r', when: { all: [] }, then: [{ exclude: true }] }] }),
    );
    const first = await applyDefinitions(t.store, dir);
    expect(first.applied.map((a) => `${a.kind}:${a.id}:${a.outcome}`)).toEqual([
      'catalog:acme-shop:created',
      'rules:low-stock:created',
      'channel:google:created',
    ]);
    const channel = await getChannel(t.store, 'google');
    expect(channel?.catalog).toBe('acme-shop');
    // A feed token of at least 128 random bits, URL-safe.
    expect(channel?.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const again = await applyDefinitions(t.store, dir);
    expect(again.applied.map((a) => a.outcome)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect((await getChannel(t.store, 'google'))?.token).toBe(channel?.token);

    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-empty-'));
    try {
      expect(await applyDefinitions(t.store, empty)).toEqual({ applied: [], skipped: [] });
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('refuses a channel naming a missing catalog or rule set, or a preset in the wrong format, and applies nothing', async () => {
    writeFeed('shop.json', { kind: 'catalog', id: 'other-shop', mapping: { sku: 'SKU' } });
    writeFeed('ghost.json', { kind: 'channel', id: 'ghost', catalog: 'nowhere', rules: ['missing-rules'] });
    let err: unknown;
    try {
      await applyDefinitions(t.store, dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DefinitionsInvalidError);
    expect((err as Error).message).toContain('feeds/ghost.json: $.catalog: no catalog "nowhere"');
    expect((err as Error).message).toContain('feeds/ghost.json: $.rules[0]: no rule set "missing-rules"');
    expect(await getCatalog(t.store, 'other-shop')).toBeUndefined();

    writeFeed('ghost.json', {
      kind: 'channel',
      id: 'ghost',
      catalog: 'other-shop',
      preset: 'google-shopping',
      format: 'csv',
    });
    await expect(applyDefinitions(t.store, dir)).rejects.toThrow(
      'feeds/ghost.json: $.format: the google-shopping preset writes xml, not csv',
    );
  });
});
