// biome-ignore-all lint/suspicious/noThenProperty: a rule's actions are its "then" (SPEC §2), not a thenable.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createReferenceEvaluator, engineVerdict } from '../../../bench/reference-engine.js';
import { compileRuleSets } from '../../../src/rules/engine.js';
import { factsOf } from '../../../src/rules/facts.js';
import { ENGINE_OPERATORS } from '../../../src/rules/operators.js';
import type { Action, Condition, Product, RuleSet } from '../../../src/rules/types.js';

// Our compiled conditions against json-rules-engine's own Engine.run (allowUndefinedFacts),
// on random conditions and random products: every built-in operator and some decorated
// ones, all/any/not nesting (empty lists included), numbers, numeric and other strings,
// booleans, null, arrays, objects with `path`, facts compared with facts, missing facts,
// and keys such as __proto__ and constructor.

const AT = new Date('2026-06-15T12:00:00Z');
const MARK = 'diff matched';

const CANONICAL = ['quantity', 'price', 'brand', 'status'] as const;
const ATTRIBUTES = ['tags', 'dims', 'flag', 'color', '__proto__', 'constructor'] as const;
const FACTS = [...CANONICAL, ...ATTRIBUTES, 'now', 'missing'];

const primitive = fc.oneof(
  fc.constantFrom<unknown>(
    0,
    -0,
    1,
    2,
    3,
    3.5,
    -1,
    10,
    100,
    1e21,
    '0',
    '3',
    '10',
    '3.5',
    '12abc',
    ' 7',
    '',
    'abc',
  ),
  fc.constantFrom<unknown>('Acme', 'acme', 'Ac', 'me', 'Infinity', 'NaN', 'true', '2026', true, false, null),
  fc.integer({ min: -3, max: 12 }),
  fc.string({ maxLength: 3 }),
);
const list = fc.array(primitive, { maxLength: 4 });
const object = fc.oneof(
  fc.record(
    {
      a: fc.oneof(primitive, fc.record({ a: primitive, length: primitive }, { noNullPrototype: true })),
      b: list,
      length: primitive,
    },
    { requiredKeys: [], noNullPrototype: true },
  ),
  fc.constant(JSON.parse('{"__proto__": {"a": 3}, "a": "Acme"}') as unknown),
);
const anyValue = fc.oneof(
  { weight: 5, arbitrary: primitive },
  { weight: 2, arbitrary: list },
  { weight: 1, arbitrary: object },
);

const products = fc
  .record({
    fields: fc.dictionary(fc.constantFrom(...CANONICAL), anyValue, { maxKeys: 4 }),
    attributes: fc.dictionary(fc.constantFrom(...ATTRIBUTES), anyValue, { maxKeys: 6 }),
    // Usually an object under `dims` and a list under `tags`, for paths and array operators.
    dims: fc.option(object, { freq: 5, nil: undefined }),
    tags: fc.option(list, { freq: 5, nil: undefined }),
  })
  .map(({ fields, attributes, dims, tags }): Product => {
    const f = Object.assign(Object.create(null), { sku: 'P' });
    for (const [k, v] of Object.entries(fields)) f[k] = v;
    const a = Object.create(null);
    // Object.entries sees an own "__proto__"; assignment on a null-prototype object keeps it data.
    for (const [k, v] of Object.entries(attributes)) a[k] = v;
    if (dims !== undefined) a.dims = dims;
    if (tags !== undefined) a.tags = tags;
    return { sku: 'P', fields: f, attributes: a };
  });

const PATHS = [
  '$.a',
  '$.a.a',
  '$.a.length',
  '$.b',
  '$.b[0]',
  '$.b[1]',
  '$.length',
  '$[0]',
  '$.__proto__',
  '$.__proto__.a',
  '$.constructor',
];
const DECORATED = [
  'not:equal',
  'not:lessThan',
  'not:in',
  'someFact:equal',
  'someFact:greaterThan',
  'everyFact:lessThanInclusive',
  'someValue:equal',
  'someValue:lessThan',
  'someValue:startsWith',
  'everyValue:notEqual',
  'everyValue:greaterThan',
  'swap:contains',
  'swap:in',
  'someFact:startsWith',
  'not:isEmpty',
  'someFact:matches',
  'not:someFact:in',
  'everyFact:someValue:equal',
];
const OPERATORS = [
  ...ENGINE_OPERATORS,
  'startsWith',
  'endsWith',
  'matches',
  'isEmpty',
  'isNotEmpty',
  ...DECORATED,
];
const PATTERNS = [
  '^a',
  'c$',
  '^\\d+$',
  'me',
  '^$',
  { pattern: '^ac', flags: 'i' },
  { pattern: 'A.M', flags: 's' },
];

