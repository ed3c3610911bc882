// biome-ignore-all lint/suspicious/noThenProperty: a rule's actions are its "then" (SPEC §2), not a thenable.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../../src/config/config.js';
import { compileRuleSets } from '../../../src/rules/engine.js';
import { RuleSetInvalidError } from '../../../src/rules/errors.js';
import { loadRuleSetFiles, parseRuleSet } from '../../../src/rules/files.js';
import { RULE_LIMITS } from '../../../src/rules/limits.js';
import type { RuleSet } from '../../../src/rules/types.js';
import { formatProblems, validateRuleSet } from '../../../src/rules/validate.js';

function valid(): Record<string, unknown> & { rules: Array<Record<string, unknown>> } {
  return {
    id: 'checks',
    description: 'a rule set every case below breaks in one place',
    rules: [
      {
        id: 'buffer',
        when: { all: [{ fact: 'quantity', operator: 'lessThanInclusive', value: 3 }] },
        then: [{ set: 'quantity', value: 0 }],
      },
      {
        id: 'share',
        when: { any: [{ fact: 'brand', operator: 'in', value: ['Acme', 'Zed'] }] },
        then: [{ percent: 'quantity', value: 80, rounding: 'down' }],
      },
      {
        id: 'pause',
        when: { not: { fact: 'title', operator: 'matches', value: '^Gift' } },
        then: [{ clamp: 'quantity', min: 0, max: 50 }, { exclude: true }],
        window: { start: '2026-12-01T00:00:00', end: '2027-01-05T00:00:00', timezone: 'Europe/Paris' },
      },
    ],
  };
}

type Mutate = (s: ReturnType<typeof valid>) => void;
// biome-ignore lint/suspicious/noExplicitAny: the cases reach into arbitrary places of the JSON.
const rule = (s: ReturnType<typeof valid>, i: number) => s.rules[i] as any;

