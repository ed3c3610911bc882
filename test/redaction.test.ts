import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactDefinition } from '../src/catalog/definition.js';
import { MIGRATIONS_DIR } from '../src/config/config.js';
import { buildApp } from '../src/http/app.js';
import { redactUrl } from '../src/sources/ssrf.js';
import { getCatalog } from '../src/store/catalogs.js';
import { readHistory, recordHistory } from '../src/store/history.js';
import { migrate } from '../src/store/migrate.js';
import { openTestStore, type TestStore } from './helpers/store.js';

// Credentials never stay in history (issue 16, point 4): a linked URL's user, password and
// query values, and literal header values, are redacted in every event, API answer and
// dashboard view, and the events stored before are mended.

const KEY = 'redaction-test-key';
const auth = { authorization: `Bearer ${KEY}` };
const SECRETS = ['secretpw', 'sekrit', 'k3y-value', 'newpass', 'other-token'];

const definition = (url: string, headers: Record<string, unknown> = { 'X-Api-Key': 'k3y-value' }) => ({
  kind: 'catalog',
  id: 'linked',
  source: { url, headers: { ...headers, 'X-From-Env': { env: 'SHOP_KEY' } } },
});

function expectNoSecret(value: unknown): void {
  const text = JSON.stringify(value);
  for (const s of SECRETS) expect(text, s).not.toContain(s);
}

describe('credentials of a linked source', () => {
  let t: TestStore;
  let app: FastifyInstance;
  let dataDir: string;
  const api = (method: 'GET' | 'PUT', url: string, payload?: object) =>
    app.inject({ method, url: `/api${url}`, headers: auth, ...(payload === undefined ? {} : { payload }) });

  beforeAll(async () => {
    t = await openTestStore();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-redaction-'));
    app = await buildApp({ store: t.store, apiKey: KEY, maxUploadBytes: 1 << 20, dataDir });
  });
  afterAll(async () => {
    await app.close();
    await t.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('are redacted in API answers and history, kept in force, and kept when the redacted form comes back', async () => {
    const created = await api(
      'PUT',
      '/catalogs/linked',
      definition('https://user:secretpw@shop.example/feed.csv?token=sekrit&lang=fr'),
    );
    expect(created.statusCode).toBe(201);
    expectNoSecret(created.json());

    const shown = await api('GET', '/catalogs/linked');
    expectNoSecret(shown.json());
    expect(shown.json().definition.source).toEqual({
      url: 'https://shop.example/feed.csv?token=***&lang=***',
      headers: { 'X-Api-Key': '***', 'X-From-Env': { env: 'SHOP_KEY' } },
    });
    expectNoSecret((await api('GET', '/catalogs')).json());
    // The definition in force keeps its secrets: the import needs them.
    expect((await getCatalog(t.store, 'linked'))?.definition.source).toMatchObject({
      url: 'https://user:secretpw@shop.example/feed.csv?token=sekrit&lang=fr',
      headers: { 'X-Api-Key': 'k3y-value' },
    });

    // A form sends the definition back as it read it: nothing changes, no secret is lost.
    const back = await api('PUT', '/catalogs/linked', { ...shown.json().definition, name: 'Linked shop' });
    expect(back.json().outcome).toBe('updated');
    expect((await getCatalog(t.store, 'linked'))?.definition).toMatchObject({
      name: 'Linked shop',
      source: {
        url: 'https://user:secretpw@shop.example/feed.csv?token=sekrit&lang=fr',
        headers: { 'X-Api-Key': 'k3y-value' },
      },
    });

    // A new password alone shows the source as changed, with nothing secret in the event.
    const changed = await api('PUT', '/catalogs/linked', {
      ...definition('https://user:newpass@shop.example/feed.csv?token=other-token&lang=fr'),
      name: 'Linked shop',
    });
    expect(changed.json().outcome).toBe('updated');
    const { events } = await readHistory(t.store, { catalog: 'linked', type: 'catalog', limit: 10 });
    expect(events.map((e) => e.type)).toEqual(['catalog.updated', 'catalog.updated', 'catalog.created']);
    expectNoSecret(events);
    expect(events[0]?.data.changes).toHaveProperty('source');
    expectNoSecret((await api('GET', '/history?catalog=linked')).json());
  });

  it('are redacted the same way by the API (redactUrl) and in history (redact_url)', async () => {
    const urls = [
      'https://user:pw@shop.example/a/feed.csv?key=1&key=2&x=y#frag',
      'http://:only-pw@10.0.0.1:8080/export?token=abc',
      'https://shop.example/plain.xml',
      'https://shop.example/feed?flag&k=v',
    ];
    for (const url of urls) {
      const [row] = await t.store.query<{ r: string }>({ text: 'SELECT redact_url($1) AS r', values: [url] });
      const api = redactDefinition({ kind: 'catalog', id: 'x', source: { url } });
      expect(row?.r, url).toBe(api.source && 'url' in api.source ? api.source.url : undefined);
      expect(row?.r, url).toBe(redactUrl(url));
    }
  });
});

describe('catalog events stored before the redaction', () => {
  it('are mended by the migration that brings it', async () => {
    // A store migrated up to the migration before the redaction, holding an event as it was
    // recorded then, is then brought up to date.
    const before = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-migrations-'));
    for (const f of fs.readdirSync(MIGRATIONS_DIR)) {
      if (f < '000017') fs.copyFileSync(path.join(MIGRATIONS_DIR, f), path.join(before, f));
    }
    const t = await openTestStore({ migrationsDir: before });
    try {
      await recordHistory(t.store, {
        type: 'catalog.updated',
        catalogId: 'old',
        actor: 'api',
        data: {
          version: 2,
          changes: {
            source: {
              before: { url: 'https://user:secretpw@shop.example/feed.csv?token=sekrit' },
              after: { url: 'https://shop.example/feed.csv', headers: { 'X-Api-Key': 'k3y-value' } },
            },
            name: { before: null, after: 'Old shop' },
          },
        },
      });
      await migrate(t.store);
      const { events } = await readHistory(t.store, { catalog: 'old', limit: 10 });
      expectNoSecret(events);
      expect(events[0]?.data).toEqual({
        version: 2,
        changes: {
          source: {
            before: { url: 'https://shop.example/feed.csv?token=***' },
            after: { url: 'https://shop.example/feed.csv', headers: { 'X-Api-Key': '***' } },
          },
          name: { before: null, after: 'Old shop' },
        },
      });
    } finally {
      await t.cleanup();
      fs.rmSync(before, { recursive: true, force: true });
    }
  });
});