const factRef = fc.record(
  { fact: fc.constantFrom(...FACTS), path: fc.constantFrom(...PATHS) },
  { requiredKeys: ['fact'] },
);

const leaf: fc.Arbitrary<Condition> = fc
  .record({
    fact: fc.constantFrom(...FACTS),
    operator: fc.constantFrom(...OPERATORS),
    path: fc.option(fc.constantFrom(...PATHS), { nil: undefined, freq: 4 }),
    value: fc.oneof(
      { weight: 4, arbitrary: anyValue },
      { weight: 2, arbitrary: list },
      { weight: 2, arbitrary: factRef },
    ),
    pattern: fc.constantFrom(...PATTERNS),
    omitValue: fc.boolean(),
    // Lists long enough for the compiled Set form too (more than 8 items).
    longList: fc.array(primitive, { minLength: 0, maxLength: 12 }),
    preferList: fc.integer({ min: 0, max: 9 }),
  })
  .map(({ fact, operator, path, value, pattern, omitValue, longList, preferList }) => {
    // A path is mostly asked of the object fact.
    const c: Record<string, unknown> = {
      fact: path !== undefined && preferList < 7 ? 'dims' : fact,
      operator,
    };
    if (path !== undefined) c.path = path;
    // Lists where the operator wants one, most of the time (else json-rules-engine throws).
    if (/(^|:)(in|notIn)$|someValue|everyValue/.test(operator) && preferList < 8) c.value = longList;
    else if (operator.endsWith('matches')) c.value = pattern;
    else if (operator.endsWith('isEmpty') || operator.endsWith('isNotEmpty')) {
      if (!omitValue) c.value = value;
    } else c.value = value;
    return c as unknown as Condition;
  });

const { root } = fc.letrec<{
  node: Condition;
  all: Condition;
  any: Condition;
  not: Condition;
  root: Condition;
}>((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('all'), tie('any'), tie('not')),
  all: fc.record({ all: fc.array(tie('node'), { maxLength: 4 }) }),
  any: fc.record({ any: fc.array(tie('node'), { maxLength: 4 }) }),
  not: fc.record({ not: tie('node') }),
  root: fc.oneof(tie('all'), tie('any'), tie('not')),
}));

function matchedByUs(when: Condition, p: Product): { apply: boolean; explain: boolean } {
  const set: RuleSet = { id: 'diff', rules: [{ id: 'r', when, then: [{ set: MARK, value: true }] }] };
  const evaluator = compileRuleSets([set], { trusted: true });
  return {
    apply: evaluator.apply(p, AT).product.attributes[MARK] === true,
    explain: evaluator.explain(p, AT).rules[0]?.matched === true,
  };
}

