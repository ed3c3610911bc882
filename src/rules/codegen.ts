import { isCanonicalField } from '../model/fields.js';
import type { PlanAction, PlanTarget } from './actions/steps.js';
import { NOW_FACT } from './fields.js';
import { OPERATORS } from './operators.js';
import type { Plan, PlanFact, PlanLeaf, PlanNode, PlanRule } from './plan.js';
import { compilePattern, readMatchPattern } from './regex.js';

/*
 * JavaScript source generated from a plan, compiled once with `new Function` (compile.ts).
 *
 * Injection safety: no text from a rule set is ever pasted into the source as code. Every
 * string (fact and field names, literal values, template text) enters only as a literal
 * produced by `literal()` — JSON.stringify, which escapes quotes, backslashes and control
 * characters, plus U+2028/U+2029 escaped for good measure — and every other value (lists,
 * objects, patterns, operator tests, action computations, exclusions) enters as an element
 * of a constant array (`K[3]`, bound to `k3`), referenced by a number that this module chose. Numbers in
 * the source are window instants and indices computed here. Names of generated variables
 * are fixed. So a fact named `"); process.exit(1); ("` is just the string key it spells.
 */

/** The generated source and the constants it refers to by index. */
export interface GeneratedCode {
  source: string;
  constants: unknown[];
}

