// biome-ignore-all lint/suspicious/noThenProperty: a rule's actions are its "then" (SPEC §2), not a thenable.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  leafChanges,
  parseJson,
  readableOrder,
  spanOf,
  toEditorText,
} from '../../../src/dashboard/pages/rule-json.js';
import { validateRuleSet } from '../../../src/rules/validate.js';

// Schema faults (rules 0 and 2) and semantic ones (rule 1: the validator checks those only
// on rules that match the schema).
const faulty = {
  id: 'checks',
  rules: [
    { id: 'share', when: { all: [] }, then: [{ percent: 'quantity', value: 80 }] },
    {
      id: 'typos',
      when: {
        all: [
          { fact: 'brand', operator: 'equal', value: 'Acme' },
          { fact: 'quantity', operator: 'biggerThan', value: 3 },
        ],
      },
      then: [{ set: 'quantiy', value: 1 }],
    },
    { id: 'odd-key', when: { all: [] }, then: [{ keepActive: true }], 'a b': true },
  ],
};

describe("the rule editor's JSON reader", () => {
  it('finds every problem the validator reports at the text of its JSON path', () => {
    const text = toEditorText(faulty);
    const parsed = parseJson(text);
    if (!parsed.ok) throw new Error('the text should parse');
    const problems = validateRuleSet(parsed.value);
    const at = (path: string) => {
      const span = spanOf(parsed.spans, path);
      return span ? text.slice(span.start, span.end) : undefined;
    };
    const byPath = new Map(problems.map((p) => [p.path, p.message]));
    expect(byPath.get('$.rules[1].when.all[1].operator')).toContain('biggerThan');
    expect(at('$.rules[1].when.all[1].operator')).toBe('"biggerThan"');
    expect(byPath.get('$.rules[1].then[0].set')).toContain('quantity');
    expect(at('$.rules[1].then[0].set')).toBe('"quantiy"');
    // A missing property points at the object that lacks it.
    expect(byPath.has('$.rules[0].then[0].rounding')).toBe(true);
    expect(JSON.parse(at('$.rules[0].then[0].rounding') ?? '')).toEqual({ percent: 'quantity', value: 80 });
    // A key that is not an identifier is written as the validator writes it.
    expect(byPath.has('$.rules[2]["a b"]')).toBe(true);
    expect(at('$.rules[2]["a b"]')).toBe('true');
  });

  it('says where a syntax error is, by line and column', () => {
    const cases: Array<[string, number, number, RegExp]> = [
      ['{\n  "id": "x"\n  "rules": []\n}', 3, 3, /expected , or \}/],
      ['{\n  "rules": [1, 2,]\n}', 2, 18, /trailing comma/],
      ['{ "id": "x", }', 1, 14, /trailing comma/],
      ['{ "id": \'x\' }', 1, 9, /double quotes/],
      ['{ "id": "x', 1, 9, /not closed/],
      ['', 1, 1, /expected a value/],
      ['{} {}', 1, 4, /after the end/],
      ['{ "id": "a\nb" }', 1, 9, /line break/],
      ['{ "id" "x" }', 1, 8, /expected : after the property name/],
      ['[1 2]', 1, 4, /expected , or \] after a list item/],
      ['{ "id": tru }', 1, 9, /expected a value, found ‘t’/],
    ];
    for (const [text, line, column, message] of cases) {
      const parsed = parseJson(text);
      expect(parsed.ok, text).toBe(false);
      if (parsed.ok) continue;
      expect([parsed.error.line, parsed.error.column], text).toEqual([line, column]);
      expect(parsed.error.message, text).toMatch(message);
    }
  });

  it('accepts exactly what JSON.parse accepts, and reads the same value', () => {
    const mutate = fc.tuple(
      fc.json(),
      fc.nat(),
      fc.constantFrom('', ',', '}', ']', '"', ':', ' ', '\n', 'x', '\\'),
    );
    fc.assert(
      fc.property(mutate, ([json, at, insert]) => {
        const pos = json.length === 0 ? 0 : at % json.length;
        const text = json.slice(0, pos) + insert + json.slice(pos);
        let expected: unknown;
        let ok = true;
        try {
          expected = JSON.parse(text);
        } catch {
          ok = false;
        }
        const parsed = parseJson(text);
        expect(parsed.ok).toBe(ok);
        if (parsed.ok) expect(parsed.value).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('shows stored rule sets in the order people write them, and compares them whatever the order', () => {
    // jsonb gives keys back shortest first.
    const stored = {
      id: 'x',
      rules: [{ id: 'r', then: [{ value: 0, set: 'quantity' }], when: { all: [] } }],
      description: 'd',
    };
    expect(Object.keys(readableOrder(stored) as object)).toEqual(['id', 'description', 'rules']);
    expect(toEditorText(stored)).toMatch(
      /"id": "r",\n\s+"when": [\s\S]*"then": \[\n\s+\{\n\s+"set": "quantity",\n\s+"value": 0/,
    );
    expect(canonicalJson(stored)).toBe(canonicalJson(readableOrder(stored)));
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: 2 }));
  });

  it('lists a changed rule leaf by leaf', () => {
    const before = {
      id: 'r',
      when: { all: [{ fact: 'quantity', operator: 'lessThan', value: 3 }] },
      then: [],
    };
    const after = {
      id: 'r',
      description: 'new',
      when: { all: [{ fact: 'quantity', operator: 'lessThan', value: 5 }] },
      then: [],
    };
    expect(leafChanges(before, after, '')).toEqual([
      { path: '.when.all[0].value', before: 3, after: 5 },
      { path: '.description', before: undefined, after: 'new' },
    ]);
  });
});