describe('conditions mean what json-rules-engine means', () => {
  it('agrees with Engine.run on random conditions and products', async () => {
    let compared = 0;
    let engineErrors = 0;
    let trues = 0;
    await fc.assert(
      fc.asyncProperty(root, products, async (when, p) => {
        const ours = matchedByUs(when, p);
        expect(ours.explain).toBe(ours.apply);
        const verdict = await engineVerdict(when, factsOf(p.fields, p.attributes, AT.toISOString()));
        // Where json-rules-engine throws (an `in` list that is a number…) ours is false by
        // design; there is no answer of its own to compare with.
        if (verdict === 'error') {
          engineErrors++;
          return;
        }
        compared++;
        if (verdict) trues++;
        expect(ours.apply).toBe(verdict);
      }),
      { numRuns: 5000 },
    );
    expect(compared).toBeGreaterThan(4000);
    expect(engineErrors).toBeLessThan(1000);
    // Both outcomes are well represented, so agreeing is not a matter of always saying false.
    expect(trues).toBeGreaterThan(compared * 0.25);
    expect(trues).toBeLessThan(compared * 0.75);
  }, 60_000);

  // Cases worth naming, each checked against json-rules-engine as well.
  const facts = {
    quantity: '10',
    price: 5,
    tags: ['a', 3],
    brand: 'Acme',
    dims: { w: { x: 2 }, s: 'abc', e: '', z: 0 },
  };
  const product: Product = {
    sku: 'P',
    fields: { sku: 'P', quantity: facts.quantity, price: facts.price, brand: facts.brand },
    attributes: { tags: facts.tags, dims: facts.dims } as unknown as Product['attributes'],
  };
  const cases: Array<[string, Condition, boolean]> = [
    ['an empty all is true', { all: [] }, true],
    ['an empty any is true, as in json-rules-engine', { any: [] }, true],
    ['not of an empty any is false', { not: { any: [] } }, false],
    [
      'a numeric string passes a number operator',
      { all: [{ fact: 'quantity', operator: 'greaterThan', value: 9 }] },
      true,
    ],
    [
      'a missing fact fails a number operator',
      { all: [{ fact: 'weight', operator: 'lessThan', value: 9 }] },
      false,
    ],
    [
      'a missing fact fails notEqual? no: undefined !== 1',
      { all: [{ fact: 'weight', operator: 'notEqual', value: 1 }] },
      true,
    ],
    ['equal is strict', { all: [{ fact: 'quantity', operator: 'equal', value: 10 }] }, false],
    ['contains on an array', { all: [{ fact: 'tags', operator: 'contains', value: 3 }] }, true],
    ['contains on a string is false', { all: [{ fact: 'brand', operator: 'contains', value: 'A' }] }, false],
    [
      'a path into an object fact',
      { all: [{ fact: 'dims', path: '$.w.x', operator: 'equal', value: 2 }] },
      true,
    ],
    [
      'a path step into a string is own property',
      { all: [{ fact: 'dims', path: '$.s.length', operator: 'equal', value: 3 }] },
      true,
    ],
    [
      'a path step into an empty string finds nothing',
      { all: [{ fact: 'dims', path: '$.e.length', operator: 'equal', value: 0 }] },
      false,
    ],
    [
      'a path step into 0 finds nothing',
      { all: [{ fact: 'dims', path: '$.z.a', operator: 'isEmpty' }] },
      true,
    ],
    [
      'a path on a non-object fact gives the fact',
      { all: [{ fact: 'brand', path: '$.a', operator: 'equal', value: 'Acme' }] },
      true,
    ],
    [
      'a fact compared with a fact',
      { all: [{ fact: 'price', operator: 'lessThan', value: { fact: 'quantity' } }] },
      true,
    ],
    ['a decorated operator', { all: [{ fact: 'tags', operator: 'someFact:equal', value: 'a' }] }, true],
  ];
  it.each(cases)('%s', async (_name, when, expected) => {
    expect(matchedByUs(when, product).apply).toBe(expected);
    expect(await engineVerdict(when, factsOf(product.fields, product.attributes, AT.toISOString()))).toBe(
      expected,
    );
  });
});

// ---------------------------------------------------------------------------------------
// Whole rule sets: sequential actions, windows, exclusions and status, against
// json-rules-engine driving the same rules one after the other (createReferenceEvaluator).