// Each fault, the JSON path its message must point at, and a word of what it must say.
const CASES: Array<[string, Mutate, string, RegExp]> = [
  [
    'percent without rounding',
    (s) => delete rule(s, 1).then[0].rounding,
    '$.rules[1].then[0].rounding',
    /rounding/,
  ],
  [
    'unknown operator',
    (s) => (rule(s, 0).when.all[0].operator = 'lessThanOrEqual'),
    '$.rules[0].when.all[0].operator',
    /unknown operator "lessThanOrEqual"/,
  ],
  [
    'unknown operator decorator',
    (s) => (rule(s, 0).when.all[0].operator = 'some:lessThan'),
    '$.rules[0].when.all[0].operator',
    /decorator "some"/,
  ],
  [
    'unknown action',
    (s) => (rule(s, 0).then[0] = { put: 'quantity', value: 0 }),
    '$.rules[0].then[0]',
    /unknown action/,
  ],
  [
    'misspelt field in a condition',
    (s) => (rule(s, 0).when.all[0].fact = 'quantiy'),
    '$.rules[0].when.all[0].fact',
    /did you mean "quantity"/,
  ],
  [
    'misspelt action target',
    (s) => (rule(s, 0).then[0].set = 'quantty'),
    '$.rules[0].then[0].set',
    /unknown field "quantty"/,
  ],
  [
    'numeric action on a text field',
    (s) => (rule(s, 1).then[0].percent = 'title'),
    '$.rules[1].then[0].percent',
    /works on numbers/,
  ],
  [
    'a value that does not fit its field',
    (s) => (rule(s, 0).then[0].value = -1),
    '$.rules[0].then[0].value',
    /whole number/,
  ],
  ['changing the sku', (s) => (rule(s, 0).then[0].set = 'sku'), '$.rules[0].then[0].set', /sku/],
  [
    'clamp with min > max',
    (s) => (rule(s, 2).then[0].min = 60),
    '$.rules[2].then[0].min',
    /greater than max/,
  ],
  [
    'clamp without bounds',
    (s) => (rule(s, 2).then[0] = { clamp: 'quantity' }),
    '$.rules[2].then[0]',
    /min, max or both/,
  ],
  [
    'window ending before it starts',
    (s) => (rule(s, 2).window.end = '2026-11-30T23:59:59'),
    '$.rules[2].window.end',
    /before or when it starts/,
  ],
  [
    'window ending when it starts',
    (s) => (rule(s, 2).window.end = '2026-12-01'),
    '$.rules[2].window.end',
    /before or when it starts/,
  ],
  [
    'unknown time zone',
    (s) => (rule(s, 2).window.timezone = 'Europe/Pariss'),
    '$.rules[2].window.timezone',
    /unknown IANA time zone/,
  ],
  [
    'offset in place of a zone',
    (s) => (rule(s, 2).window.timezone = '+01:00'),
    '$.rules[2].window.timezone',
    /unknown IANA time zone/,
  ],
  [
    'date that does not exist',
    (s) => (rule(s, 2).window.start = '2026-02-30T00:00:00'),
    '$.rules[2].window.start',
    /not a real date/,
  ],
  [
    'start with an offset',
    (s) => (rule(s, 2).window.start = '2026-12-01T00:00:00Z'),
    '$.rules[2].window.start',
    /without offset/,
  ],
  [
    'regular expression with a backreference',
    (s) => (rule(s, 2).when.not.value = '^(a+)\\1$'),
    '$.rules[2].when.not.value',
    /backreference or a lookaround/,
  ],
  [
    'regular expression with a lookahead',
    (s) => (rule(s, 2).when.not.value = { pattern: 'size(?=XL)', flags: 'i' }),
    '$.rules[2].when.not.value',
    /backreference or a lookaround/,
  ],
  [
    'regular expression that does not compile',
    (s) => (rule(s, 2).when.not.value = '(unclosed'),
    '$.rules[2].when.not.value',
    /not a valid regular expression/,
  ],
  [
    'stateful regex flag',
    (s) => (rule(s, 2).when.not.value = { pattern: 'a', flags: 'g' }),
    '$.rules[2].when.not.value',
    /flags/,
  ],
  [
    'in with a string in place of a list',
    (s) => (rule(s, 1).when.any[0].value = 'Acme'),
    '$.rules[1].when.any[0].value',
    /needs a list/,
  ],
  [
    'number operator with a string',
    (s) => (rule(s, 0).when.all[0].value = '3'),
    '$.rules[0].when.all[0].value',
    /needs a number/,
  ],
  ['empty any', (s) => (rule(s, 1).when = { any: [] }), '$.rules[1].when.any', /empty "any"/],
  [
    'bare fact condition as the root',
    (s) => (rule(s, 0).when = { fact: 'quantity', operator: 'equal', value: 1 }),
    '$.rules[0].when',
    /"all"/,
  ],
  [
    'missing value',
    (s) => delete rule(s, 0).when.all[0].value,
    '$.rules[0].when.all[0].value',
    /needs a value/,
  ],
  [
    'path outside the supported subset',
    (s) => (rule(s, 0).when.all[0].path = '$..a'),
    '$.rules[0].when.all[0].path',
    /simple JSONPath/,
  ],
  ['duplicate rule ids', (s) => (rule(s, 2).id = 'buffer'), '$.rules[2].id', /duplicate rule id "buffer"/],
  ['rule id with spaces', (s) => (rule(s, 1).id = 'my rule'), '$.rules[1].id', /lowercase letters/],
  [
    'set with value and template',
    (s) => (rule(s, 0).then[0].template = '{{title}}'),
    '$.rules[0].then[0]',
    /exactly one of value, template or from/,
  ],
  [
    'template into a number field',
    (s) => (rule(s, 0).then[0] = { set: 'price', template: '{{x}}' }),
    '$.rules[0].then[0].template',
    /gives text/,
  ],
  ['no actions', (s) => (rule(s, 0).then = []), '$.rules[0].then', /at least one action/],
  [
    'action after an exclude',
    (s) => rule(s, 2).then.push({ set: 'title', value: 'x' }),
    '$.rules[2].then[2]',
    /after an exclude/,
  ],
  ['unknown property', (s) => (rule(s, 0).priority = 3), '$.rules[0].priority', /not a known property/],
  ['missing id', (s) => delete s.id, '$.id', /is required/],
  [
    'too many rules',
    (s) =>
      (s.rules = Array.from({ length: RULE_LIMITS.rules + 1 }, (_, i) => ({ ...rule(s, 0), id: `r${i}` }))),
    '$.rules',
    /more than the limit of 500/,
  ],
  [
    'too many conditions',
    (s) =>
      (rule(s, 0).when.all = Array.from({ length: RULE_LIMITS.conditions }, () => rule(s, 0).when.all[0])),
    '$.rules',
    /more than the limit of 2000/,
  ],
  [
    'nesting too deep',
    (s) => {
      let c: unknown = { fact: 'quantity', operator: 'equal', value: 1 };
      for (let i = 0; i < 11; i++) c = { all: [c] };
      rule(s, 0).when = c;
    },
    '$.rules[0].when.all[0].all[0].all[0].all[0].all[0].all[0].all[0].all[0].all[0].all[0]',
    /nested deeper than 10/,
  ],
];

