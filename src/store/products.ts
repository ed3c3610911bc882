import type { FieldValue } from '../model/product.js';
import type { Queryable } from './types.js';

/** A stored product as the API shows it. */
export interface StoredProduct {
  sku: string;
  fields: Record<string, FieldValue>;
  attributes: Record<string, FieldValue>;
  createdAt: string;
  updatedAt: string;
  lastRun: number | null;
}

interface ProductRow {
  sku: string;
  fields: Record<string, FieldValue>;
  attributes: Record<string, FieldValue>;
  created_at: Date;
  updated_at: Date;
  last_run_id: number | string | null;
}

function toProduct(r: ProductRow): StoredProduct {
  return {
    sku: r.sku,
    fields: r.fields,
    attributes: r.attributes,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
    lastRun: r.last_run_id === null ? null : Number(r.last_run_id),
  };
}

/** A page of products by sku, after the cursor `after`; limit + 1 rows tell if more follow. */
export async function listProducts(
  db: Queryable,
  catalogId: string,
  opts: { after?: string; limit: number; q?: string },
): Promise<{ products: StoredProduct[]; next: string | null; total: number }> {
  const values: unknown[] = [catalogId];
  const where = ['catalog_id = $1'];
  if (opts.after !== undefined) {
    values.push(opts.after);
    where.push(`sku > $${values.length}`);
  }
  if (opts.q !== undefined && opts.q !== '') {
    values.push(`%${opts.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    where.push(`(sku ILIKE $${values.length} OR fields->>'title' ILIKE $${values.length})`);
  }
  values.push(opts.limit + 1);
  const rows = await db.query<ProductRow>({
    text: `SELECT sku, fields, attributes, created_at, updated_at, last_run_id FROM products
           WHERE ${where.join(' AND ')} ORDER BY sku LIMIT $${values.length}`,
    values,
  });
  const total = await countProducts(db, catalogId);
  const page = rows.slice(0, opts.limit).map(toProduct);
  const last = page.at(-1);
  return { products: page, next: rows.length > opts.limit && last ? last.sku : null, total };
}

/** One product, or undefined. */
export async function getProduct(
  db: Queryable,
  catalogId: string,
  sku: string,
): Promise<StoredProduct | undefined> {
  const rows = await db.query<ProductRow>({
    text: `SELECT sku, fields, attributes, created_at, updated_at, last_run_id FROM products
           WHERE catalog_id = $1 AND sku = $2`,
    values: [catalogId, sku],
  });
  return rows[0] ? toProduct(rows[0]) : undefined;
}

/** Whether a catalog has any product (one probe of its index, where a count reads them all). */
export async function hasProducts(db: Queryable, catalogId: string): Promise<boolean> {
  const rows = await db.query<{ any: boolean }>({
    text: 'SELECT EXISTS (SELECT 1 FROM products WHERE catalog_id = $1) AS any',
    values: [catalogId],
  });
  return rows[0]?.any === true;
}

/** Number of products in a catalog. */
export async function countProducts(db: Queryable, catalogId: string): Promise<number> {
  const rows = await db.query<{ n: number }>({
    text: 'SELECT count(*)::int AS n FROM products WHERE catalog_id = $1',
    values: [catalogId],
  });
  return rows[0]?.n ?? 0;
}

// The pending stock ledger of each product (p): one probe of a partial index, empty for
// most products.
const PENDING_STOCK = `LEFT JOIN LATERAL (
    SELECT sum(l.delta)::bigint AS delta FROM stock_ledger l
    WHERE l.catalog_id = p.catalog_id AND l.sku = p.sku AND l.reflected_by_run IS NULL
  ) pending ON true`;

// The product's fields with quantity as the effective stock (SPEC §3 "Orders and the stock
// ledger"): the imported quantity plus the pending ledger entries, floored at 0.
const EFFECTIVE_FIELDS = `CASE WHEN pending.delta IS NULL OR jsonb_typeof(p.fields->'quantity') <> 'number'
    THEN p.fields
    ELSE jsonb_set(p.fields, '{quantity}', to_jsonb(greatest(0, (p.fields->>'quantity')::bigint + pending.delta)))
  END`;

/** Products as rules see them (effective stock): the head of every such read. */
const SELECT_FOR_RULES = `SELECT p.sku, ${EFFECTIVE_FIELDS} AS fields, p.attributes FROM products p ${PENDING_STOCK}`;

/** Some products as rules see them (quantity is the effective stock), by sku; unknown skus are left out. */
export async function getProductsForRules(
  db: Queryable,
  catalogId: string,
  skus: readonly string[],
): Promise<Map<string, ProductRecord>> {
  const rows = await db.query<ProductRecord>({
    text: `${SELECT_FOR_RULES}
           WHERE p.catalog_id = $1 AND p.sku = ANY($2::text[])`,
    values: [catalogId, [...skus]],
  });
  return new Map(rows.map((r) => [r.sku, r]));
}

/** One product as rules see it, or undefined when the catalog has no such sku. */
export async function getProductForRules(
  db: Queryable,
  catalogId: string,
  sku: string,
): Promise<ProductRecord | undefined> {
  return (await getProductsForRules(db, catalogId, [sku])).get(sku);
}

/** A product as a stream of the catalog yields it. */
export interface ProductRecord {
  sku: string;
  fields: Record<string, FieldValue>;
  attributes: Record<string, FieldValue>;
}

/**
 * Products as rules see them with their fields and attributes still JSON text, as the store
 * sends them: a batch can go to another thread as strings, which cost a copy, where objects
 * cost a structured clone, and be parsed there (`parseProductText` gives the ProductRecord
 * that `streamProductBatches` would have given).
 */
export interface ProductText {
  sku: string;
  fields: string;
  attributes: string;
}

/** A product read as text, as streamProductBatches gives it. */
export function parseProductText(p: ProductText): ProductRecord {
  return {
    sku: p.sku,
    fields: JSON.parse(p.fields) as Record<string, FieldValue>,
    attributes: JSON.parse(p.attributes) as Record<string, FieldValue>,
  };
}

/**
 * Streams a catalog's products as rules see them (quantity is the effective stock) in sku
 * order (code point order: the column's collation is "C"), a batch at a time (keyset paging), so a whole catalog can be read without holding
 * it in memory or a long transaction.
 */
export function streamProductBatches(
  db: Queryable,
  catalogId: string,
  batchSize = 2000,
): AsyncGenerator<ProductRecord[]> {
  return pageProducts<ProductRecord>(db, SELECT_FOR_RULES, catalogId, batchSize);
}

/** streamProductBatches with each product's fields and attributes as JSON text (see ProductText). */
export function streamProductTextBatches(
  db: Queryable,
  catalogId: string,
  batchSize = 2000,
): AsyncGenerator<ProductText[]> {
  return pageProducts<ProductText>(
    db,
    `SELECT p.sku, (${EFFECTIVE_FIELDS})::text AS fields, p.attributes::text AS attributes
       FROM products p ${PENDING_STOCK}`,
    catalogId,
    batchSize,
  );
}

async function* pageProducts<T extends { sku: string }>(
  db: Queryable,
  select: string,
  catalogId: string,
  batchSize: number,
): AsyncGenerator<T[]> {
  const fetch = (after: string | null): Promise<T[]> =>
    db.query({
      text: `${select}
               WHERE p.catalog_id = $1 AND ($2::text IS NULL OR p.sku > $2) ORDER BY p.sku LIMIT $3`,
      values: [catalogId, after, batchSize],
    });
  let next: Promise<T[]> | undefined = fetch(null);
  while (next) {
    const rows: T[] = await next;
    const last = rows.at(-1);
    // The next batch is asked for before this one is handed over: the store reads while the
    // caller works. (A caller that stops early leaves one answered query behind, harmlessly.)
    next = last && rows.length === batchSize ? fetch(last.sku) : undefined;
    next?.catch(() => {});
    if (rows.length > 0) yield rows;
  }
}

/**
 * The products of a catalog after sku `after` (all from the first when null) up to `last`
 * included, in sku order, as rules see them: one segment of a built feed, read again.
 */
export async function productsInSkuRange(
  db: Queryable,
  catalogId: string,
  after: string | null,
  last: string,
): Promise<ProductRecord[]> {
  return db.query<ProductRecord>({
    text: `${SELECT_FOR_RULES}
           WHERE p.catalog_id = $1 AND ($2::text IS NULL OR p.sku > $2) AND p.sku <= $3 ORDER BY p.sku`,
    values: [catalogId, after, last],
  });
}

/** Streams a catalog's products one by one, in sku order (see streamProductBatches). */
export async function* streamProducts(
  db: Queryable,
  catalogId: string,
  batchSize = 2000,
): AsyncGenerator<ProductRecord> {
  for await (const batch of streamProductBatches(db, catalogId, batchSize)) yield* batch;
}

/** Refreshes the planner's statistics of the products table after a large change. */
export async function analyzeProducts(db: Queryable): Promise<void> {
  await db.exec('ANALYZE products');
}
