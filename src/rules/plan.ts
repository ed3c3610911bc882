import { isCanonicalField } from '../model/fields.js';
import { type ActionName, actionOf } from './actions/index.js';
import type { PlanAction, PlanTarget } from './actions/steps.js';
import { parseFactPath } from './fact-path.js';
import { isFactReference } from './facts.js';
import { type OperatorTest, operatorTest, type ParsedOperator, parseOperator } from './operators.js';
import type { Condition, FactCondition, Rule, RuleSet } from './types.js';
import { type ResolvedWindow, resolveWindow } from './window.js';

/*
 * The plan: rule sets turned once into a form both the code generator and explain walk,
 * with everything that can be decided before seeing a product decided (operators resolved
 * and decorated, patterns compiled, paths split, windows resolved to instants, action
 * computations built). Keeping one plan for both is what makes explain tell the truth
 * about what the compiled evaluator did.
 */

/** A fact read: its name and, for an object fact, the path steps into it. */
export interface PlanFact {
  name: string;
  steps: string[] | undefined;
}

/** A fact condition, ready to evaluate. */
export interface PlanLeaf {
  kind: 'fact';
  /** JSON path of the condition inside its rule set. */
  path: string;
  source: FactCondition;
  fact: PlanFact;
  operator: ParsedOperator;
  /** A literal value (`hasValue` false when the condition has none, as isEmpty allows). */
  hasValue: boolean;
  literal: unknown;
  /** `{ "fact": … }` in place of a literal. */
  ref: PlanFact | undefined;
  test: OperatorTest;
}

/** all / any / not. */
export type PlanNode =
  | PlanLeaf
  | { kind: 'all' | 'any'; path: string; name: string | undefined; items: PlanNode[] }
  | { kind: 'not'; path: string; name: string | undefined; item: PlanNode };

/** One rule in channel order. */
export interface PlanRule {
  /** Position among all rules of all rule sets. */
  index: number;
  ruleSet: string;
  rule: Rule;
  /** JSON path of the rule inside its rule set. */
  path: string;
  window: ResolvedWindow | undefined;
  when: PlanNode;
  actions: PlanAction<ActionName>[];
}

/** The plan of rule sets applied in order. */
export interface Plan {
  ruleSets: string[];
  rules: PlanRule[];
  /** Whether any condition or template reads `now` (so it is computed only when needed). */
  usesNow: boolean;
}

/** Builds the plan of validated rule sets, in the order a channel applies them. */
export function buildPlan(ruleSets: readonly RuleSet[]): Plan {
  const plan: Plan = { ruleSets: ruleSets.map((s) => s.id), rules: [], usesNow: false };
  const noteFact = (name: string) => {
    if (name === 'now') plan.usesNow = true;
  };
  for (const set of ruleSets) {
    set.rules.forEach((rule, i) => {
      const path = `$.rules[${i}]`;
      plan.rules.push({
        index: plan.rules.length,
        ruleSet: set.id,
        rule,
        path,
        window: rule.window ? resolveWindow(rule.window) : undefined,
        when: planCondition(rule.when, `${path}.when`, noteFact),
        actions: rule.then.map((a, j) => planAction(set.id, rule, a, `${path}.then[${j}]`, noteFact)),
      });
    });
  }
  return plan;
}

function planFact(name: string, path: string | undefined): PlanFact {
  const steps = path === undefined ? undefined : parseFactPath(path);
  if (path !== undefined && !steps) throw new Error(`unsupported path "${path}"`);
  return { name, steps };
}

/** Plans one condition (exported for tests that compile bare conditions). */
export function planCondition(
  c: Condition,
  path: string,
  noteFact: (name: string) => void = () => {},
): PlanNode {
  if ('all' in c) {
    return {
      kind: 'all',
      path,
      name: c.name,
      items: c.all.map((s, i) => planCondition(s, `${path}.all[${i}]`, noteFact)),
    };
  }
  if ('any' in c) {
    return {
      kind: 'any',
      path,
      name: c.name,
      items: c.any.map((s, i) => planCondition(s, `${path}.any[${i}]`, noteFact)),
    };
  }
  if ('not' in c)
    return { kind: 'not', path, name: c.name, item: planCondition(c.not, `${path}.not`, noteFact) };
  const operator = parseOperator(c.operator);
  if (!operator) throw new Error(`unknown operator "${c.operator}"`);
  const hasValue = Object.hasOwn(c, 'value');
  const ref = hasValue && isFactReference(c.value) ? planFact(c.value.fact, c.value.path) : undefined;
  noteFact(c.fact);
  if (ref) noteFact(ref.name);
  return {
    kind: 'fact',
    path,
    source: c,
    fact: planFact(c.fact, c.path),
    operator,
    hasValue,
    // json-rules-engine compares against a clone of the rule's conditions (RuleResult), so a
    // literal array or object is never === to a fact value; a copy keeps that true here.
    literal: ref ? undefined : structuredClone(c.value),
    ref,
    test: operatorTest(c.operator, ref ? undefined : c.value),
  };
}

function target(field: string): PlanTarget {
  return { field, canonical: isCanonicalField(field) };
}

function planAction(
  ruleSet: string,
  rule: Rule,
  a: Rule['then'][number],
  path: string,
  noteFact: (name: string) => void,
): PlanAction<ActionName> {
  const definition = actionOf(a);
  if (!definition) throw new Error(`unknown action at ${path}`);
  return definition.plan(a, { ruleSet, rule, path, target, noteFact });
}