describe('validateRuleSet', () => {
  it('accepts the base rule set and every example in rules/', () => {
    expect(validateRuleSet(valid())).toEqual([]);
    const dir = path.join(PACKAGE_ROOT, 'rules');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'schema.json');
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const f of files) {
      const value = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as RuleSet;
      expect(validateRuleSet(value, f), f).toEqual([]);
      expect(value.description, f).toBeTruthy();
      for (const r of value.rules) expect(r.description, `${f} ${r.id}`).toBeTruthy();
    }
  });

  it.each(CASES)('%s → %s', (_name, mutate, expectedPath, message) => {
    const s = valid();
    mutate(s);
    const problems = validateRuleSet(s, 'rules/checks.json');
    expect(problems.length, formatProblems(problems)).toBeGreaterThan(0);
    const hit = problems.find((p) => p.path === expectedPath);
    expect(hit, `expected a problem at ${expectedPath}, got:\n${formatProblems(problems)}`).toBeDefined();
    expect(hit?.message).toMatch(message);
    expect(hit?.file).toBe('rules/checks.json');
  });

  it('reports every fault of a rule set at once, one line each', () => {
    const s = valid();
    rule(s, 0).when.all[0].operator = 'lessThanOrEqual';
    delete rule(s, 1).then[0].rounding;
    rule(s, 2).window.timezone = 'Mars/Olympus';
    const text = formatProblems(validateRuleSet(s, 'rules/checks.json'));
    expect(text.split('\n')).toEqual([
      'rules/checks.json: $.rules[1].then[0].rounding: is required: percent needs rounding "down", "up" or "nearest"',
      expect.stringMatching(
        /^rules\/checks\.json: \$\.rules\[0\]\.when\.all\[0\]\.operator: unknown operator/,
      ),
      'rules/checks.json: $.rules[2].window.timezone: unknown IANA time zone "Mars/Olympus" (e.g. "Europe/Paris", "UTC")',
    ]);
  });

  it('accepts attributes by any name, and case or separator variants of canonical names', () => {
    const s = valid();
    rule(s, 0).when.all.push(
      { fact: 'Variant Inventory Tracker', operator: 'isEmpty' },
      { fact: 'Price', operator: 'greaterThan', value: 1 },
      { fact: 'sale-price', operator: 'greaterThan', value: 1 },
      {
        fact: 'dimensions',
        path: '$.width',
        operator: 'lessThan',
        value: { fact: 'dimensions', path: '$.height' },
      },
    );
    rule(s, 0).then.push({ set: 'Custom Label 0', template: '{{ Variant SKU }}-{{brand}}' });
    expect(validateRuleSet(s)).toEqual([]);
  });

  it('refuses what is not an object, and hostile nesting before the schema runs', () => {
    expect(validateRuleSet([])[0]?.path).toBe('$');
    let deep: unknown = {};
    for (let i = 0; i < 10_000; i++) deep = { all: [deep] };
    const problems = validateRuleSet({ id: 'x', rules: [{ id: 'a', when: deep, then: [] }] });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/nesting deeper than 64/);
  });

  it('refuses a faulty rule set as a whole when compiling', () => {
    const s = valid();
    delete rule(s, 1).then[0].rounding;
    expect(() => compileRuleSets([s as unknown as RuleSet])).toThrow(RuleSetInvalidError);
    try {
      compileRuleSets([s as unknown as RuleSet]);
    } catch (err) {
      expect((err as RuleSetInvalidError).problems[0]?.path).toBe('$.rules[1].then[0].rounding');
    }
  });
});

describe('rule set files', () => {
  it('reports a JSON syntax error at $', () => {
    const parsed = parseRuleSet('{ "id": "x",\n  "rules": [ }', 'rules/broken.json');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.problems[0]).toMatchObject({ file: 'rules/broken.json', path: '$' });
      expect(parsed.problems[0]?.message).toMatch(/not valid JSON/);
    }
  });

  it('loads rules/*.json without the schema, in name order, and refuses duplicate ids', async () => {
    const examples = await loadRuleSetFiles(PACKAGE_ROOT);
    expect(examples.problems).toEqual([]);
    expect(examples.ruleSets.map((r) => r.ruleSet.id)).toEqual([
      'brand-pause',
      'buffer-stock',
      'keep-active',
      'min-max-quantity',
      'stock-share',
      'unmanaged-stock',
    ]);

    const dir = mkdtempSync(path.join(os.tmpdir(), 'feedwright-rules-'));
    await mkdir(path.join(dir, 'rules'));
    const body = JSON.stringify({ id: 'same', rules: [] });
    writeFileSync(path.join(dir, 'rules', 'a.json'), body);
    writeFileSync(path.join(dir, 'rules', 'b.json'), body);
    writeFileSync(path.join(dir, 'rules', 'c.json'), '{');
    const loaded = await loadRuleSetFiles(dir);
    expect(loaded.ruleSets.map((r) => r.file)).toEqual([path.join('rules', 'a.json')]);
    expect(loaded.problems.map((p) => [p.file, p.path])).toEqual([
      [path.join('rules', 'b.json'), '$.id'],
      [path.join('rules', 'c.json'), '$'],
    ]);
  });
});
