import { describe, expect, it } from 'vitest';
import { compileRuleSets } from '../../../src/rules/engine.js';
import type { ApplyResult, Product } from '../../../src/rules/types.js';
import { exampleRuleSet, shopifyProducts, withFields, wooProducts } from './samples.js';

// The example rule sets in rules/, one per inventory option of the reference help pages,
// run on products imported from the shared Shopify and WooCommerce sample exports.

const AT = new Date('2026-06-15T12:00:00Z');

function run(names: string[], products: Product[], at = AT): Map<string, ApplyResult> {
  const evaluator = compileRuleSets(names.map(exampleRuleSet));
  return new Map(products.map((p) => [p.sku, evaluator.apply(p, at)]));
}

function quantities(results: Map<string, ApplyResult>): Record<string, unknown> {
  return Object.fromEntries([...results].map(([sku, r]) => [sku, r.product.fields.quantity]));
}

const shopify = shopifyProducts();
const woo = wooProducts();
const tshirts = shopify.filter((p) => p.sku.startsWith('SRT_')).map((p) => p.sku);

describe('the shared samples, as imported', () => {
  it('hold the stock the examples are checked against', () => {
    expect(shopify).toHaveLength(16);
    expect(quantities(new Map(shopify.map((p) => [p.sku, { product: p, included: true }])))).toMatchObject({
      SRT_COT_111: 0,
      PNT_DEN_285: 20,
      PNT_DEN_305: 15,
      PNT_DEN_405: 10,
      HAT_GRY_275: 50,
    });
    expect(woo).toHaveLength(25);
    expect(woo.every((p) => p.fields.manage_stock === false && p.fields.quantity === undefined)).toBe(true);
  });
});

describe('buffer stock (Lengow)', () => {
  it('publishes 0 and out of stock at 3 units or fewer, and leaves more alone', () => {
    const hat = shopify.find((p) => p.sku === 'HAT_GRY_275') as Product;
    const products = [
      ...shopify,
      withFields(hat, { sku: 'HAT-3', quantity: 3 }),
      withFields(hat, { sku: 'HAT-4', quantity: 4 }),
      withFields(hat, { sku: 'HAT-1', quantity: 1 }),
    ].map((p) => ({ ...p, sku: p.fields.sku as string }));
    const results = run(['buffer-stock'], products);
    expect(quantities(results)).toMatchObject({
      PNT_DEN_285: 20,
      PNT_DEN_305: 15,
      PNT_DEN_405: 10,
      HAT_GRY_275: 50,
      'HAT-4': 4,
      'HAT-3': 0,
      'HAT-1': 0,
      SRT_COT_111: 0,
    });
    expect(results.get('HAT-3')?.product.fields.availability).toBe('out of stock');
    expect(results.get('SRT_COT_233')?.product.fields.availability).toBe('out of stock');
    expect(results.get('HAT-4')?.product.fields.availability).toBeUndefined();
  });

  it('leaves products whose stock is not managed alone (quantity is not a number)', () => {
    const results = run(['buffer-stock'], woo);
    expect([...results.values()].every((r) => r.product.fields.quantity === undefined)).toBe(true);
  });
});

describe('a percentage of stock (LitCommerce)', () => {
  it('shows 80 % of the stock, rounded down to a whole number', () => {
    const results = run(['stock-share'], shopify);
    expect(quantities(results)).toMatchObject({
      PNT_DEN_285: 16,
      PNT_DEN_305: 12,
      PNT_DEN_405: 8,
      HAT_GRY_275: 40,
      SRT_COT_111: 0,
    });
    const one = run(['stock-share'], [withFields(shopify[0] as Product, { quantity: 1 })]);
    expect([...one.values()][0]?.product.fields.quantity).toBe(0);
    for (const r of results.values()) expect(Number.isInteger(r.product.fields.quantity)).toBe(true);
  });
});

describe('minimum and maximum quantity (LitCommerce)', () => {
  it('caps at 10 and lifts a product in stock to 2, leaving 0 at 0', () => {
    const pants = shopify.find((p) => p.sku === 'PNT_DEN_305') as Product;
    const results = run(
      ['min-max-quantity'],
      [...shopify, withFields(pants, { sku: 'ONE', quantity: 1 })].map((p) => ({
        ...p,
        sku: p.fields.sku as string,
      })),
    );
    expect(quantities(results)).toMatchObject({
      PNT_DEN_285: 10,
      PNT_DEN_305: 10,
      PNT_DEN_405: 10,
      HAT_GRY_275: 10,
      SRT_COT_111: 0,
      ONE: 2,
    });
  });
});

