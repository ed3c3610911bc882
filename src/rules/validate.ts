import type { ActionChecks, ActionDefinition } from './actions/definition.js';
import { actionOf } from './actions/index.js';
import { isFactReference } from './facts.js';
import { canonicalType, fieldTypeName, misspeltCanonical, NOW_FACT, NUMERIC_FIELDS } from './fields.js';
import { HARD_DEPTH_LIMIT, RULE_LIMITS } from './limits.js';
import { operatorProblem } from './operators.js';
import { propertyPath } from './problems.js';
import { schemaProblems } from './schema-errors.js';
import type { Condition, FactCondition, Rule, RuleProblem } from './types.js';
import { isValidTimeZone, parseLocalTime, resolveWindow } from './window.js';

export { formatProblem, formatProblems } from './problems.js';

/**
 * Checks a rule set: first against `rules/schema.json` (ajv), then what a schema cannot say:
 * unknown operators or fields, values that do not fit their operator or field, unsafe or
 * invalid regular expressions, windows, duplicate ids and size limits. Returns every
 * problem found; none means the rule set can be compiled. A rule set with any problem is
 * refused as a whole.
 */
export function validateRuleSet(value: unknown, file?: string): RuleProblem[] {
  const problem = (path: string, message: string): RuleProblem => ({ file, path, message });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [problem('$', 'a rule set must be a JSON object { "id": …, "rules": [ … ] }')];
  }
  const tooDeep = deeperThan(value, HARD_DEPTH_LIMIT);
  if (tooDeep) return [problem(tooDeep, `nesting deeper than ${HARD_DEPTH_LIMIT} levels`)];
  // JSON.parse reads 1e309 as Infinity, which a stored rule set would hold as null (and a
  // condition on null matches nothing): such a number is refused where it is.
  const huge = nonFinite(value);
  if (huge.length > 0) {
    return huge.map((path) => problem(path, 'a number too large to hold (beyond ±1.8e308)'));
  }

  const problems = schemaProblems(value, file);
  const broken = new Set<number>();
  for (const p of problems) {
    const m = /^\$\.rules\[(\d+)\]/.exec(p.path);
    if (m) broken.add(Number(m[1]));
  }
  const rules = (value as { rules?: unknown }).rules;
  if (!Array.isArray(rules)) return problems;

  if (rules.length > RULE_LIMITS.rules) {
    problems.push(problem('$.rules', `${rules.length} rules, more than the limit of ${RULE_LIMITS.rules}`));
  }
  const ids = new Map<string, number>();
  let conditions = 0;
  rules.forEach((rule: unknown, i) => {
    const id = (rule as { id?: unknown } | null)?.id;
    if (typeof id === 'string') {
      const first = ids.get(id);
      if (first === undefined) ids.set(id, i);
      else
        problems.push(problem(`$.rules[${i}].id`, `duplicate rule id "${id}" (also $.rules[${first}].id)`));
    }
    if (broken.has(i)) return;
    const checker = new RuleChecker(rule as Rule, `$.rules[${i}]`, problems, file);
    checker.check();
    conditions += checker.conditions;
  });
  if (conditions > RULE_LIMITS.conditions) {
    problems.push(
      problem('$.rules', `${conditions} conditions, more than the limit of ${RULE_LIMITS.conditions}`),
    );
  }
  return problems;
}

/** Semantic checks of one rule that matched the schema. */
class RuleChecker {
  conditions = 0;

  constructor(
    private readonly rule: Rule,
    private readonly base: string,
    private readonly problems: RuleProblem[],
    private readonly file: string | undefined,
  ) {}

  check(): void {
    this.condition(this.rule.when, `${this.base}.when`, 1);
    this.actions();
    this.window();
  }

  private add(path: string, message: string): void {
    this.problems.push({ file: this.file, path, message });
  }

  private condition(c: Condition, path: string, depth: number): void {
    this.conditions++;
    if (depth > RULE_LIMITS.depth) {
      this.add(path, `conditions nested deeper than ${RULE_LIMITS.depth} levels`);
      return;
    }
    if ('all' in c)
      c.all.forEach((s, i) => {
        this.condition(s, `${path}.all[${i}]`, depth + 1);
      });
    else if ('any' in c) {
      if (c.any.length === 0) {
        this.add(
          `${path}.any`,
          'an empty "any" is true in json-rules-engine, which is rarely what is meant; write { "all": [] } for "always"',
        );
      }
      c.any.forEach((s, i) => {
        this.condition(s, `${path}.any[${i}]`, depth + 1);
      });
    } else if ('not' in c) this.condition(c.not, `${path}.not`, depth + 1);
    else this.factCondition(c, path);
  }

