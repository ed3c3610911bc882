// biome-ignore-all lint/suspicious/noThenProperty: a rule's actions are its "then" (SPEC §2), not a thenable.
import { describe, expect, it } from 'vitest';
import { roundTo } from '../../../src/rules/actions/numeric.js';
import { compileRuleSets } from '../../../src/rules/engine.js';
import type { Action, Condition, Product, RuleSet } from '../../../src/rules/types.js';
import { product } from './samples.js';

const AT = new Date('2026-06-15T12:00:00Z');
const ALWAYS: Condition = { all: [] };

function ruleSet(...then: Action[][]): RuleSet {
  return { id: 'actions', rules: then.map((t, i) => ({ id: `r${i}`, when: ALWAYS, then: t })) };
}

function apply(p: Product, ...then: Action[][]) {
  return compileRuleSets([ruleSet(...then)]).apply(p, AT);
}

function fields(p: Product, ...then: Action[][]) {
  return apply(p, ...then).product.fields;
}

describe('numbers stay numbers; quantity stays a whole number ≥ 0', () => {
  it.each([
    [{ percent: 'quantity', value: 80, rounding: 'down' }, 7, 5],
    [{ percent: 'quantity', value: 80, rounding: 'up' }, 7, 6],
    [{ percent: 'quantity', value: 80, rounding: 'nearest' }, 7, 6],
    [{ percent: 'quantity', value: 50, rounding: 'nearest' }, 5, 3],
    [{ percent: 'quantity', value: 33.3, rounding: 'up' }, 10, 4],
    [{ add: 'quantity', value: -10 }, 3, 0],
    [{ add: 'quantity', value: 2.7 }, 3, 5],
    [{ multiply: 'quantity', value: 1.5 }, 3, 4],
    [{ multiply: 'quantity', value: 1.5, round: 0 }, 3, 5],
    [{ multiply: 'quantity', value: -1 }, 3, 0],
    [{ clamp: 'quantity', max: 2.5 }, 9, 2],
    [{ clamp: 'quantity', min: -5 }, 0, 0],
  ] as Array<[Action, number, number]>)('%j on %d gives %d', (action, before, after) => {
    expect(fields(product({ quantity: before }), [action]).quantity).toBe(after);
  });

  it('keeps decimals on other numbers', () => {
    expect(
      fields(product({ price: 19.99 }), [{ percent: 'price', value: 90, rounding: 'nearest' }]).price,
    ).toBe(17.99);
    expect(
      fields(product({ price: 19.99 }), [{ percent: 'price', value: 90, rounding: 'down', decimals: 0 }])
        .price,
    ).toBe(17);
    expect(fields(product({ price: 0.1 }), [{ add: 'price', value: 0.2 }]).price).toBe(0.3);
    expect(fields(product({ price: 2.675 }), [{ multiply: 'price', value: 1, round: 2 }]).price).toBe(2.68);
    expect(
      fields(product({ price: 10 }), [
        { multiply: 'price', value: 1.2, round: 2 },
        { add: 'price', value: -0.01 },
      ]).price,
    ).toBe(11.99);
    expect(roundTo(4.35, 1, 'down')).toBe(4.3);
    expect(roundTo(-2.5, 0, 'nearest')).toBe(-3);
    expect(Object.is(roundTo(-0.2, 0, 'nearest'), 0)).toBe(true);
  });

  it('applies numeric actions to numeric attributes too', () => {
    const r = apply(product({}, { 'Variant Grams': 145 }), [
      { multiply: 'Variant Grams', value: 0.001, round: 3 },
    ]);
    expect(r.product.attributes['Variant Grams']).toBe(0.145);
  });

  it('leaves a value that is not a number alone, and explain says so', () => {
    for (const quantity of [null, '5', true, undefined]) {
      const p = product(quantity === undefined ? {} : { quantity });
      const set = ruleSet([
        { percent: 'quantity', value: 50, rounding: 'down' },
        { set: 'title', value: 'after' },
      ]);
      const evaluator = compileRuleSets([set]);
      expect(evaluator.apply(p, AT).product.fields).toEqual({ ...p.fields, title: 'after' });
      const action = evaluator.explain(p, AT).rules[0]?.actions?.[0];
      expect(action).toMatchObject({ action: 'percent', changed: false });
      expect(action?.skipped).toMatch(/quantity/);
    }
  });

  it('skips a result that is not finite', () => {
    expect(fields(product({ price: 1e308 }), [{ multiply: 'price', value: 10 }]).price).toBe(1e308);
  });
});

