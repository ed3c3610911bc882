/**
 * The benchmarks' 10-rule set (rules bench, publish bench, serve bench): conditions on
 * numbers, strings, `in` lists and a window; actions set, percent, clamp and exclude.
 */
// biome-ignore-all lint/suspicious/noThenProperty: a rule's actions are its "then" (SPEC §2), not a thenable.
import type { RuleSet } from '../src/rules/types.js';

/** The benchmark's 10 rules: what a channel with inventory options and a few exclusions holds. */
export const BENCH_RULE_SET: RuleSet = {
  id: 'bench',
  description: 'Ten rules of the kinds the reference documents describe',
  rules: [
    {
      id: 'buffer-stock',
      when: { all: [{ fact: 'quantity', operator: 'lessThanInclusive', value: 3 }] },
      then: [{ set: 'quantity', value: 0 }],
    },
    {
      id: 'unmanaged-stock',
      when: { all: [{ fact: 'manage_stock', operator: 'equal', value: false }] },
      then: [{ set: 'quantity', value: 10 }],
    },
    {
      id: 'premium-half',
      when: {
        all: [
          {
            fact: 'brand',
            operator: 'in',
            value: ['Brand-01', 'Brand-02', 'Brand-03', 'Brand-05', 'Brand-08'],
          },
          { fact: 'price', operator: 'greaterThan', value: 150 },
        ],
      },
      then: [{ percent: 'quantity', value: 50, rounding: 'nearest' }],
    },
    {
      id: 'share-80',
      when: { all: [{ fact: 'quantity', operator: 'greaterThan', value: 0 }] },
      then: [{ percent: 'quantity', value: 80, rounding: 'down' }],
    },
    {
      id: 'cap-bulky',
      when: {
        any: [
          { fact: 'category', operator: 'in', value: ['Garden', 'Kitchen', 'Sport'] },
          { fact: 'size', operator: 'equal', value: 'XL' },
        ],
      },
      then: [{ clamp: 'quantity', max: 20 }],
    },
    {
      id: 'pause-brand',
      when: { all: [{ fact: 'brand', operator: 'equal', value: 'Brand-07' }] },
      then: [{ exclude: true, reason: 'brand paused' }],
      window: { start: '2026-06-01T00:00:00', end: '2026-07-01T00:00:00', timezone: 'Europe/Paris' },
    },
    {
      id: 'no-cheap-clearance',
      when: {
        all: [
          { fact: 'price', operator: 'lessThan', value: 5 },
          { fact: 'title', operator: 'startsWith', value: 'Clearance' },
        ],
      },
      then: [{ exclude: true }],
    },
    {
      id: 'out-of-stock',
      when: { all: [{ fact: 'quantity', operator: 'equal', value: 0 }] },
      then: [{ set: 'availability', value: 'out of stock' }],
    },
    {
      id: 'label-other-colors',
      when: { not: { fact: 'color', operator: 'in', value: ['black', 'white', 'grey'] } },
      then: [{ set: 'custom_label_0', value: 'colourful' }],
    },
    {
      id: 'premium-min-max',
      when: {
        all: [
          { fact: 'price', operator: 'greaterThanInclusive', value: 100 },
          { fact: 'quantity', operator: 'greaterThan', value: 0 },
        ],
      },
      then: [{ clamp: 'quantity', min: 2, max: 50 }],
    },
  ],
};
