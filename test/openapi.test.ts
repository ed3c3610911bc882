import fs, { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { explainInChannel, previewInChannel } from '../src/channels/explain.js';
import { feedPath } from '../src/channels/service.js';
import { applyDefinitions } from '../src/definitions/apply.js';
import { buildApp } from '../src/http/app.js';
import { formatProblem } from '../src/rules/problems.js';
import { explainProduct, previewRules } from '../src/rules/service.js';
import { validateRuleSet } from '../src/rules/validate.js';
import { productStock } from '../src/stock/stock-view.js';
import { getCatalog, listCatalogs } from '../src/store/catalogs.js';
import { getChannel, listChannels, listChannelVersions, type StoredChannel } from '../src/store/channels.js';
import { listFetches } from '../src/store/fetches.js';
import { readHistory } from '../src/store/history.js';
import { getRun, lastRunPerCatalog, listRowErrors, listRuns, publicRun } from '../src/store/imports.js';
import { getProduct, listProducts } from '../src/store/products.js';
import { latestPublication, latestPublications, listPublications } from '../src/store/publications.js';
import { getRuleSet, listRuleSets, listRuleSetVersions } from '../src/store/rule-sets.js';
import { samplePath } from './helpers/samples.js';
import { openTestStore, type TestStore } from './helpers/store.js';

// Every route fastify registers, seen by an onRoute hook added as the app is created: before
// any plugin, so also a route added before the OpenAPI document's own hook would be seen.
const registered = vi.hoisted(() => [] as Array<{ method: string; url: string }>);
vi.mock('fastify', async (importOriginal) => {
  const mod = await importOriginal<typeof import('fastify')>();
  const create = (opts?: FastifyServerOptions) => {
    const app = mod.default(opts);
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) registered.push({ method, url: route.url });
    });
    return app;
  };
  return { ...mod, default: create };
});

const REPO = path.resolve(import.meta.dirname, '..');
const WOO = fs.readFileSync(samplePath('woocommerce-sample-products.csv'));
const KEY = 'openapi-test-key';
const auth = { authorization: `Bearer ${KEY}` };
/** Inside brand-pause's Christmas window, so its rule's window is open. */
const AT = '2026-12-25T12:00:00.000Z';

/** The channel of this test: several example rule sets and one that excludes a product. */
const CHANNEL = {
  kind: 'channel',
  id: 'oa',
  catalog: 'example',
  format: 'json',
  rules: ['buffer-stock', 'brand-pause', 'unmanaged-stock', 'hide-one'],
  fields: { id: 'sku', title: 'title', price: 'price', stock: 'quantity', channel: { const: 'oa' } },
};
const HIDE_ONE = {
  id: 'hide-one',
  description: 'Hides one product',
  rules: [
    {
      id: 'hide-hoodie',
      description: 'the hoodie is out',
      when: { all: [{ fact: 'sku', operator: 'equal', value: 'woo-hoodie' }] },
      then: [{ exclude: true, reason: 'hoodie paused' }],
    },
  ],
};

type Operation = {
  summary?: string;
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  responses: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
};
type Document = {
  openapi: string;
  info: { title: string; version: string };
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
  paths: Record<string, Record<string, Operation>>;
  tags?: Array<{ name: string; description?: string }>;
};

/** A fastify route URL as the OpenAPI document writes it: `/a/:id` → `/a/{id}`, `/a/*` → `/a/{*}`. */
function openapiPath(url: string): string {
  return url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{*}');
}

/** A value as a client reads it: the JSON of what the store returns. */
const asJson = (value: unknown) => JSON.parse(JSON.stringify(value));