describe('set', () => {
  it('writes a value, a template or another field', () => {
    const p = product(
      { title: 'Shirt', brand: 'Acme', price: 19.99, quantity: 4 },
      { 'Option1 Value': 'Blue', Grams: 145 },
    );
    const f = fields(
      p,
      [
        {
          set: 'title',
          template: '{{brand}} {{title}} – {{ Option1 Value }} {{missing}}({{Grams}}g, {{manage_stock}})',
        },
      ],
      [{ set: 'sale_price', from: 'price' }],
      [{ set: 'quantity', from: 'price' }],
      [{ set: 'availability', value: 'in stock' }],
    );
    expect(f).toMatchObject({
      title: 'Acme Shirt – Blue (145g, )',
      sale_price: 19.99,
      quantity: 19,
      availability: 'in stock',
    });
  });

  it('keeps canonical types when copying from another field', () => {
    const p = product(
      { title: 'Shirt', quantity: 4, status: 'active' },
      { Stock: 'lots', Flag: 7, State: 'draft' },
    );
    const f = fields(
      p,
      [{ set: 'quantity', from: 'Stock' }],
      [{ set: 'title', from: 'Flag' }],
      [{ set: 'status', from: 'State' }],
      [{ set: 'manage_stock', from: 'missing' }],
    );
    expect(f).toMatchObject({ quantity: 4, title: '7', status: 'active' });
    expect(f.manage_stock).toBeUndefined();
  });

  it('writes attributes without touching the input product', () => {
    const p = product({ quantity: 4 }, { color: 'red' });
    Object.freeze(p.fields);
    Object.freeze(p.attributes);
    const r = apply(p, [
      { set: 'color', value: 'blue' },
      { set: 'Custom Label', template: '{{color}}' },
      { set: 'quantity', value: 0 },
    ]);
    expect({ ...r.product.attributes }).toEqual({ color: 'blue', 'Custom Label': 'blue' });
    expect(r.product.fields.quantity).toBe(0);
    expect(p.attributes.color).toBe('red');
    expect(p.fields.quantity).toBe(4);
  });

  it('does not copy a product no rule changes', () => {
    const p = product({ quantity: 4 });
    const r = apply(p, [
      { set: 'quantity', value: 4 },
      { clamp: 'quantity', max: 10 },
    ]);
    expect(r.product.fields).toBe(p.fields);
    expect(r.product.attributes).toBe(p.attributes);
  });
});

describe('exclude, keepActive and the inactive default', () => {
  it('records the rule and stops there', () => {
    const set: RuleSet = {
      id: 'x',
      rules: [
        {
          id: 'described',
          description: 'Out of season',
          when: { all: [{ fact: 'quantity', operator: 'equal', value: 1 }] },
          then: [{ exclude: true }],
        },
        {
          id: 'bare',
          when: { all: [{ fact: 'quantity', operator: 'equal', value: 2 }] },
          then: [{ set: 'title', value: 'seen' }, { exclude: true }],
        },
        { id: 'after', when: ALWAYS, then: [{ set: 'title', value: 'after' }] },
      ],
    };
    const evaluator = compileRuleSets([set]);
    expect(evaluator.apply(product({ quantity: 1 }), AT).excludedBy).toEqual({
      ruleSet: 'x',
      rule: 'described',
      reason: 'Out of season',
    });
    const two = evaluator.apply(product({ quantity: 2 }), AT);
    expect(two.excludedBy).toEqual({ ruleSet: 'x', rule: 'bare', reason: 'excluded by rule bare' });
    expect(two.product.fields.title).toBe('seen');
    expect(evaluator.apply(product({ quantity: 3 }), AT)).toMatchObject({
      included: true,
      product: { fields: { title: 'after' } },
    });
  });

  it('leaves an inactive product out unless kept active; a rule can make it inactive', () => {
    expect(apply(product({ status: 'inactive' }), [{ set: 'title', value: 'x' }])).toMatchObject({
      included: false,
      excludedBy: { reason: 'inactive', rule: null, ruleSet: null },
    });
    expect(apply(product({ status: 'inactive' }), [{ keepActive: true }])).toMatchObject({
      included: true,
      product: { fields: { status: 'active' } },
    });
    expect(
      apply(product({ status: 'active' }), [{ keepActive: true }], [{ set: 'status', value: 'inactive' }])
        .included,
    ).toBe(false);
    expect(apply(product({}), [{ keepActive: true }]).product.fields.status).toBeUndefined();
  });
});

describe('facts', () => {
  it('read canonical fields first, attributes by source name, and now', () => {
    const set: RuleSet = {
      id: 'facts',
      rules: [
        {
          id: 'r',
          when: {
            all: [
              { fact: 'quantity', operator: 'equal', value: 5 },
              { fact: 'Stock', operator: 'equal', value: 9 },
              { fact: 'now', operator: 'startsWith', value: '2026-06-15T12' },
              { fact: 'constructor', operator: 'isEmpty' },
              { fact: 'nothing', operator: 'isEmpty' },
            ],
          },
          then: [{ set: 'title', template: 'seen at {{now}}' }],
        },
      ],
    };
    // An attribute named like a canonical field does not shadow it.
    const p = product({ quantity: 5 }, { quantity: 1, Stock: 9 });
    expect(compileRuleSets([set]).apply(p, AT).product.fields.title).toBe('seen at 2026-06-15T12:00:00.000Z');
  });

  it('refuses an invalid evaluation time', () => {
    expect(() =>
      compileRuleSets([ruleSet([{ keepActive: true }])]).apply(product({}), new Date('nope')),
    ).toThrow(RangeError);
  });
});