const validValue = fc.oneof(
  fc.integer({ min: -2, max: 30 }),
  fc.constantFrom<unknown>('Acme', 'Zed', '', '5', true, false, null),
);
const simpleLeaf: fc.Arbitrary<Condition> = fc.oneof(
  fc.record({
    fact: fc.constantFrom('quantity', 'price', 'color'),
    operator: fc.constantFrom('lessThan', 'lessThanInclusive', 'greaterThan', 'greaterThanInclusive'),
    value: fc.integer({ min: -1, max: 25 }),
  }),
  fc.record({
    fact: fc.constantFrom('brand', 'status', 'color', 'quantity'),
    operator: fc.constantFrom('equal', 'notEqual'),
    value: validValue,
  }),
  fc.record({
    fact: fc.constantFrom('brand', 'color', 'quantity'),
    operator: fc.constantFrom('in', 'notIn'),
    value: fc.array(validValue, { maxLength: 3 }),
  }),
  fc.record({
    fact: fc.constantFrom('brand', 'title'),
    operator: fc.constantFrom('startsWith', 'endsWith'),
    value: fc.constantFrom('A', 'e', 'Ac', ''),
  }),
  fc.record({
    fact: fc.constantFrom('title', 'quantity', 'color'),
    operator: fc.constantFrom('isEmpty', 'isNotEmpty'),
  }),
  fc.record({
    fact: fc.constantFrom('price', 'quantity'),
    operator: fc.constantFrom('lessThan', 'equal'),
    value: fc.record({ fact: fc.constantFrom('quantity', 'price') }),
  }),
) as fc.Arbitrary<Condition>;
const { simpleRoot } = fc.letrec<{ cond: Condition; simpleRoot: Condition }>((tie) => ({
  cond: fc.oneof({ depthSize: 'small' }, simpleLeaf, tie('simpleRoot')),
  simpleRoot: fc.oneof(
    fc.record({ all: fc.array(tie('cond'), { maxLength: 3 }) }),
    fc.record({ any: fc.array(tie('cond'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ not: tie('cond') }),
  ),
}));
const rounding = fc.constantFrom('down' as const, 'up' as const, 'nearest' as const);
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    set: fc.constant('quantity'),
    value: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.constant(null)),
  }),
  fc.record({ set: fc.constantFrom('title', 'color'), value: fc.constantFrom('Acme', 'x', '') }),
  fc.record({ set: fc.constant('status'), value: fc.constantFrom('active', 'inactive') }),
  fc.record({
    set: fc.constantFrom('title', 'color'),
    template: fc.constantFrom('{{brand}} {{title}}', '{{quantity}}/{{color}}', 'fixed'),
  }),
  fc.record({
    set: fc.constantFrom('quantity', 'price', 'color', 'title'),
    from: fc.constantFrom('price', 'color', 'quantity', 'brand'),
  }),
  fc.record({
    percent: fc.constantFrom('quantity', 'price', 'color'),
    value: fc.integer({ min: 0, max: 150 }),
    rounding,
  }),
  fc
    .record({
      clamp: fc.constantFrom('quantity', 'price'),
      a: fc.integer({ min: -2, max: 20 }),
      b: fc.integer({ min: -2, max: 20 }),
    })
    .map(({ clamp, a, b }) => ({ clamp, min: Math.min(a, b), max: Math.max(a, b) })),
  fc.record(
    {
      add: fc.constantFrom('quantity', 'price', 'color'),
      value: fc.double({ min: -5, max: 5, noNaN: true }),
      round: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    },
    { requiredKeys: ['add', 'value'] },
  ),
  fc.record(
    {
      multiply: fc.constantFrom('quantity', 'price'),
      value: fc.double({ min: 0, max: 3, noNaN: true }),
      round: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    },
    { requiredKeys: ['multiply', 'value'] },
  ),
  fc.record({ exclude: fc.constant(true as const) }),
  fc.record({ keepActive: fc.constant(true as const) }),
) as fc.Arbitrary<Action>;
const WINDOWS = [
  undefined,
  { start: '2026-06-01', end: '2026-07-01', timezone: 'Europe/Paris' },
  { end: '2026-06-15T14:00:00', timezone: 'Europe/Paris' },
];
const ruleSets = fc
  .array(
    fc.record({
      when: simpleRoot,
      then: fc.array(action, { minLength: 1, maxLength: 3 }),
      window: fc.constantFrom(...WINDOWS),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map(
    (rules): RuleSet => ({
      id: 'random',
      rules: rules.map((r, i) => {
        const cut = r.then.findIndex((a) => 'exclude' in a);
        const then = cut >= 0 ? r.then.slice(0, cut + 1) : r.then;
        return { id: `r${i}`, when: r.when, then, ...(r.window ? { window: r.window } : {}) };
      }),
    }),
  );
const catalogProduct = fc
  .record({
    quantity: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom<unknown>(null, '7', undefined)),
    price: fc.oneof(
      fc.double({ min: 0, max: 200, noNaN: true }),
      fc.constantFrom<unknown>(19.99, null, undefined),
    ),
    brand: fc.constantFrom<unknown>('Acme', 'Zed', undefined),
    title: fc.constantFrom<unknown>('Shirt', 'Acme cap', '', undefined),
    status: fc.constantFrom<unknown>('active', 'inactive', undefined),
    color: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constantFrom<unknown>('red', null, undefined)),
  })
  .map(({ color, ...fields }): Product => {
    const f = Object.assign(Object.create(null), { sku: 'P' });
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) f[k] = v;
    const a = Object.create(null);
    if (color !== undefined) a.color = color;
    return { sku: 'P', fields: f, attributes: a };
  });
const instants = fc.constantFrom(
  new Date('2026-05-31T21:59:59Z'),
  new Date('2026-06-15T11:59:59Z'),
  new Date('2026-06-15T12:00:00Z'),
  new Date('2026-06-30T23:00:00Z'),
);

const plain = (p: Product) => ({ sku: p.sku, fields: { ...p.fields }, attributes: { ...p.attributes } });

describe('whole rule sets', () => {
  it('give the same products, in or out of the feed, as json-rules-engine running them in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        ruleSets,
        fc.array(catalogProduct, { minLength: 1, maxLength: 3 }),
        instants,
        async (set, ps, at) => {
          const evaluator = compileRuleSets([set]);
          const reference = createReferenceEvaluator([set]);
          for (const p of ps) {
            const ours = evaluator.apply(p, at);
            const theirs = await reference.apply(p, at);
            const explained = evaluator.explain(p, at);
            expect(plain(ours.product)).toEqual(plain(theirs.product));
            expect(ours.included).toBe(theirs.included);
            expect(ours.excludedBy).toEqual(theirs.excludedBy);
            expect(plain(explained.product)).toEqual(plain(ours.product));
            expect(explained.excludedBy).toEqual(ours.excludedBy);
            const q = ours.product.fields.quantity;
            if (typeof q === 'number') expect(Number.isInteger(q) && q >= 0).toBe(true);
          }
        },
      ),
      { numRuns: 400 },
    );
  }, 60_000);
});
