// biome-ignore-all lint/suspicious/noThenProperty: a rule's actions are its "then" (SPEC §2), not a thenable.
import { afterEach, describe, expect, it } from 'vitest';
import { literal } from '../../../src/rules/codegen.js';
import { compileRuleSets } from '../../../src/rules/engine.js';
import type { Condition, Product, RuleSet } from '../../../src/rules/types.js';
import { validateRuleSet } from '../../../src/rules/validate.js';

// Rule sets are compiled to JavaScript: nothing a rule set holds may run as code.

const g = globalThis as Record<string, unknown>;
const HOSTILE = [
  '"); globalThis.__pwned = 1; ("',
  "'); globalThis.__pwned = 2; ('",
  '`; globalThis.__pwned = 3; `',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template literal's syntax, as data.
  '${globalThis.__pwned = 4}',
  '\\"); globalThis.__pwned = 5; //',
  '\u2028globalThis.__pwned = 6;\u2029',
  '*/ globalThis.__pwned = 7; /*',
  '</script><script>globalThis.__pwned = 8</script>',
  '\ud800 lone surrogate',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
];

afterEach(() => {
  delete g.__pwned;
});

// A placeholder name has no braces and no surrounding spaces (`{{ x }}` reads x).
const placeable = (name: string) => !/[{}]/.test(name) && name.trim() === name;

function hostileRuleSet(name: string): RuleSet {
  const placeholder = placeable(name) ? `{{${name}}}` : name;
  const conditions: Condition[] = [
    { fact: name, operator: 'equal', value: name },
    { fact: name, operator: 'in', value: [name, 'x', 1] },
    { fact: name, operator: 'in', value: [...Array.from({ length: 10 }, (_, i) => `${name}${i}`), name] },
    { fact: name, operator: 'startsWith', value: name.slice(0, 3) },
    { fact: name, operator: 'endsWith', value: name.slice(-3) },
    { fact: name, operator: 'notEqual', value: { fact: 'title' } },
    { fact: name, operator: 'not:isEmpty' },
  ];
  return {
    id: 'hostile',
    rules: [
      {
        id: 'r',
        description: name,
        when: { all: conditions },
        then: [
          { set: name, template: `${placeholder}|${name}|{{title}}` },
          { set: 'title', from: name },
          { set: 'description', value: name },
        ],
      },
      {
        id: 'x',
        when: { all: [{ fact: 'title', operator: 'equal', value: 'stop' }] },
        then: [{ exclude: true, reason: name }],
      },
    ],
  };
}

function hostileProduct(name: string): Product {
  const attributes = Object.create(null);
  attributes[name] = name;
  return { sku: 'S', fields: Object.assign(Object.create(null), { sku: 'S', title: 'Shirt' }), attributes };
}

describe('generated code', () => {
  it.each(HOSTILE)('treats %j as data in names, values, templates and reasons', (name) => {
    const set = hostileRuleSet(name);
    expect(validateRuleSet(set).filter((p) => !p.message.includes('did you mean'))).toEqual([]);
    const evaluator = compileRuleSets([set], { trusted: true });
    const result = evaluator.apply(hostileProduct(name), new Date());
    expect(g.__pwned).toBeUndefined();
    expect(result.included).toBe(true);
    expect(result.product.attributes[name]).toBe(`${name}|${name}|Shirt`);
    expect(result.product.fields.title).toBe(`${name}|${name}|Shirt`);
    expect(result.product.fields.description).toBe(name);
    // Explain walks the same plan and agrees.
    expect({ ...evaluator.explain(hostileProduct(name), new Date()).product.attributes }).toEqual({
      ...result.product.attributes,
    });
    // A product without the attribute does not match, and nothing leaks onto prototypes.
    const bare: Product = { sku: 'S', fields: { sku: 'S', title: 'Shirt' }, attributes: {} };
    expect(evaluator.apply(bare, new Date()).product.fields.description).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const proto = Object.getPrototypeOf(result.product.attributes);
    expect(proto === null || (Object.getPrototypeOf(proto) === null && Object.isFrozen(proto))).toBe(true);
    expect(Object.keys(proto ?? {})).toEqual([]);
  });

  it('keeps an attribute named __proto__ as data and pollutes no prototype', () => {
    const set: RuleSet = {
      id: 'proto',
      rules: [
        {
          id: 'r',
          when: { all: [{ fact: '__proto__', operator: 'isEmpty' }] },
          then: [
            { set: '__proto__', value: 'polluted' },
            { set: 'constructor', value: 'x' },
          ],
        },
      ],
    };
    // A plain object from JSON.parse (own "__proto__" key absent), as pg returns rows.
    const p = JSON.parse('{"sku":"S","fields":{"sku":"S"},"attributes":{}}') as Product;
    const r = compileRuleSets([set]).apply(p, new Date());
    expect(Object.hasOwn(r.product.attributes, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(r.product.attributes, '__proto__')?.value).toBe('polluted');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(r.product.attributes).sort()).toEqual(['__proto__', 'constructor']);
    expect(JSON.parse(JSON.stringify(r.product.attributes))).toEqual(
      JSON.parse('{"__proto__":"polluted","constructor":"x"}'),
    );
  });

  it('writes strings only as escaped literals', () => {
    for (const s of HOSTILE) {
      const code = literal(s);
      expect(code).not.toMatch(/[\u2028\u2029]/);
      expect(new Function(`return ${code};`)()).toBe(s);
    }
    expect(() => literal(Number.NaN)).toThrow();
  });

  it('has no rule set text in the source other than inside string literals', () => {
    const marker = 'ZZ_MARKER_ZZ';
    const source = compileRuleSets([hostileRuleSet(`"); ${marker}(); ("`)], { trusted: true }).source;
    const outside = source.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    expect(outside).not.toContain(marker);
  });
});
