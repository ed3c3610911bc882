import type { Exclusion } from './actions/steps.js';
import { generate } from './codegen.js';
import { resolveFactPath } from './fact-path.js';
import { copyRecord } from './facts.js';
import { passesNumberCheck } from './operators.js';
import type { Plan } from './plan.js';
import { templateText } from './template.js';
import type { ApplyResult, Product } from './types.js';

/** The default exclusion of a product whose status is inactive. */
export const INACTIVE_EXCLUSION: Exclusion = Object.freeze({ ruleSet: null, rule: null, reason: 'inactive' });

/** Counters a preview passes to the instrumented evaluator, one slot per rule. */
export interface RuleCounters {
  /** Products each rule matched (window open and condition true). */
  m: number[];
  /** Products whose values each rule changed. */
  c: number[];
  /** Products each rule excluded. */
  x: number[];
  /** Samples wanted per rule; `sample` is called while a count is below it. */
  n: number;
  sample(rule: number, product: Product): void;
}

/** A compiled plan: the evaluator, and the same with per-rule counters for preview. */
export interface CompiledPlan {
  apply(product: Product, t: number, now: string | undefined): ApplyResult;
  applyCounting(product: Product, t: number, now: string | undefined, counters: RuleCounters): ApplyResult;
  /** The generated source of `apply`, for debugging and tests. */
  source: string;
}

/** Builds the result; a product whose final status is inactive is out of the feed. */
function finish(
  p: Product,
  fields: Product['fields'],
  attributes: Product['attributes'],
  ex: Exclusion | null,
) {
  const product: Product = { sku: p.sku, fields, attributes };
  if (ex !== null) return { product, included: false, excludedBy: ex };
  if (fields.status === 'inactive') return { product, included: false, excludedBy: INACTIVE_EXCLUSION };
  return { product, included: true, excludedBy: undefined };
}

const HELPERS = Object.freeze({
  hasOwn: Object.hasOwn,
  path: resolveFactPath,
  numeric: passesNumberCheck,
  text: templateText,
  copy: copyRecord,
  finish,
});

type Factory = (H: typeof HELPERS, K: unknown[]) => CompiledPlan['applyCounting'];

function instantiate(source: string, constants: unknown[]): CompiledPlan['applyCounting'] {
  // The source is built by codegen.ts, where every value from the rule set enters as a
  // JSON.stringify literal or as an element of `K` (see the note at the top of codegen.ts).
  const factory = new Function('H', 'K', source) as Factory;
  return factory(HELPERS, constants);
}

/** Compiles a plan to plain functions (JavaScript generated once, run for every product). */
export function compilePlan(plan: Plan): CompiledPlan {
  const plain = generate(plan, { stats: false });
  const counting = generate(plan, { stats: true });
  return {
    apply: instantiate(plain.source, plain.constants) as CompiledPlan['apply'],
    applyCounting: instantiate(counting.source, counting.constants),
    source: plain.source,
  };
}
