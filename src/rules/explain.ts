import type { FieldValue } from '../model/product.js';
import type { ActionName } from './actions/index.js';
import { keepActive } from './actions/keep-active.js';
import { numericSkipReason } from './actions/numeric.js';
import { fromSkipReason } from './actions/set.js';
import type { Exclusion, PlanAction, PlanTarget } from './actions/steps.js';
import { INACTIVE_EXCLUSION } from './compile.js';
import { resolveFactPath } from './fact-path.js';
import { copyProduct, readFact } from './facts.js';
import type { Plan, PlanFact, PlanNode, PlanRule } from './plan.js';
import { templateText } from './template.js';
import type { Product } from './types.js';
import { isWindowOpen } from './window.js';

/** One condition as evaluated for one product. */
export interface ConditionTrace {
  /** JSON path of the condition inside its rule set. */
  path: string;
  kind: 'all' | 'any' | 'not' | 'fact';
  name?: string;
  result: boolean;
  /** Sub-conditions of all/any, or the one of not. */
  conditions?: ConditionTrace[];
  fact?: string;
  /** The `path` into the fact, when the condition has one. */
  factPath?: string;
  operator?: string;
  /** The fact's value (absent with `factMissing` when the product has no such fact). */
  factValue?: unknown;
  factMissing?: boolean;
  /** The value compared with: the literal, or the other fact's value. */
  value?: unknown;
  /** The other fact, when the value is `{ "fact": … }`. */
  valueFact?: string;
}

/** One action as applied (or skipped) for one product. */
export interface ActionTrace {
  path: string;
  /** The action's key (src/rules/actions/). */
  action: ActionName;
  field?: string;
  before?: FieldValue;
  after?: FieldValue;
  changed: boolean;
  /** Why the action left the product as it was (a value that is not a number…). */
  skipped?: string;
  /** The reason recorded by an exclude. */
  reason?: string;
}

/** What happened with one rule. */
export interface RuleTrace {
  ruleSet: string;
  rule: string;
  description?: string;
  /** JSON path of the rule inside its rule set. */
  path: string;
  window?: {
    start?: string;
    end?: string;
    timezone: string;
    /** The instants the window opens and closes (ISO, UTC). */
    opensAt?: string;
    closesAt?: string;
    open: boolean;
  };
  /** applied: matched and its actions ran; not-reached: an earlier rule excluded the product. */
  status: 'applied' | 'not-matched' | 'window-closed' | 'not-reached';
  matched: boolean;
  /** For a rule that did not match: the fact conditions that made it fail, with their values. */
  failed?: ConditionTrace[];
  /** For a rule that matched: the fact conditions that made it hold. */
  matchedBy?: ConditionTrace[];
  /** The whole condition, evaluated. */
  conditions?: ConditionTrace;
  actions?: ActionTrace[];
}

/** The full trace of one product through a channel's rule sets. */
export interface Explanation {
  sku: string;
  at: string;
  ruleSets: string[];
  rules: RuleTrace[];
  /** The product as the feed gets it. */
  product: Product;
  included: boolean;
  excludedBy?: Exclusion;
  /** One sentence: in the feed, or why not. */
  summary: string;
}

/** The product being worked on by explain (and the reference evaluator): mutable copies. */
export interface TraceState {
  fields: Record<string, FieldValue>;
  attributes: Record<string, FieldValue>;
  now: string;
}

function read(s: TraceState, f: PlanFact): unknown {
  const v = readFact(s.fields, s.attributes, f.name, s.now);
  return f.steps ? resolveFactPath(v, f.steps) : v;
}

