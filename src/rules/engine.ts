import { type CompiledPlan, compilePlan } from './compile.js';
import { RuleSetInvalidError } from './errors.js';
import { type Explanation, explainPlan } from './explain.js';
import { buildPlan, type Plan } from './plan.js';
import { type PreviewOptions, type PreviewResult, previewPlan } from './preview.js';
import type { ApplyResult, Product, RuleProblem, RuleSet } from './types.js';
import { validateRuleSet } from './validate.js';
import { nextWindowBoundary, type ResolvedWindow } from './window.js';

/** Rule sets compiled for one channel, applied in the order given. */
export interface Evaluator {
  /** The ids of the rule sets, in order. */
  readonly ruleSets: readonly string[];
  /**
   * The hot path: the product after every rule, and whether it is in the feed (and if not,
   * why). No trace is built; a product no rule changes is not copied, so the result may
   * share its `fields` or `attributes` with the input: treat both as immutable.
   */
  apply(product: Product, at: Date): ApplyResult;
  /** Every rule's window, conditions and actions for one product, and the outcome. */
  explain(product: Product, at: Date): Explanation;
  /** Counts per rule over a stream of products, with a few samples; changes nothing. */
  preview(
    products: AsyncIterable<Product> | Iterable<Product>,
    at: Date,
    options?: PreviewOptions,
  ): Promise<PreviewResult>;
  /** The next instant after `at` when a window opens or closes (rebuild the feed then), or null. */
  nextBoundary(at: Date): Date | null;
  /** The generated JavaScript of `apply`, for debugging. */
  readonly source: string;
}

/** Options of `compileRuleSets`. */
export interface CompileOptions {
  /** Skip validation for rule sets known to be valid (already validated when stored). Default false. */
  trusted?: boolean;
}

/**
 * Compiles rule sets (in channel order) to an evaluator. Each rule set is validated first
 * unless `trusted`; any problem throws RuleSetInvalidError with all of them.
 */
export function compileRuleSets(ruleSets: readonly RuleSet[], options: CompileOptions = {}): Evaluator {
  if (!options.trusted) {
    const problems: RuleProblem[] = ruleSets.flatMap((s) =>
      validateRuleSet(s, typeof s?.id === 'string' ? `rule set ${s.id}` : undefined),
    );
    if (problems.length > 0) throw new RuleSetInvalidError(problems);
  }
  const plan = buildPlan(ruleSets);
  return evaluatorOf(plan, compilePlan(plan));
}

function evaluatorOf(plan: Plan, compiled: CompiledPlan): Evaluator {
  const windows = plan.rules.flatMap((r) => (r.window ? [r.window] : [])) as ResolvedWindow[];
  let lastT = Number.NaN;
  let lastNow: string | undefined;
  const instant = (at: Date): number => {
    const t = at.getTime();
    if (Number.isNaN(t)) throw new RangeError('the evaluation time is not a valid date');
    return t;
  };
  return {
    ruleSets: plan.ruleSets,
    source: compiled.source,
    apply(product, at) {
      const t = instant(at);
      if (plan.usesNow && t !== lastT) {
        lastT = t;
        lastNow = at.toISOString();
      }
      return compiled.apply(product, t, plan.usesNow ? lastNow : undefined);
    },
    explain(product, at) {
      instant(at);
      return explainPlan(plan, product, at);
    },
    preview(products, at, options) {
      instant(at);
      return previewPlan(plan, compiled, products, at, options);
    },
    nextBoundary(at) {
      return nextWindowBoundary(windows, instant(at));
    },
  };
}
