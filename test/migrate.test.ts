import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveCatalog } from '../src/store/catalogs.js';
import { migrate, readMigrations } from '../src/store/migrate.js';
import { countProducts } from '../src/store/products.js';
import { openTestStore, type TestStore } from './helpers/store.js';

let t: TestStore;

beforeAll(async () => {
  t = await openTestStore();
});
afterAll(async () => {
  await t?.cleanup();
});

describe('migrate', () => {
  it('is harmless when run again and again: it applies nothing and keeps the data', async () => {
    // openTestStore ran the first migration pass.
    const files = await readMigrations();
    const applied = await t.store.query<{ id: number; name: string }>({
      text: 'SELECT id, name FROM feedwright_migrations ORDER BY id',
    });
    expect(applied).toEqual(files.map((m) => ({ id: m.id, name: m.name })));

    await saveCatalog(t.store, { kind: 'catalog', id: 'kept' }, 'test');
    await t.store.query({
      text: `INSERT INTO products (catalog_id, sku, fields, attributes, hash) VALUES ('kept', 'A', '{"sku":"A"}', '{}', 'h')`,
    });

    expect(await migrate(t.store)).toEqual([]);
    expect(await migrate(t.store)).toEqual([]);

    expect(await t.store.query({ text: 'SELECT id FROM feedwright_migrations ORDER BY id' })).toHaveLength(
      files.length,
    );
    expect(await countProducts(t.store, 'kept')).toBe(1);
    const [catalog] = await t.store.query<{ version: number }>({
      text: "SELECT version FROM catalogs WHERE id = 'kept'",
    });
    expect(catalog?.version).toBe(1);
  });

  it("keeps products to existing catalogs and deletes them with their catalog (migration 13's set-based check)", async () => {
    await saveCatalog(t.store, { kind: 'catalog', id: 'owner' }, 'test');
    const insert = (catalog: string, skus: string[]) =>
      t.store.query({
        text: `INSERT INTO products (catalog_id, sku, fields, attributes, hash)
               SELECT $1, s, jsonb_build_object('sku', s), '{}', 'h' FROM unnest($2::text[]) s`,
        values: [catalog, skus],
      });
    await insert('owner', ['A', 'B', 'C']);
    // A statement naming an unknown catalog is refused whole, as the foreign key refused it.
    const refused = await insert('nobody', ['X']).catch((e: unknown) => e);
    expect(String(refused)).toMatch(/catalog "nobody" does not exist/);
    expect(await countProducts(t.store, 'nobody')).toBe(0);
    const moved = await t.store
      .query({ text: "UPDATE products SET catalog_id = 'nobody' WHERE catalog_id = 'owner' AND sku = 'A'" })
      .catch((e: unknown) => e);
    expect(String(moved)).toMatch(/a product does not move to another catalog/);
    const renamed = await t.store
      .query({ text: "UPDATE catalogs SET id = 'renamed' WHERE id = 'owner'" })
      .catch((e: unknown) => e);
    expect(String(renamed)).toMatch(/a catalog id does not change/);
    expect(await countProducts(t.store, 'owner')).toBe(3);
    // Deleting a catalog deletes its products (and its other rows, by their foreign keys).
    await t.store.query({ text: "DELETE FROM catalogs WHERE id = 'owner'" });
    expect(await countProducts(t.store, 'owner')).toBe(0);
    expect(await countProducts(t.store, 'kept')).toBe(1);
  });

  it('lets two migrators meet without harm', async () => {
    expect(await Promise.all([migrate(t.store), migrate(t.store)])).toEqual([[], []]);
  });
});