function evaluate(node: PlanNode, s: TraceState): ConditionTrace {
  const named = node.kind !== 'fact' && node.name !== undefined ? { name: node.name } : {};
  switch (node.kind) {
    case 'all':
    case 'any': {
      const conditions = node.items.map((c) => evaluate(c, s));
      const result =
        conditions.length === 0 ||
        (node.kind === 'all' ? conditions.every((c) => c.result) : conditions.some((c) => c.result));
      return { path: node.path, kind: node.kind, ...named, result, conditions };
    }
    case 'not': {
      const inner = evaluate(node.item, s);
      return { path: node.path, kind: 'not', ...named, result: !inner.result, conditions: [inner] };
    }
    default: {
      const factValue = read(s, node.fact);
      const value = node.ref ? read(s, node.ref) : node.literal;
      const trace: ConditionTrace = {
        path: node.path,
        kind: 'fact',
        ...(node.source.name !== undefined ? { name: node.source.name } : {}),
        result: node.test(factValue, value),
        fact: node.fact.name,
        operator: node.source.operator,
      };
      if (node.source.path !== undefined) trace.factPath = node.source.path;
      if (factValue === undefined) trace.factMissing = true;
      else trace.factValue = factValue;
      if (node.hasValue) trace.value = value;
      if (node.ref) trace.valueFact = node.ref.name;
      return trace;
    }
  }
}

/** The fact conditions that make `node` come out as `want`. */
function reasons(node: ConditionTrace, want: boolean): ConditionTrace[] {
  const subs = node.conditions ?? [];
  switch (node.kind) {
    case 'fact':
      return node.result === want ? [node] : [];
    case 'not':
      return subs[0] ? reasons(subs[0], !want) : [];
    case 'all': {
      if (want) return subs.flatMap((c) => reasons(c, true));
      const first = subs.find((c) => !c.result);
      return first ? reasons(first, false) : [];
    }
    default: {
      if (!want) return subs.flatMap((c) => reasons(c, false));
      const first = subs.find((c) => c.result);
      return first ? reasons(first, true) : [];
    }
  }
}

function current(s: TraceState, t: PlanTarget): FieldValue | undefined {
  const bag = t.canonical ? s.fields : s.attributes;
  return Object.hasOwn(bag, t.field) ? bag[t.field] : undefined;
}

function write(s: TraceState, t: PlanTarget, n: FieldValue, trace: ActionTrace): void {
  const before = current(s, t);
  if (before !== undefined) trace.before = before;
  trace.after = n;
  trace.changed = before !== n;
  if (trace.changed) (t.canonical ? s.fields : s.attributes)[t.field] = n;
}

/** Applies one action to the state, recording its value before and after. */
export function traceAction(a: PlanAction<ActionName>, s: TraceState): ActionTrace {
  switch (a.kind) {
    case 'set-value': {
      const trace: ActionTrace = { path: a.path, action: a.action, field: a.target.field, changed: false };
      write(s, a.target, a.value, trace);
      return trace;
    }
    case 'set-template': {
      const trace: ActionTrace = { path: a.path, action: a.action, field: a.target.field, changed: false };
      let text = '';
      a.template.texts.forEach((t, i) => {
        text += t;
        const field = a.template.fields[i];
        if (field !== undefined) text += templateText(readFact(s.fields, s.attributes, field, s.now));
      });
      write(s, a.target, text, trace);
      return trace;
    }
    case 'set-from': {
      const trace: ActionTrace = { path: a.path, action: a.action, field: a.target.field, changed: false };
      const source = readFact(s.fields, s.attributes, a.from, s.now);
      const n = a.coerce(source);
      if (n === undefined) {
        const before = current(s, a.target);
        if (before !== undefined) trace.before = before;
        trace.skipped = fromSkipReason(a.target.field, a.from, source);
      } else write(s, a.target, n, trace);
      return trace;
    }
    case 'numeric': {
      const trace: ActionTrace = { path: a.path, action: a.action, field: a.target.field, changed: false };
      const v = current(s, a.target);
      const n = typeof v === 'number' && Number.isFinite(v) ? a.step(v) : undefined;
      if (n === undefined) {
        if (v !== undefined) trace.before = v;
        trace.skipped = numericSkipReason(a.target.field, v);
      } else write(s, a.target, n, trace);
      return trace;
    }
    case 'update': {
      const trace: ActionTrace = { path: a.path, action: a.action, field: a.target.field, changed: false };
      const v = current(s, a.target);
      const n = a.step(v);
      if (n === undefined) {
        if (v !== undefined) trace.before = v;
        trace.skipped = a.skipReason(v);
      } else write(s, a.target, n, trace);
      return trace;
    }
    case 'exclude':
      return { path: a.path, action: a.action, changed: false, reason: a.exclusion.reason };
  }
}

