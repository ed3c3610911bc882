// biome-ignore-all lint/suspicious/noThenProperty: a rule's actions are its "then" (SPEC §2), not a thenable.
import { describe, expect, it } from 'vitest';
import { compileRuleSets } from '../../../src/rules/engine.js';
import type { Product, RuleSet } from '../../../src/rules/types.js';
import { exampleRuleSet, product, shopifyProducts, wooProducts } from './samples.js';

const AT = new Date('2026-12-25T09:00:00Z');

// Three rules: the first does not match, the second changes the stock, the third excludes.
const channel: RuleSet = {
  id: 'acme-channel',
  rules: [
    {
      id: 'expensive-to-zero',
      description: 'Expensive items are sold in store only',
      when: {
        all: [
          { fact: 'brand', operator: 'equal', value: 'Acme' },
          { fact: 'price', operator: 'greaterThan', value: 100 },
        ],
      },
      then: [{ set: 'quantity', value: 0 }],
    },
    {
      id: 'share-half',
      when: { all: [{ fact: 'quantity', operator: 'greaterThan', value: 0 }] },
      then: [
        { percent: 'quantity', value: 50, rounding: 'up' },
        { add: 'price', value: 1.5 },
      ],
    },
    {
      id: 'no-acme-at-christmas',
      description: 'Acme is paused over Christmas',
      when: {
        any: [
          { fact: 'category', operator: 'equal', value: 'Gift' },
          { fact: 'brand', operator: 'in', value: ['Acme'] },
        ],
      },
      then: [{ exclude: true }],
      window: { start: '2026-12-24', end: '2026-12-27', timezone: 'Europe/Paris' },
    },
    { id: 'never-reached', when: { all: [] }, then: [{ set: 'title', value: 'x' }] },
  ],
};

const jeans = shopifyProducts().find((p) => p.sku === 'PNT_DEN_285') as Product;

describe('explain', () => {
  const evaluator = compileRuleSets([channel]);
  const trace = evaluator.explain(jeans, AT);

  it('names the third rule as the reason, with the condition that matched', () => {
    expect(trace.included).toBe(false);
    expect(trace.excludedBy).toEqual({
      ruleSet: 'acme-channel',
      rule: 'no-acme-at-christmas',
      reason: 'Acme is paused over Christmas',
    });
    expect(trace.summary).toBe(
      'not in the feed: excluded by rule "no-acme-at-christmas" of rule set "acme-channel" (Acme is paused over Christmas)',
    );
    const third = trace.rules[2];
    expect(third).toMatchObject({ rule: 'no-acme-at-christmas', status: 'applied', matched: true });
    expect(third?.window).toEqual({
      start: '2026-12-24',
      end: '2026-12-27',
      timezone: 'Europe/Paris',
      opensAt: '2026-12-23T23:00:00.000Z',
      closesAt: '2026-12-26T23:00:00.000Z',
      open: true,
    });
    expect(third?.matchedBy).toEqual([
      {
        path: '$.rules[2].when.any[1]',
        kind: 'fact',
        result: true,
        fact: 'brand',
        operator: 'in',
        factValue: 'Acme',
        value: ['Acme'],
      },
    ]);
    expect(third?.actions).toEqual([
      {
        path: '$.rules[2].then[0]',
        action: 'exclude',
        changed: false,
        reason: 'Acme is paused over Christmas',
      },
    ]);
  });

  it('gives, for a rule that did not match, the failing condition with its fact value', () => {
    const first = trace.rules[0];
    expect(first).toMatchObject({ rule: 'expensive-to-zero', status: 'not-matched', matched: false });
    expect(first?.failed).toEqual([
      {
        path: '$.rules[0].when.all[1]',
        kind: 'fact',
        result: false,
        fact: 'price',
        operator: 'greaterThan',
        factValue: 95,
        value: 100,
      },
    ]);
    // The whole condition is there too, the passing part included.
    expect(first?.conditions?.conditions?.[0]).toMatchObject({
      fact: 'brand',
      result: true,
      factValue: 'Acme',
    });
  });

  it('gives each action value before and after, and the rules not reached', () => {
    expect(trace.rules[1]?.actions).toEqual([
      {
        path: '$.rules[1].then[0]',
        action: 'percent',
        field: 'quantity',
        before: 20,
        after: 10,
        changed: true,
      },
      { path: '$.rules[1].then[1]', action: 'add', field: 'price', before: 95, after: 96.5, changed: true },
    ]);
    expect(trace.rules[3]).toMatchObject({ rule: 'never-reached', status: 'not-reached', matched: false });
    expect(trace.product.fields).toMatchObject({ quantity: 10, price: 96.5, title: 'Example Jeans' });
  });

  it('says when a window is closed, and why an included product is in the feed', () => {
    const later = evaluator.explain(
      { ...jeans, fields: { ...jeans.fields, status: 'active' } },
      new Date('2027-01-10T00:00:00Z'),
    );
    expect(later.rules[2]).toMatchObject({
      status: 'window-closed',
      matched: false,
      window: { open: false },
    });
    expect(later.rules[3]).toMatchObject({ status: 'applied' });
    expect(later).toMatchObject({ included: true, summary: 'in the feed' });
  });

  it('records a skipped action and a missing fact instead of failing', () => {
    const e = compileRuleSets([exampleRuleSet('stock-share'), exampleRuleSet('keep-active')]).explain(
      product({ quantity: null, status: 'inactive' }),
      AT,
    );
    expect(e.rules[0]?.failed?.[0]).toMatchObject({ fact: 'quantity', factValue: null, result: false });
    const noQuantity = compileRuleSets([
      { id: 's', rules: [{ id: 'r', when: { all: [] }, then: [{ clamp: 'quantity', max: 3 }] }] },
    ]).explain(product({}), AT);
    expect(noQuantity.rules[0]?.actions?.[0]).toMatchObject({
      changed: false,
      skipped: '"quantity" is missing',
    });
    expect(e.rules[1]?.actions?.[0]).toMatchObject({
      action: 'keepActive',
      before: 'inactive',
      after: 'active',
    });
    expect(e.summary).toMatch(/kept active by rule "keep-listing-active"/);
  });

  it('agrees with apply', () => {
    const result = evaluator.apply(jeans, AT);
    expect(result.included).toBe(trace.included);
    expect(result.excludedBy).toEqual(trace.excludedBy);
    expect({ ...result.product.fields }).toEqual({ ...trace.product.fields });
  });
});