  private factCondition(c: FactCondition, path: string): void {
    this.factName(c.fact, `${path}.fact`);
    const hasValue = Object.hasOwn(c, 'value');
    const ref = hasValue && isFactReference(c.value) ? c.value : undefined;
    if (ref) this.factName(ref.fact, `${path}.value.fact`);
    const value = !hasValue ? undefined : ref ? ({ fact: true } as const) : { literal: c.value };
    const op = operatorProblem(c.operator, value);
    if (op) this.add(op.at === 'operator' ? `${path}.operator` : `${path}.value`, op.message);
    if (Array.isArray(c.value) && c.value.length > RULE_LIMITS.listItems) {
      this.add(
        `${path}.value`,
        `a list of ${c.value.length} items, more than the limit of ${RULE_LIMITS.listItems}`,
      );
    }
  }

  private factName(name: string, path: string): void {
    const close = misspeltCanonical(name);
    if (close) this.add(path, `unknown field "${name}" (did you mean "${close}"?)`);
  }

  private actions(): void {
    const then = this.rule.then;
    if (then.length > RULE_LIMITS.actions) {
      this.add(`${this.base}.then`, `${then.length} actions, more than the limit of ${RULE_LIMITS.actions}`);
    }
    const checks: ActionChecks = {
      add: (path, message) => this.add(path, message),
      target: (name, path) => this.target(name, path),
      numericTarget: (name, path, action) => this.numericTarget(name, path, action),
      factName: (name, path) => this.factName(name, path),
    };
    let previous: ActionDefinition | undefined;
    then.forEach((action, i) => {
      const path = `${this.base}.then[${i}]`;
      if (previous?.final) {
        this.add(path, `comes after an ${previous.name} in the same rule, so it would never apply`);
      }
      const definition = actionOf(action);
      definition?.check?.(action, path, checks);
      previous = definition;
    });
  }

  private target(name: string, path: string): boolean {
    if (name === 'sku') {
      this.add(path, 'sku identifies the product and cannot be changed by a rule');
      return false;
    }
    if (name === NOW_FACT) {
      this.add(path, 'now is the evaluation time and cannot be set');
      return false;
    }
    const close = misspeltCanonical(name);
    if (close) {
      this.add(path, `unknown field "${name}" (did you mean "${close}"?)`);
      return false;
    }
    return true;
  }

  private numericTarget(name: string, path: string, action: string): void {
    if (!this.target(name, path)) return;
    const type = canonicalType(name);
    if (type !== undefined && !NUMERIC_FIELDS.has(name)) {
      this.add(
        path,
        `${action} works on numbers; "${name}" is ${fieldTypeName(type)} (numeric fields: ${[...NUMERIC_FIELDS].join(', ')}, or a numeric source column)`,
      );
    }
  }

  private window(): void {
    const w = this.rule.window;
    if (!w) return;
    const path = `${this.base}.window`;
    let ok = true;
    for (const key of ['start', 'end'] as const) {
      const text = w[key];
      if (text !== undefined && !parseLocalTime(text)) {
        this.add(`${path}.${key}`, `"${text}" is not a real date and time`);
        ok = false;
      }
    }
    if (w.timezone !== undefined && !isValidTimeZone(w.timezone)) {
      this.add(`${path}.timezone`, `unknown IANA time zone "${w.timezone}" (e.g. "Europe/Paris", "UTC")`);
      ok = false;
    }
    if (ok && w.start !== undefined && w.end !== undefined) {
      const resolved = resolveWindow(w);
      if (resolved.end <= resolved.start) {
        this.add(`${path}.end`, `the window ends (${w.end}) before or when it starts (${w.start})`);
      }
    }
  }
}

/** The JSON paths of the numbers that are not finite (a literal such as 1e309, read as Infinity). */
function nonFinite(value: unknown): string[] {
  const found: string[] = [];
  const stack: Array<{ v: unknown; path: string }> = [{ v: value, path: '$' }];
  while (stack.length > 0) {
    const { v, path } = stack.pop() as { v: unknown; path: string };
    if (typeof v === 'number' && !Number.isFinite(v)) found.push(path);
    else if (Array.isArray(v)) for (const [i, x] of v.entries()) stack.push({ v: x, path: `${path}[${i}]` });
    else if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) stack.push({ v: x, path: propertyPath(path, k) });
  }
  return found.sort();
}

// Walks without recursion so that hostile nesting cannot exhaust the stack.
function deeperThan(value: unknown, limit: number): string | undefined {
  const stack: Array<{ v: unknown; depth: number; path: string }> = [{ v: value, depth: 0, path: '$' }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop() as { v: unknown; depth: number; path: string };
    if (v === null || typeof v !== 'object') continue;
    if (depth >= limit) return path;
    if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) stack.push({ v: x, depth: depth + 1, path: `${path}[${i}]` });
    } else
      for (const [k, x] of Object.entries(v))
        stack.push({ v: x, depth: depth + 1, path: propertyPath(path, k) });
  }
  return undefined;
}
