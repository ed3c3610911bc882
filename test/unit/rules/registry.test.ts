// biome-ignore-all lint/suspicious/noThenProperty: a rule's actions are its "then" (SPEC §2), not a thenable.
import { describe, expect, it } from 'vitest';
import { ACTION_NAMES, ACTIONS } from '../../../src/rules/actions/index.js';
import { compileRuleSets } from '../../../src/rules/engine.js';
import { RULE_SET_SCHEMA } from '../../../src/rules/schema.js';
import type { Action, Product } from '../../../src/rules/types.js';
import { validateRuleSet } from '../../../src/rules/validate.js';
import { product } from './samples.js';

// What every action of the registry must give, so a new one is checked by being listed:
// a schema the rule set's schema dispatches to, every property described, an example the
// validator accepts, and the same product from the compiled evaluator and from explain.

const AT = new Date('2026-06-15T12:00:00Z');

const PRODUCTS: Product[] = [
  product({ quantity: 7, price: 12.3, status: 'active' }),
  product({ quantity: null, price: null, status: 'inactive' }),
  product({ quantity: 0, price: 0.5, sale_price: 0.4, status: 'inactive', availability: 'in stock' }),
];

describe.each(ACTIONS.map((a) => [a.name, a] as const))('the %s action', (name, action) => {
  it('is a definition of the schema, named by its key, every property described', () => {
    const defs = RULE_SET_SCHEMA.definitions as Record<string, unknown>;
    expect(defs[`${name}Action`]).toBe(action.schema);
    expect(action.schema.required[0]).toBe(name);
    expect(Object.keys(action.schema.properties)).toContain(name);
    for (const [p, s] of Object.entries(action.schema.properties)) expect(s.description, p).not.toBe('');
    expect(action.schema.description).not.toBe('');
  });

  it('has an example the validator accepts, and snippets named after it', () => {
    const rules = [{ id: 'example', when: { all: [] }, then: [action.example] }];
    expect(validateRuleSet({ id: 'examples', rules })).toEqual([]);
    expect(action.snippets.length).toBeGreaterThan(0);
    for (const s of action.snippets) expect(Object.keys(s.body)).toContain(name);
  });

  it('gives the same product compiled and explained', () => {
    const evaluator = compileRuleSets([
      { id: 'one', rules: [{ id: 'r', when: { all: [] }, then: [action.example as Action] }] },
    ]);
    for (const p of PRODUCTS) {
      const applied = evaluator.apply(p, AT);
      const explained = evaluator.explain(p, AT);
      expect(explained.product).toEqual(applied.product);
      expect(explained.included).toBe(applied.included);
      expect(explained.rules[0]?.actions?.[0]?.action).toBe(name);
    }
  });
});

it('lists each action once', () => {
  expect(new Set(ACTION_NAMES).size).toBe(ACTIONS.length);
});