describe('OpenAPI document and schemas', () => {
  let t: TestStore;
  let app: FastifyInstance;
  let doc: Document;

  const api = (method: 'GET' | 'PUT' | 'POST' | 'PATCH', url: string, payload?: unknown) =>
    app.inject({
      method,
      url: `/api${url}`,
      headers: auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const getJson = async (url: string) => {
    const res = await api('GET', url);
    expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
    return res.json();
  };
  const publicChannel = (c: StoredChannel) => ({
    id: c.id,
    catalog: c.catalog,
    version: c.version,
    enabled: c.definition.enabled !== false,
    definition: c.definition,
    author: c.author,
    feedUrl: `http://localhost:80${feedPath(c)}`,
    tokenRotatedAt: c.tokenRotatedAt,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  });

  beforeAll(async () => {
    t = await openTestStore();
    app = await buildApp({
      store: t.store,
      apiKey: KEY,
      maxUploadBytes: 1 << 24,
      dataDir: mkdtempSync(path.join(tmpdir(), 'feedwright-openapi-')),
    });
    await applyDefinitions(t.store, REPO);
    const res = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    doc = res.json();
  });
  afterAll(async () => {
    await app.close();
    await t.cleanup();
  });

  describe('the document', () => {
    it('is OpenAPI 3.1 with the package name and version and the bearer scheme', () => {
      const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
      expect(doc.openapi).toBe('3.1.0');
      expect(doc.info).toMatchObject({ title: pkg.name, version: pkg.version });
      expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    });

    it('holds every route the app registered, with its method', () => {
      const routes = registered
        // HEAD routes answer like their GET; /docs is the document itself.
        .filter((r) => r.method !== 'HEAD' && r.url !== '/docs' && !r.url.startsWith('/docs/'))
        .map((r) => `${r.method} ${openapiPath(r.url)}`);
      // The hook saw the app's routes (a test that saw none could not fail).
      expect(routes).toEqual(
        expect.arrayContaining(['GET /health', 'GET /api/catalogs', 'POST /api/catalogs/{id}/imports']),
      );
      expect(routes.length).toBeGreaterThan(30);
      const documented = new Set(
        Object.entries(doc.paths).flatMap(([p, ops]) =>
          Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
        ),
      );
      expect(routes.filter((r) => !documented.has(r))).toEqual([]);
    });

    it('describes every operation: a summary and tags, and what it answers', () => {
      const faults: string[] = [];
      const declaredTags = new Set((doc.tags ?? []).map((t) => t.name));
      for (const [p, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          const where = `${method.toUpperCase()} ${p}`;
          for (const tag of op.tags ?? []) {
            if (!declaredTags.has(tag))
              faults.push(`${where}: tag "${tag}" is not among the document's tags`);
          }
          // Static files (a wildcard of @fastify/static) take no schema; they are listed all the same.
          if (p.endsWith('{*}')) continue;
          if (!op.summary) faults.push(`${where}: no summary`);
          if (!op.tags?.length) faults.push(`${where}: no tags`);
          const success = Object.entries(op.responses).filter(([status]) => /^2/.test(status));
          if (!success.some(([, r]) => r.content && Object.keys(r.content).length > 0))
            faults.push(`${where}: no 2xx response with content`);
          if (!p.startsWith('/api/')) continue;
          if (!op.security?.some((s) => 'bearerAuth' in s)) faults.push(`${where}: no bearer security`);
          const refusals = Object.entries(op.responses).filter(([status]) => /^4/.test(status));
          if (!refusals.some(([, r]) => r.content?.['application/json']?.schema))
            faults.push(`${where}: no 4xx response schema`);
          if (!('401' in op.responses)) faults.push(`${where}: no 401 response`);
          // /api is rate limited: a client must expect 429 (with Retry-After) anywhere under it.
          if (!('429' in op.responses)) faults.push(`${where}: no 429 response`);
        }
      }
      expect(faults).toEqual([]);
    });

    it('shows the bodies the domain checks: rule sets with their definitions as components', () => {
      const put = doc.paths['/api/rules/{id}']?.put as unknown as {
        requestBody: { content: Record<string, { schema: { $ref: string } }> };
      };
      expect(put.requestBody.content['application/json']?.schema.$ref).toBe('#/components/schemas/RuleSet');
      const schemas = (doc.components as unknown as { schemas: Record<string, unknown> }).schemas;
      // Every reference in the document resolves.
      const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map(
        (m) => m[1],
      );
      expect(refs.length).toBeGreaterThan(10);
      expect(refs.filter((name) => !((name as string) in schemas))).toEqual([]);
      expect(doc.paths['/api/catalogs/{id}/imports']?.post).toMatchObject({
        // No body imports the catalog's own source.
        requestBody: {
          required: false,
          content: { 'text/csv': { schema: { type: 'string', format: 'binary' } } },
        },
      });
      expect(doc.paths['/api/channels/{id}/orders']?.post).toMatchObject({
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/OrderReport' } } },
        },
      });
      expect(JSON.stringify(doc)).not.toContain('x-feedwright');
    });
  });

  describe('the browsable UI', () => {
    it('answers /docs with HTML whose scripts and styles are served here, with no key', async () => {
      const res = await app.inject({ method: 'GET', url: '/docs' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      const assets = [...res.body.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/g)].map(
        (m) => m[1] as string,
      );
      expect(assets.some((a) => a.endsWith('swagger-ui-bundle.js'))).toBe(true);
      expect(assets.filter((a) => /^(https?:)?\/\//i.test(a))).toEqual([]);
      for (const asset of assets) {
        const got = await app.inject({
          method: 'GET',
          url: new URL(asset, 'http://localhost/docs').pathname,
        });
        expect(got.statusCode, asset).toBe(200);
      }
      // The UI reads the document next to it and asks no outside validator.
      const init = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
      expect(init.body).toContain("resolveUrl('./json')");
      expect(init.body).toMatch(/validatorUrl: null/);
    });
  });

  describe('validation through the schemas', () => {
    it('refuses a bad query string or path parameter with its JSON path', async () => {
      const limit = await api('GET', '/history?limit=0');
      expect(limit.statusCode).toBe(400);
      expect(limit.json()).toEqual({
        error: { code: 'BAD_REQUEST', message: 'querystring.limit must be >= 1' },
      });
      const run = await api('GET', '/imports/first');
      expect(run.statusCode).toBe(400);
      expect(run.json()).toEqual({ error: { code: 'BAD_REQUEST', message: 'params.run must be integer' } });
      const body = await api('POST', '/rules/preview', { ruleSetId: 'buffer-stock', samples: 99 });
      expect(body.statusCode).toBe(400);
      expect(body.json().error.message).toBe('body.samples must be <= 50');
    });
  });

  describe('answers keep every property', () => {
    let runId: number;

    beforeAll(async () => {
      const up = await app.inject({
        method: 'POST',
        url: '/api/catalogs/example/imports',
        headers: { ...auth, 'content-type': 'text/csv' },
        payload: WOO,
      });
      expect(up.statusCode).toBe(201);
      // A partial import with a bad row: a run with a row error.
      const partial = await app.inject({
        method: 'POST',
        url: '/api/catalogs/example/imports?mode=partial',
        headers: { ...auth, 'content-type': 'text/csv' },
        payload:
          'SKU,Stock\nwoo-beanie,2\nwoo-belt,lots\nwoo-cap,4\nwoo-hoodie,5\nwoo-polo,6\nwoo-sunglasses,7\n',
      });
      expect(partial.statusCode).toBe(201);
      runId = partial.json().run.id;
      expect((await api('PUT', '/rules/hide-one', HIDE_ONE)).statusCode).toBe(201);
      expect((await api('PUT', '/channels/oa', CHANNEL)).statusCode).toBe(201);
      expect((await api('POST', '/channels/oa/publish')).statusCode).toBe(201);
      const channel = (await getChannel(t.store, 'oa')) as StoredChannel;
      expect((await app.inject({ method: 'GET', url: feedPath(channel) })).statusCode).toBe(200);
      // A paid order leaves a pending ledger entry on the beanie.
      const order = await api('POST', '/channels/oa/orders', {
        orderId: 'o-1',
        status: 'paid',
        lines: [{ sku: 'woo-beanie', quantity: 1 }],
      });
      expect(order.statusCode).toBe(201);
    });

    it('catalogs, products and stock', async () => {
      const catalogs = await listCatalogs(t.store);
      const lastRuns = await lastRunPerCatalog(t.store);
      expect(await getJson('/catalogs')).toEqual(
        asJson({
          catalogs: catalogs.map((c) => {
            const last = lastRuns.get(c.id);
            return { ...c, lastImport: last ? publicRun(last) : null };
          }),
        }),
      );
      const lastRun = (await listRuns(t.store, 'example', { limit: 1 })).runs[0];
      expect(lastRun).toBeDefined();
      expect(await getJson('/catalogs/example')).toEqual(
        asJson({ ...(await getCatalog(t.store, 'example')), lastImport: publicRun(lastRun as never) }),
      );
      expect(await getJson('/catalogs/example/products?limit=1000')).toEqual(
        asJson(await listProducts(t.store, 'example', { limit: 1000 })),
      );
      const one = await getJson('/catalogs/example/products/woo-beanie');
      expect(one.stock.pending.length).toBe(1);
      expect(one).toEqual(
        asJson({
          product: await getProduct(t.store, 'example', 'woo-beanie'),
          stock: await productStock(t.store, 'example', 'woo-beanie'),
          history: (await readHistory(t.store, { catalog: 'example', sku: 'woo-beanie', limit: 50 })).events,
        }),
      );
      const push = await api('PATCH', '/catalogs/example/stock', [
        { sku: 'woo-cap', quantity: 9 },
        { sku: 'nope', quantity: 1 },
      ]);
      expect(push.statusCode).toBe(200);
      expect(push.json()).toEqual({
        adjusted: [{ sku: 'woo-cap', quantity: 9, delta: 5 }],
        unchanged: [],
        unknown: ['nope'],
        notManaged: [],
      });
    });

    it('imports and history', async () => {
      expect(await getJson('/catalogs/example/imports')).toEqual(
        asJson({
          runs: (await listRuns(t.store, 'example', { limit: 100 })).runs.map(publicRun),
          next: null,
        }),
      );
      const run = await getJson(`/imports/${runId}`);
      expect(run.rowErrors.length).toBeGreaterThan(0);
      expect(run).toEqual(
        asJson({
          run: publicRun((await getRun(t.store, runId)) as never),
          rowErrors: await listRowErrors(t.store, runId, { limit: 1000, offset: 0 }),
          rowWarnings: await listRowErrors(t.store, runId, { limit: 1000, offset: 0, severity: 'warning' }),
        }),
      );
      expect(await getJson('/history?limit=1000')).toEqual(
        asJson(await readHistory(t.store, { limit: 1000 })),
      );
    });

    it('rule sets: list, one, versions, validate, preview and explain', async () => {
      const listed = await getJson('/rules');
      expect(listed.ruleSets.map((r: { id: string }) => r.id)).toEqual(
        (await listRuleSets(t.store)).map((r) => r.id),
      );
      expect(Object.keys(listed.ruleSets[0]).sort()).toEqual(
        ['author', 'description', 'id', 'rules', 'updatedAt', 'version'].sort(),
      );
      expect(await getJson('/rules/hide-one')).toEqual(asJson(await getRuleSet(t.store, 'hide-one')));
      expect(await getJson('/rules/hide-one/versions')).toEqual(
        asJson({ versions: await listRuleSetVersions(t.store, 'hide-one') }),
      );
      const changed = { ...HIDE_ONE, description: 'Hides one product, still' };
      const put = await api('PUT', '/rules/hide-one', changed);
      expect(put.statusCode).toBe(200);
      const saved = put.json();
      expect(saved.outcome).toBe('updated');
      expect(saved.ruleSet).toEqual(asJson(await getRuleSet(t.store, 'hide-one')));
      expect(Object.keys(saved.diff).sort()).toEqual([
        'added',
        'changed',
        'properties',
        'removed',
        'reordered',
      ]);
      expect(saved.diff.properties).toEqual({
        description: { before: HIDE_ONE.description, after: changed.description },
      });

      const faulty = { id: 'x', rules: [{ id: 'r', when: { all: [] }, then: [{ set: 'price' }] }] };
      expect((await api('POST', '/rules/validate', faulty)).json()).toEqual(
        asJson({
          valid: false,
          problems: validateRuleSet(faulty).map((p) => ({ ...p, text: formatProblem(p) })),
        }),
      );

      const preview = await api('POST', '/rules/preview', { ruleSetId: 'hide-one', at: AT, samples: 5 });
      expect(preview.json()).toEqual(
        asJson(
          await previewRules(t.store, {
            rules: { ids: ['hide-one'] },
            catalogId: undefined,
            at: new Date(AT),
            samples: 5,
          }),
        ),
      );
      const explain = await getJson(`/rules/brand-pause/explain/woo-hoodie?at=${AT}`);
      expect(explain).toEqual(
        asJson(
          await explainProduct(t.store, {
            rules: { ids: ['brand-pause'] },
            catalogId: undefined,
            sku: 'woo-hoodie',
            at: new Date(AT),
          }),
        ),
      );
    });

    it('channels: list, one, versions, publications, fetches, explain and preview', async () => {
      const channels = await listChannels(t.store);
      const latest = await latestPublications(t.store);
      expect(await getJson('/channels')).toEqual(
        asJson({
          channels: channels.map((c) => {
            const last = latest.get(c.id);
            return { ...publicChannel(c), lastPublication: last ? { ...last, diff: undefined } : null };
          }),
        }),
      );
      const oa = (await getChannel(t.store, 'oa')) as StoredChannel;
      const one = await getJson('/channels/oa');
      expect(one.lastPublication.diff.added.length).toBeGreaterThan(0);
      expect(one).toEqual(
        asJson({ ...publicChannel(oa), lastPublication: await latestPublication(t.store, 'oa') }),
      );
      expect(await getJson('/channels/oa/versions')).toEqual(
        asJson({ versions: await listChannelVersions(t.store, 'oa') }),
      );
      const publications = await getJson('/channels/oa/publications');
      expect(publications.publications[0].exclusions.length).toBeGreaterThan(0);
      expect(publications).toEqual(asJson(await listPublications(t.store, 'oa', { limit: 100 })));
      const fetches = await getJson('/channels/oa/fetches');
      expect(fetches.fetches.length).toBe(1);
      expect(fetches).toEqual(asJson(await listFetches(t.store, 'oa', { limit: 100 })));

      const explain = await getJson(`/channels/oa/explain/woo-hoodie?at=${AT}`);
      expect(explain.excludedBy).toMatchObject({ ruleSet: 'hide-one', rule: 'hide-hoodie' });
      expect(explain).toEqual(
        asJson(await explainInChannel(t.store, { channelId: 'oa', sku: 'woo-hoodie', at: new Date(AT) })),
      );
      const included = await getJson(`/channels/oa/explain/woo-beanie?at=${AT}`);
      expect(included.feedRow).toMatchObject({ id: 'woo-beanie', channel: 'oa' });
      expect(included).toEqual(
        asJson(await explainInChannel(t.store, { channelId: 'oa', sku: 'woo-beanie', at: new Date(AT) })),
      );
      const preview = await api('POST', '/channels/oa/preview', { at: AT, samples: 5 });
      expect(preview.statusCode).toBe(200);
      expect(Object.keys(preview.json().feedRows).length).toBeGreaterThan(0);
      expect(preview.json()).toEqual(
        asJson(await previewInChannel(t.store, { channelId: 'oa', at: new Date(AT), samples: 5 })),
      );
    });

    it('writes: a channel PUT, a token, a restore, a publication and a repeated order', async () => {
      const put = await api('PUT', '/channels/oa', { ...CHANNEL, name: 'OpenAPI test' });
      expect(put.statusCode).toBe(200);
      const oa = (await getChannel(t.store, 'oa')) as StoredChannel;
      expect(put.json()).toEqual(
        asJson({ outcome: 'updated', channel: publicChannel(oa), feedUrl: publicChannel(oa).feedUrl }),
      );
      const restore = await api('POST', '/channels/oa/restore', { version: 1 });
      expect(restore.statusCode).toBe(200);
      const restored = (await getChannel(t.store, 'oa')) as StoredChannel;
      expect(restore.json()).toEqual(asJson({ outcome: 'updated', channel: publicChannel(restored) }));
      const token = await api('POST', '/channels/oa/token');
      const rotated = (await getChannel(t.store, 'oa')) as StoredChannel;
      expect(token.json()).toEqual({
        feedUrl: publicChannel(rotated).feedUrl,
        tokenRotatedAt: rotated.tokenRotatedAt,
      });
      const publish = await api('POST', '/channels/oa/publish');
      expect(publish.statusCode).toBe(201);
      expect(publish.json()).toEqual(asJson(await latestPublication(t.store, 'oa')));
      const again = await api('POST', '/channels/oa/orders', {
        orderId: 'o-1',
        status: 'paid',
        lines: [{ sku: 'woo-beanie', quantity: 1 }],
      });
      expect(again.statusCode).toBe(200);
      const result = again.json();
      expect(result).toMatchObject({
        duplicate: true,
        movements: [],
        unlinked: [],
        notManaged: [],
        oversold: [],
      });
      expect(Object.keys(result.order).sort()).toEqual(
        [
          'catalogId',
          'channelId',
          'createdAt',
          'holdsStock',
          'lines',
          'orderId',
          'status',
          'updatedAt',
        ].sort(),
      );
      expect(result.order.lines).toEqual([{ sku: 'woo-beanie', quantity: 1, linked: true, managed: true }]);
    });

    it('feeds: the file, 304, HEAD and 404 through content descriptions', async () => {
      const oa = (await getChannel(t.store, 'oa')) as StoredChannel;
      const got = await app.inject({ method: 'GET', url: feedPath(oa) });
      expect(got.statusCode).toBe(200);
      expect(got.headers['content-type']).toMatch(/json/);
      expect(JSON.parse(got.body)).toBeTruthy();
      const etag = got.headers.etag as string;
      const head = await app.inject({ method: 'HEAD', url: feedPath(oa) });
      expect(head.statusCode).toBe(200);
      expect(head.body).toBe('');
      expect(head.headers.etag).toBe(etag);
      const cached = await app.inject({
        method: 'GET',
        url: feedPath(oa),
        headers: { 'if-none-match': etag },
      });
      expect(cached.statusCode).toBe(304);
      expect(cached.body).toBe('');
      const wrong = await app.inject({ method: 'GET', url: `/feeds/oa/${'x'.repeat(32)}.json` });
      expect(wrong.statusCode).toBe(404);
      expect(wrong.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no such feed' } });
    });
  });
});