/** A JS literal for a JSON primitive: the only way values enter generated source. */
export function literal(v: string | number | boolean | null): string {
  if (typeof v === 'number' && !Number.isFinite(v)) throw new Error('non-finite number in generated code');
  return (JSON.stringify(v) as string).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function isPrimitive(v: unknown): v is string | number | boolean | null {
  return (
    v === null ||
    typeof v === 'string' ||
    typeof v === 'boolean' ||
    (typeof v === 'number' && Number.isFinite(v))
  );
}

const NUMERIC_OPS: Record<string, string> = {
  lessThan: '<',
  lessThanInclusive: '<=',
  greaterThan: '>',
  greaterThanInclusive: '>=',
};

// Up to this many items an `in` list is a chain of ===; beyond, a Set (same result: lists
// hold JSON primitives, where SameValueZero and === agree).
const INLINE_LIST = 8;

class Generator {
  readonly constants: unknown[] = [];

  constructor(private readonly stats: boolean) {}

  constant(v: unknown): string {
    this.constants.push(v);
    return `k${this.constants.length - 1}`;
  }

  value(v: unknown): string {
    return isPrimitive(v) ? literal(v) : this.constant(v);
  }

  fact(f: PlanFact): string {
    const read =
      f.name === NOW_FACT
        ? 'NOW'
        : isCanonicalField(f.name)
          ? `F[${literal(f.name)}]`
          : `(hasOwn(A, ${literal(f.name)}) ? A[${literal(f.name)}] : undefined)`;
    return f.steps ? `path(${read}, ${this.constant(f.steps)})` : read;
  }

  condition(node: PlanNode): string {
    switch (node.kind) {
      case 'all':
        return node.items.length === 0
          ? 'true'
          : `(${node.items.map((c) => this.condition(c)).join(' && ')})`;
      case 'any':
        // json-rules-engine: an empty any is true (rule.js prioritizeAndRun).
        return node.items.length === 0
          ? 'true'
          : `(${node.items.map((c) => this.condition(c)).join(' || ')})`;
      case 'not':
        return `!${this.condition(node.item)}`;
      default:
        return this.leaf(node);
    }
  }

  // Each inlined form below computes exactly what OPERATORS[…].test computes; anything
  // else calls that test. A temporary `v` holds the fact; leaves never interleave, so one
  // temporary per condition function is enough.
  leaf(c: PlanLeaf): string {
    const fact = this.fact(c.fact);
    const base = c.operator.base;
    if (c.operator.decorators.length > 0 || c.ref) {
      const value = c.ref ? this.fact(c.ref) : c.hasValue ? this.value(c.literal) : 'undefined';
      return `${this.constant(c.test)}(${fact}, ${value})`;
    }
    const lit = c.literal;
    if ((base === 'equal' || base === 'notEqual') && isPrimitive(lit)) {
      return `(${fact} ${base === 'equal' ? '===' : '!=='} ${literal(lit)})`;
    }
    const cmp = NUMERIC_OPS[base];
    if (cmp && typeof lit === 'number' && Number.isFinite(lit)) {
      const n = literal(lit);
      return `((v = ${fact}), typeof v === 'number' ? v ${cmp} ${n} : (numeric(v) && v ${cmp} ${n}))`;
    }
    if ((base === 'in' || base === 'notIn') && Array.isArray(lit) && lit.every(isPrimitive)) {
      const found =
        lit.length === 0
          ? 'false'
          : lit.length <= INLINE_LIST
            ? `((v = ${fact}), ${lit.map((x) => `v === ${literal(x)}`).join(' || ')})`
            : `${this.constant(new Set(lit))}.has(${fact})`;
      return base === 'in' ? found : `!${found}`;
    }
    if ((base === 'startsWith' || base === 'endsWith') && typeof lit === 'string') {
      return `((v = ${fact}), typeof v === 'string' && v.${base}(${literal(lit)}))`;
    }
    if (base === 'isEmpty' || base === 'isNotEmpty') {
      const empty = `((v = ${fact}), v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0))`;
      return base === 'isEmpty' ? empty : `!${empty}`;
    }
    if (base === 'matches') {
      const pattern = readMatchPattern(lit);
      if (pattern)
        return `((v = ${fact}), typeof v === 'string' && ${this.constant(compilePattern(pattern))}.test(v))`;
    }
    if (!Object.hasOwn(OPERATORS, base)) throw new Error(`unknown operator "${base}"`);
    return `${this.constant(c.test)}(${fact}, ${c.hasValue ? this.value(lit) : 'undefined'})`;
  }

  // Writes only when the value changes, copying the product's fields or attributes the
  // first time (copy on write: a product no rule changes is never copied).
  write(t: PlanTarget, value: string): string {
    const key = literal(t.field);
    const current = t.canonical ? `F[${key}]` : `(hasOwn(A, ${key}) ? A[${key}] : undefined)`;
    const store = t.canonical
      ? `if (!fw) { F = copy(F); fw = true; } F[${key}] = n;`
      : `if (!aw) { A = copy(A); aw = true; } A[${key}] = n;`;
    return `n = ${value}; if (${current} !== n) { ${this.stats ? 'c = true; ' : ''}${store} }`;
  }

  action(a: PlanAction, rule: PlanRule): string {
    switch (a.kind) {
      case 'set-value':
        return this.write(a.target, this.value(a.value));
      case 'set-template': {
        const parts: string[] = [];
        a.template.texts.forEach((text, i) => {
          if (text !== '') parts.push(literal(text));
          const field = a.template.fields[i];
          if (field !== undefined) parts.push(`text(${this.fact({ name: field, steps: undefined })})`);
        });
        return this.write(a.target, parts.length === 0 ? '""' : `"" + ${parts.join(' + ')}`);
      }
      case 'set-from': {
        const coerce = this.constant(a.coerce);
        return `w = ${coerce}(${this.fact({ name: a.from, steps: undefined })}); if (w !== undefined) { ${this.write(a.target, 'w')} }`;
      }
      case 'numeric': {
        const step = this.constant(a.step);
        const read = this.fact({ name: a.target.field, steps: undefined });
        return `v = ${read}; if (typeof v === 'number' && v - v === 0) { w = ${step}(v); if (w !== undefined) { ${this.write(a.target, 'w')} } }`;
      }
      case 'exclude': {
        const stats = this.stats
          ? `if (c && S.c[${rule.index}]++ < S.n) S.sample(${rule.index}, p); if (S.x[${rule.index}]++ < S.n) S.sample(${rule.index}, p); `
          : '';
        return `${stats}ex = ${this.constant(a.exclusion)}; break main;`;
      }
      case 'update': {
        const step = this.constant(a.step);
        const read = this.fact({ name: a.target.field, steps: undefined });
        return `w = ${step}(${read}); if (w !== undefined) { ${this.write(a.target, 'w')} }`;
      }
    }
  }

  rule(r: PlanRule): { fn: string; body: string } {
    // Each rule's condition is its own small function, which V8 optimises and inlines
    // better than one large body.
    const cond = `c${r.index}`;
    const fn = `const ${cond} = function (F, A, NOW) { var v; return ${this.condition(r.when)}; };`;
    const guards: string[] = [];
    if (r.window) {
      if (Number.isFinite(r.window.start)) guards.push(`t >= ${literal(r.window.start)}`);
      if (Number.isFinite(r.window.end)) guards.push(`t < ${literal(r.window.end)}`);
      if (guards.length === 0) guards.push('t === t');
    }
    guards.push(`${cond}(F, A, NOW)`);
    const lines = [`if (${guards.join(' && ')}) {`];
    if (this.stats) lines.push(`  S.m[${r.index}]++; c = false;`);
    for (const a of r.actions) lines.push(`  ${this.action(a, r)}`);
    if (this.stats) lines.push(`  if (c && S.c[${r.index}]++ < S.n) S.sample(${r.index}, p);`);
    lines.push('}');
    return { fn, body: lines.join('\n') };
  }
}

/**
 * Generates the evaluator of a plan: `(p, t, NOW[, S]) => ApplyResult`, where `t` is the
 * evaluation instant (epoch ms) and `NOW` its ISO string. With `stats`, the function also
 * counts, per rule, the products matched, changed and excluded into `S` (for preview).
 */
export function generate(plan: Plan, options: { stats: boolean }): GeneratedCode {
  const g = new Generator(options.stats);
  const conditionFns: string[] = [];
  const bodies: string[] = [];
  for (const r of plan.rules) {
    const { fn, body } = g.rule(r);
    conditionFns.push(fn);
    bodies.push(body);
  }
  const source = [
    '"use strict";',
    'const hasOwn = H.hasOwn, path = H.path, numeric = H.numeric, text = H.text, copy = H.copy, finish = H.finish;',
    // Constants as their own bindings (k0, k1…), which V8 treats as fixed, not array reads.
    ...g.constants.map((_, i) => `const k${i} = K[${i}];`),
    ...conditionFns,
    `return function apply(p, t, NOW${options.stats ? ', S' : ''}) {`,
    `  var F = p.fields, A = p.attributes, fw = false, aw = false, ex = null, v, w, n${options.stats ? ', c' : ''};`,
    '  main: {',
    ...bodies.map((b) => b.replace(/^/gm, '    ')),
    '  }',
    '  return finish(p, F, A, ex);',
    '};',
  ].join('\n');
  return { source, constants: g.constants };
}
