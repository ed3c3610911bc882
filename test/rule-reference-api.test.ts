import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { DECORATORS, OPERATORS } from '../src/rules/operators.js';
import { validateRuleSet } from '../src/rules/validate.js';
import { openTestStore, type TestStore } from './helpers/store.js';

const KEY = 'rule-reference-key';
const auth = { authorization: `Bearer ${KEY}` };

const rule = (id: string, threshold: number) => ({
  id,
  when: { all: [{ fact: 'quantity', operator: 'lessThanInclusive', value: threshold }] },
  then: [{ set: 'quantity', value: 0 }],
});

interface Vocabulary {
  operators: Array<{ name: string; origin: string; value: string; description: string }>;
  decorators: Array<{ name: string; description: string }>;
  actions: Array<{
    name: string;
    description: string;
    properties: Array<{ name: string; required: boolean; description: string }>;
    example: Record<string, unknown>;
  }>;
  facts: Array<{ name: string; type: string; numeric: boolean }>;
  limits: Record<string, number>;
}

describe('rule editor routes', () => {
  let t: TestStore;
  let app: FastifyInstance;

  beforeAll(async () => {
    t = await openTestStore();
    app = await buildApp({
      store: t.store,
      apiKey: KEY,
      maxUploadBytes: 1 << 20,
      dataDir: mkdtempSync(path.join(tmpdir(), 'feedwright-rule-ref-')),
    });
  });
  afterAll(async () => {
    await app.close();
    await t.cleanup();
  });

  const put = (body: unknown) =>
    app.inject({ method: 'PUT', url: '/api/rules/stock', headers: auth, payload: body as object });
  const diff = (version: number, query = '') =>
    app.inject({ method: 'GET', url: `/api/rules/stock/versions/${version}/diff${query}`, headers: auth });

  it('lists every operator, decorator and action the engine knows, each described', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/rule-engine', headers: auth });
    expect(res.statusCode).toBe(200);
    const v = res.json<Vocabulary>();
    expect(v.operators.map((o) => o.name).sort()).toEqual(Object.keys(OPERATORS).sort());
    expect(v.decorators.map((d) => d.name).sort()).toEqual(Object.keys(DECORATORS).sort());
    for (const item of [...v.operators, ...v.decorators, ...v.actions]) {
      expect(item.description, item.name).not.toBe('');
    }
    expect(v.operators.find((o) => o.name === 'matches')).toMatchObject({
      origin: 'feedwright',
      value: 'pattern',
    });
    expect(v.operators.find((o) => o.name === 'in')).toMatchObject({
      origin: 'json-rules-engine',
      value: 'list',
    });
    expect(v.actions.map((a) => a.name)).toEqual([
      'set',
      'percent',
      'clamp',
      'add',
      'multiply',
      'exclude',
      'keepActive',
    ]);
    const percent = v.actions.find((a) => a.name === 'percent');
    expect(percent?.properties.find((p) => p.name === 'rounding')).toMatchObject({ required: true });
    expect(percent?.properties.find((p) => p.name === 'decimals')).toMatchObject({ required: false });
    // Every example is an action the validator accepts.
    const problems = validateRuleSet({
      id: 'examples',
      rules: [
        {
          id: 'all-actions',
          when: { all: [] },
          then: v.actions.filter((a) => a.name !== 'exclude').map((a) => a.example),
        },
      ],
    });
    expect(problems).toEqual([]);
    expect(v.facts.find((f) => f.name === 'quantity')).toEqual({
      name: 'quantity',
      type: 'integer',
      numeric: true,
    });
    expect(v.facts.find((f) => f.name === 'now')).toMatchObject({ type: 'time' });
    expect(v.limits.rules).toBeGreaterThan(0);
  });

  it('needs the API key', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/rule-engine' });
    expect(res.statusCode).toBe(401);
  });

  it('tells what each version changed, rule by rule, against the one before or any other', async () => {
    expect((await put({ id: 'stock', rules: [rule('low', 3)] })).statusCode).toBe(201);
    expect(
      (await put({ id: 'stock', description: 'Buffer', rules: [rule('low', 5), rule('cap', 100)] }))
        .statusCode,
    ).toBe(200);
    expect((await put({ id: 'stock', description: 'Buffer', rules: [rule('cap', 100)] })).statusCode).toBe(
      200,
    );

    const first = await diff(1);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({
      ruleSet: 'stock',
      version: 1,
      against: null,
      diff: { added: ['low'] },
    });

    const second = (await diff(2)).json();
    expect(second.against).toBe(1);
    expect(second.diff.added).toEqual(['cap']);
    expect(second.diff.removed).toEqual([]);
    expect(second.diff.changed).toEqual([{ rule: 'low', before: rule('low', 3), after: rule('low', 5) }]);
    expect(second.diff.properties).toEqual({ description: { before: null, after: 'Buffer' } });

    expect((await diff(3)).json().diff).toMatchObject({ added: [], removed: ['low'], changed: [] });
    const across = (await diff(3, '?against=1')).json();
    expect(across).toMatchObject({ against: 1, diff: { added: ['cap'], removed: ['low'] } });
  });

  it('answers 404 for a version or rule set that does not exist, 400 for a bad version', async () => {
    const missing = await diff(9);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toMatchObject({
      code: 'RULE_SET_NOT_FOUND',
      message: expect.stringContaining('version 9'),
    });
    expect((await diff(2, '?against=7')).statusCode).toBe(404);
    const noSet = await app.inject({
      method: 'GET',
      url: '/api/rules/nothing/versions/1/diff',
      headers: auth,
    });
    expect(noSet.statusCode).toBe(404);
    expect((await diff(0)).statusCode).toBe(400);
  });
});
