import fs, { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDefinitions } from '../src/definitions/apply.js';
import { buildApp } from '../src/http/app.js';
import { readHistory } from '../src/store/history.js';
import { samplePath } from './helpers/samples.js';
import { openTestStore, type TestStore } from './helpers/store.js';

const REPO = path.resolve(import.meta.dirname, '..');
const WOO = fs.readFileSync(samplePath('woocommerce-sample-products.csv'));
const KEY = 'rules-test-key';
const auth = { authorization: `Bearer ${KEY}` };

const lowStock = (threshold: number) => ({
  id: 'low-stock',
  description: 'Buffer stock',
  rules: [
    {
      id: 'low-to-zero',
      when: { all: [{ fact: 'quantity', operator: 'lessThanInclusive', value: threshold }] },
      then: [{ set: 'quantity', value: 0 }],
    },
  ],
});

describe('rule sets over HTTP', () => {
  let t: TestStore;
  let app: FastifyInstance;

  beforeAll(async () => {
    t = await openTestStore();
    app = await buildApp({
      store: t.store,
      apiKey: KEY,
      maxUploadBytes: 1 << 24,
      dataDir: mkdtempSync(path.join(tmpdir(), 'feedwright-app-')),
    });
    // The repository's own feeds/ and rules/: the example catalog and the example rule sets.
    await applyDefinitions(t.store, REPO);
    const up = await app.inject({
      method: 'POST',
      url: '/api/catalogs/example/imports',
      headers: { ...auth, 'content-type': 'text/csv' },
      payload: WOO,
    });
    expect(up.statusCode).toBe(201);
    // Stock for a few products, so that quantity rules have something to bite on.
    const stock = 'SKU,Stock\nwoo-beanie,2\nwoo-belt,3\nwoo-cap,4\nwoo-polo,40\n';
    const partial = await app.inject({
      method: 'POST',
      url: '/api/catalogs/example/imports?mode=partial',
      headers: { ...auth, 'content-type': 'text/csv' },
      payload: stock,
    });
    expect(partial.json().run.counts.updated).toBe(4);
  });
  afterAll(async () => {
    await app.close();
    await t.cleanup();
  });

  it('lists the example rule sets applied from rules/', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/rules', headers: auth });
    expect(res.json().ruleSets.map((r: { id: string }) => r.id)).toEqual(
      expect.arrayContaining(['buffer-stock', 'unmanaged-stock', 'brand-pause', 'keep-active']),
    );
  });

  it('previews buffer stock over the catalog, changing nothing', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/rules/preview',
      headers: auth,
      payload: { ruleSetId: 'buffer-stock', catalog: 'example', samples: 5 },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.totals.products).toBe(25);
    const rule = body.rules[0];
    // woo-beanie (2) and woo-belt (3) are at or under 3; woo-cap (4) and the unmanaged ones are not.
    expect(rule).toMatchObject({ rule: 'low-stock-to-zero', matched: 2, changed: 2 });
    expect(rule.samples.map((s: { sku: string }) => s.sku).sort()).toEqual(['woo-beanie', 'woo-belt']);
    const product = await app.inject({
      method: 'GET',
      url: '/api/catalogs/example/products/woo-beanie',
      headers: auth,
    });
    expect(product.json().product.fields.quantity).toBe(2);
  });

  it('explains one product rule by rule, with the failing condition and its value', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/api/rules/buffer-stock/explain/woo-cap?catalog=example',
      headers: auth,
    });
    expect(res.statusCode).toBe(200);
    const e = res.json();
    expect(e.included).toBe(true);
    expect(e.rules[0]).toMatchObject({ rule: 'low-stock-to-zero', matched: false, status: 'not-matched' });
    expect(e.rules[0].failed[0]).toMatchObject({
      fact: 'quantity',
      factValue: 4,
      operator: 'lessThanInclusive',
      value: 3,
    });
    const beanie = await app.inject({
      method: 'GET',
      url: '/api/rules/buffer-stock/explain/woo-beanie?catalog=example',
      headers: auth,
    });
    expect(beanie.json().rules[0].actions[0]).toMatchObject({ field: 'quantity', before: 2, after: 0 });
  });

  it('refuses a faulty PUT whole, with JSON paths, and keeps the version in force', async () => {
    const first = await app.inject({
      method: 'PUT',
      url: '/api/rules/low-stock',
      headers: auth,
      payload: lowStock(3),
    });
    expect(first.statusCode).toBe(201);
    expect(first.json().ruleSet.version).toBe(1);

    const faulty = {
      id: 'low-stock',
      rules: [
        {
          id: 'share',
          when: { all: [{ fact: 'quantity', operator: 'biggerThan', value: 3 }] },
          then: [{ percent: 'quantity', value: 80 }],
        },
      ],
    };
    const refused = await app.inject({
      method: 'PUT',
      url: '/api/rules/low-stock',
      headers: auth,
      payload: faulty,
    });
    expect(refused.statusCode).toBe(422);
    const err = refused.json().error;
    expect(err.code).toBe('RULE_INVALID');
    expect(err.message).toContain('$.rules[0].then[0].rounding: is required');
    const onlyOperator = {
      ...faulty,
      rules: [{ ...faulty.rules[0], then: [{ percent: 'quantity', value: 80, rounding: 'down' }] }],
    };
    const unknownOperator = await app.inject({
      method: 'PUT',
      url: '/api/rules/low-stock',
      headers: auth,
      payload: onlyOperator,
    });
    expect(unknownOperator.statusCode).toBe(422);
    expect(unknownOperator.json().error.message).toMatch(
      /^\$\.rules\[0\]\.when\.all\[0\]\.operator: .*biggerThan/,
    );
    const current = await app.inject({ method: 'GET', url: '/api/rules/low-stock', headers: auth });
    expect(current.json()).toMatchObject({ version: 1, definition: lowStock(3) });

    const validated = await app.inject({
      method: 'POST',
      url: '/api/rules/validate',
      headers: auth,
      payload: onlyOperator,
    });
    expect(validated.json().valid).toBe(false);
    expect(validated.json().problems.map((p: { path: string }) => p.path)).toEqual(
      expect.arrayContaining(['$.rules[0].when.all[0].operator']),
    );
  });

  it('a version that changes only the description lists no rule as changed', async () => {
    const put = (description: string) =>
      app.inject({
        method: 'PUT',
        url: '/api/rules/words-only',
        headers: auth,
        payload: { ...lowStock(5), id: 'words-only', description },
      });
    expect((await put('Buffer stock')).json().outcome).toBe('created');
    const v2 = (await put('Buffer stock, in other words')).json();
    expect(v2.outcome).toBe('updated');
    expect(v2.diff).toMatchObject({
      added: [],
      removed: [],
      changed: [],
      reordered: false,
      properties: { description: { before: 'Buffer stock', after: 'Buffer stock, in other words' } },
    });
    expect(Object.keys(v2.diff.properties)).toEqual(['description']);
  });

  it('keeps every version with its diff, and a restored version brings its behaviour back', async () => {
    const v2 = await app.inject({
      method: 'PUT',
      url: '/api/rules/low-stock',
      headers: auth,
      payload: lowStock(10),
    });
    expect(v2.json()).toMatchObject({ outcome: 'updated', ruleSet: { version: 2 } });
    expect(v2.json().diff.changed[0].rule).toBe('low-to-zero');
    const same = await app.inject({
      method: 'PUT',
      url: '/api/rules/low-stock',
      headers: auth,
      payload: lowStock(10),
    });
    expect(same.json().outcome).toBe('unchanged');

    const explainCap = async () =>
      (
        await app.inject({
          method: 'GET',
          url: '/api/rules/low-stock/explain/woo-cap?catalog=example',
          headers: auth,
        })
      ).json().product.fields.quantity;
    expect(await explainCap()).toBe(0); // 4 ≤ 10

    const restored = await app.inject({
      method: 'POST',
      url: '/api/rules/low-stock/restore',
      headers: auth,
      payload: { version: 1 },
    });
    expect(restored.json()).toMatchObject({ outcome: 'updated', ruleSet: { version: 3 } });
    expect(await explainCap()).toBe(4); // 4 > 3 again

    const versions = await app.inject({ method: 'GET', url: '/api/rules/low-stock/versions', headers: auth });
    expect(
      versions
        .json()
        .versions.map((v: { version: number; restoredFrom: number | null }) => [v.version, v.restoredFrom]),
    ).toEqual([
      [3, 1],
      [2, null],
      [1, null],
    ]);
    const history = await readHistory(t.store, { type: 'rules', limit: 50 });
    const mine = history.events.filter((e) => e.data.ruleSet === 'low-stock');
    expect(mine.map((e) => [e.type, e.data.version])).toEqual([
      ['rules.updated', 3],
      ['rules.updated', 2],
      ['rules.created', 1],
    ]);
  });

  it('previews a rule set sent in the request without saving it', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/rules/preview',
      headers: auth,
      payload: { ruleSet: { ...lowStock(100), id: 'draft' }, catalog: 'example' },
    });
    expect(res.json().rules[0]).toMatchObject({ matched: 4 });
    const saved = await app.inject({ method: 'GET', url: '/api/rules/draft', headers: auth });
    expect(saved.statusCode).toBe(404);
  });
});