describe('a fixed quantity when stock is not managed (LitCommerce)', () => {
  it('publishes 10 for every WooCommerce product without managed stock', () => {
    const results = run(['unmanaged-stock'], woo);
    expect([...results.values()].map((r) => r.product.fields.quantity)).toEqual(woo.map(() => 10));
  });

  it('leaves managed stock alone', () => {
    expect(quantities(run(['unmanaged-stock'], shopify))).toMatchObject({ PNT_DEN_285: 20, SRT_COT_111: 0 });
  });
});

describe('keep listing active (LitCommerce)', () => {
  it('leaves inactive products out by default', () => {
    const results = run(['buffer-stock'], shopify);
    expect(results.get('PNT_DEN_285')).toMatchObject({
      included: false,
      excludedBy: { ruleSet: null, rule: null, reason: 'inactive' },
    });
    expect(results.get('HAT_GRY_275')?.included).toBe(false);
    expect(results.get('SRT_COT_111')?.included).toBe(true);
  });

  it('keeps them in the feed as active', () => {
    const results = run(['keep-active'], shopify);
    expect([...results.values()].every((r) => r.included)).toBe(true);
    expect(results.get('PNT_DEN_285')?.product.fields.status).toBe('active');
    expect(results.get('HAT_GRY_275')?.product.fields.status).toBe('active');
    // A product without a status is not made active; the input is not touched.
    expect(results.get('PNT_DEN_305')?.product.fields.status).toBeUndefined();
    expect(shopify.find((p) => p.sku === 'PNT_DEN_285')?.fields.status).toBe('inactive');
  });
});

describe('exclude a brand during a date window (ExportYourStore)', () => {
  const acme = ['SRT_COT_111', 'PNT_DEN_285', 'HAT_GRY_275'];

  it('excludes Acme products while the window is open, with the rule as the reason', () => {
    const results = run(['brand-pause'], shopify, new Date('2026-12-25T12:00:00Z'));
    for (const sku of acme) {
      expect(results.get(sku)?.excludedBy).toEqual({
        ruleSet: 'brand-pause',
        rule: 'pause-acme-over-christmas',
        reason: 'Acme listings are paused over Christmas',
      });
    }
    // Variants carry no Vendor in a Shopify export, so they stay.
    expect(tshirts.filter((s) => !acme.includes(s)).every((s) => results.get(s)?.included)).toBe(true);
  });

  it('opens and closes at midnight Paris time', () => {
    const at = (iso: string) => run(['brand-pause'], shopify, new Date(iso)).get('SRT_COT_111')?.included;
    expect(at('2026-12-23T22:59:59.999Z')).toBe(true);
    expect(at('2026-12-23T23:00:00Z')).toBe(false);
    expect(at('2026-12-26T22:59:59.999Z')).toBe(false);
    expect(at('2026-12-26T23:00:00Z')).toBe(true);
    const evaluator = compileRuleSets([exampleRuleSet('brand-pause')]);
    expect(evaluator.nextBoundary(AT)?.toISOString()).toBe('2026-12-23T23:00:00.000Z');
    expect(evaluator.nextBoundary(new Date('2026-12-24T00:00:00Z'))?.toISOString()).toBe(
      '2026-12-26T23:00:00.000Z',
    );
    expect(evaluator.nextBoundary(new Date('2026-12-26T23:00:00Z'))).toBeNull();
  });
});

describe('options combined in one channel, in sequential order', () => {
  it('computes each rule set on the result of the one before', () => {
    const channel = ['unmanaged-stock', 'stock-share', 'min-max-quantity', 'buffer-stock', 'keep-active'];
    const results = run(channel, [...shopify, ...woo]);
    // WooCommerce: not managed → 10 → 80 % = 8 → within [2, 10] → above the buffer.
    expect(results.get('woo-beanie')?.product.fields.quantity).toBe(8);
    // Shopify jeans: 20 → 16 → capped at 10; 10 → 8; draft jeans kept active.
    expect(quantities(results)).toMatchObject({
      PNT_DEN_285: 10,
      PNT_DEN_305: 10,
      PNT_DEN_405: 8,
      HAT_GRY_275: 10,
    });
    expect(results.get('PNT_DEN_285')).toMatchObject({
      included: true,
      product: { fields: { status: 'active' } },
    });
    // Order matters: the buffer before the share would have left 20 → 16 alone, but 4 → 3 → 0 here.
    const four = withFields(shopify[0] as Product, { quantity: 4 });
    expect(run(channel, [four]).get(four.sku)?.product.fields.quantity).toBe(0);
    expect(run(['buffer-stock', 'stock-share'], [four]).get(four.sku)?.product.fields.quantity).toBe(3);
  });
});