function windowTrace(r: PlanRule, t: number): RuleTrace['window'] {
  if (!r.window || !r.rule.window) return undefined;
  const w = r.rule.window;
  return {
    ...(w.start !== undefined ? { start: w.start, opensAt: new Date(r.window.start).toISOString() } : {}),
    ...(w.end !== undefined ? { end: w.end, closesAt: new Date(r.window.end).toISOString() } : {}),
    timezone: r.window.timezone,
    open: isWindowOpen(r.window, t),
  };
}

/**
 * Runs a plan on one product the slow, talkative way: every rule in order, its window,
 * whether it matched and because of which conditions (with the facts' values), each
 * action's value before and after, and the outcome. Produces the same product and outcome
 * as the compiled evaluator (a property test holds them to it).
 */
export function explainPlan(plan: Plan, product: Product, at: Date): Explanation {
  const t = at.getTime();
  const copy = copyProduct(product);
  const s: TraceState = { fields: copy.fields, attributes: copy.attributes, now: at.toISOString() };
  const rules: RuleTrace[] = [];
  let excludedBy: Exclusion | undefined;
  for (const r of plan.rules) {
    const trace: RuleTrace = {
      ruleSet: r.ruleSet,
      rule: r.rule.id,
      ...(r.rule.description !== undefined ? { description: r.rule.description } : {}),
      path: r.path,
      status: 'not-matched',
      matched: false,
    };
    const window = windowTrace(r, t);
    if (window) trace.window = window;
    rules.push(trace);
    if (excludedBy) {
      trace.status = 'not-reached';
      continue;
    }
    if (window && !window.open) {
      trace.status = 'window-closed';
      continue;
    }
    const conditions = evaluate(r.when, s);
    trace.conditions = conditions;
    trace.matched = conditions.result;
    if (!conditions.result) {
      trace.failed = reasons(conditions, false);
      continue;
    }
    trace.status = 'applied';
    trace.matchedBy = reasons(conditions, true);
    trace.actions = [];
    for (const a of r.actions) {
      trace.actions.push(traceAction(a, s));
      if (a.kind === 'exclude') {
        excludedBy = a.exclusion;
        break;
      }
    }
  }
  if (!excludedBy && s.fields.status === 'inactive') excludedBy = INACTIVE_EXCLUSION;
  const final: Product = { sku: product.sku, fields: s.fields, attributes: s.attributes };
  return {
    sku: product.sku,
    at: s.now,
    ruleSets: plan.ruleSets,
    rules,
    product: final,
    included: excludedBy === undefined,
    ...(excludedBy ? { excludedBy } : {}),
    summary: summarize(excludedBy, rules),
  };
}

function summarize(ex: Exclusion | undefined, rules: RuleTrace[]): string {
  if (ex?.rule)
    return `not in the feed: excluded by rule "${ex.rule}" of rule set "${ex.ruleSet}" (${ex.reason})`;
  if (ex) return `not in the feed: its status is inactive and no ${keepActive.name} rule applied`;
  const kept = rules.find((r) => r.actions?.some((a) => a.action === keepActive.name && a.changed));
  return kept
    ? `in the feed, kept active by rule "${kept.rule}" of rule set "${kept.ruleSet}" although its status is inactive`
    : 'in the feed';
}