describe('preview', () => {
  async function* stream(products: Product[]): AsyncIterable<Product> {
    for (const p of products) yield p;
  }

  it('counts per rule what it matched, changed and excluded, with samples', async () => {
    const products = [...shopifyProducts(), ...wooProducts()];
    const evaluator = compileRuleSets([
      exampleRuleSet('unmanaged-stock'),
      exampleRuleSet('stock-share'),
      channel,
    ]);
    const result = await evaluator.preview(stream(products), AT, { samples: 2 });
    expect(result.totals.products).toBe(41);
    const byRule = Object.fromEntries(result.rules.map((r) => [r.rule, r]));
    expect(byRule['fixed-quantity-when-not-managed']).toMatchObject({
      matched: 25,
      changed: 25,
      excluded: 0,
      windowOpen: null,
    });
    expect(byRule['fixed-quantity-when-not-managed']?.samples[0]).toEqual({
      sku: 'woo-vneck-tee',
      before: { quantity: null },
      after: { quantity: 10 },
    });
    // 25 WooCommerce products at 10, and the jeans and the beanie in stock.
    expect(byRule['show-80-percent']).toMatchObject({ matched: 25 + 4, changed: 25 + 4 });
    expect(byRule['no-acme-at-christmas']).toMatchObject({ matched: 3, excluded: 3, windowOpen: true });
    expect(byRule['no-acme-at-christmas']?.samples[0]).toMatchObject({
      sku: 'SRT_COT_111',
      excluded: 'Acme is paused over Christmas',
    });
    expect(byRule['never-reached']?.matched).toBe(41 - 3);
    expect(result.totals).toMatchObject({
      excludedByRules: 3,
      excludedInactive: 0,
      included: 38,
      excluded: 3,
    });
    for (const r of result.rules) expect(r.samples.length).toBeLessThanOrEqual(4);
  });

  it('streams a large catalog, pulling one product at a time', async () => {
    let made = 0;
    async function* catalog(): AsyncIterable<Product> {
      for (let i = 0; i < 100_000; i++) {
        made++;
        yield product({ sku: `S${i}`, quantity: i % 7, brand: i % 10 === 0 ? 'Acme' : 'Zed', price: 20 });
      }
    }
    const evaluator = compileRuleSets([exampleRuleSet('buffer-stock'), exampleRuleSet('brand-pause')]);
    const result = await evaluator.preview(catalog(), AT, { samples: 1 });
    expect(made).toBe(100_000);
    expect(result.totals).toMatchObject({ products: 100_000, excludedByRules: 10_000, included: 90_000 });
    expect(result.rules[0]).toMatchObject({
      rule: 'low-stock-to-zero',
      matched: 4 * 14_286,
      samples: [expect.anything()],
    });
  });

  it('agrees with apply product by product', async () => {
    const products = shopifyProducts();
    const evaluator = compileRuleSets([channel, exampleRuleSet('buffer-stock')]);
    const result = await evaluator.preview(products, new Date('2027-02-01T00:00:00Z'));
    const applied = products.map((p) => evaluator.apply(p, new Date('2027-02-01T00:00:00Z')));
    expect(result.totals.included).toBe(applied.filter((r) => r.included).length);
    expect(result.totals.excludedInactive).toBe(2);
  });
});
