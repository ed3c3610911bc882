import { Engine, type TopLevelCondition } from 'json-rules-engine';
import type { Exclusion } from '../src/rules/actions/steps.js';
import { INACTIVE_EXCLUSION } from '../src/rules/compile.js';
import { type TraceState, traceAction } from '../src/rules/explain.js';
import { copyProduct, factsOf } from '../src/rules/facts.js';
import { ADDED_OPERATORS, OPERATORS } from '../src/rules/operators.js';
import { buildPlan } from '../src/rules/plan.js';
import { type CompiledPattern, compilePattern, readMatchPattern } from '../src/rules/regex.js';
import type { ApplyResult, Condition, Product, RuleSet } from '../src/rules/types.js';
import type { ResolvedWindow } from '../src/rules/window.js';

/*
 * json-rules-engine itself, set up to evaluate feedwright rule sets: the yardstick of the
 * differential property test and of the benchmark. Slow (promises, an almanac per run) and
 * not used to build feeds.
 */

/** A json-rules-engine Engine with feedwright's added operators, undefined facts allowed. */
export function referenceEngine(): Engine {
  const engine = new Engine([], { allowUndefinedFacts: true });
  for (const name of ADDED_OPERATORS) {
    if (name === 'matches') continue;
    const test = OPERATORS[name]?.test as (a: unknown, b: unknown) => boolean;
    engine.addOperator(name, test);
  }
  const patterns = new Map<string, CompiledPattern>();
  engine.addOperator('matches', (a: unknown, b: unknown) => {
    const p = readMatchPattern(b);
    if (!p || typeof a !== 'string') return false;
    const key = `${p.flags}/${p.pattern}`;
    let re = patterns.get(key);
    if (!re) {
      re = compilePattern(p);
      patterns.set(key, re);
    }
    return re.test(a);
  });
  return engine;
}

/**
 * A condition as json-rules-engine takes it: the same JSON, with `value: null` added where
 * feedwright lets isEmpty/isNotEmpty leave it out (json-rules-engine requires the key).
 */
export function toEngineCondition(c: Condition): TopLevelCondition {
  const convert = (x: Condition): unknown => {
    if ('all' in x) return { ...x, all: x.all.map(convert) };
    if ('any' in x) return { ...x, any: x.any.map(convert) };
    if ('not' in x) return { ...x, not: convert(x.not) };
    return Object.hasOwn(x, 'value') ? { ...x } : { ...x, value: null };
  };
  return convert(c) as TopLevelCondition;
}

/**
 * What json-rules-engine's `Engine.run` says of one root condition on these facts: true
 * (the rule succeeded), false, or 'error' when it rejected (e.g. `in` with a list that is
 * neither an array nor a string, where feedwright's condition is false).
 */
export async function engineVerdict(
  condition: Condition,
  facts: Record<string, unknown>,
): Promise<boolean | 'error'> {
  const engine = referenceEngine();
  engine.addRule({ conditions: toEngineCondition(condition), event: { type: 'match' } });
  try {
    const { results } = await engine.run(facts);
    return results.length === 1;
  } catch {
    return 'error';
  }
}

// Not a name a source column can have: the cleaner strips NUL from cells and headers.
const NOW_MS = '\u0000feedwright-now-ms';

function windowed(c: TopLevelCondition, w: ResolvedWindow | undefined): TopLevelCondition {
  if (!w) return c;
  const bounds: unknown[] = [];
  if (Number.isFinite(w.start))
    bounds.push({ fact: NOW_MS, operator: 'greaterThanInclusive', value: w.start });
  if (Number.isFinite(w.end)) bounds.push({ fact: NOW_MS, operator: 'lessThan', value: w.end });
  return { all: [...bounds, c] } as TopLevelCondition;
}

/** Rule sets applied with one `Engine.run` per product, as json-rules-engine would do it. */
export interface ReferenceEvaluator {
  /** Same contract as Evaluator.apply; one call at a time (the engine holds the run's state). */
  apply(product: Product, at: Date): Promise<ApplyResult>;
}

/**
 * Rule sets evaluated by json-rules-engine: one Engine whose rules have decreasing
 * priorities, so it runs them one after the other; a rule's success handler applies its
 * actions (feedwright's action semantics) and puts the changed fields back into the
 * almanac, so the next rule sees them (sequential); an exclude stops the engine. A window
 * becomes two conditions on the evaluation instant.
 */
export function createReferenceEvaluator(ruleSets: readonly RuleSet[]): ReferenceEvaluator {
  const plan = buildPlan(ruleSets);
  const engine = referenceEngine();
  let state: TraceState & { excluded: Exclusion | undefined };
  const count = plan.rules.length;
  for (const r of plan.rules) {
    engine.addRule({
      name: `${r.ruleSet}/${r.rule.id}`,
      priority: count - r.index,
      conditions: windowed(toEngineCondition(r.rule.when), r.window),
      event: { type: 'rule', params: { index: r.index } },
      onSuccess: (_event, almanac) => {
        for (const a of r.actions) {
          if (a.kind === 'exclude') {
            state.excluded = a.exclusion;
            engine.stop();
            return;
          }
          const trace = traceAction(a, state);
          if (trace.changed && trace.field !== undefined && trace.after !== undefined) {
            almanac.addFact(trace.field, trace.after);
          }
        }
      },
    });
  }
  return {
    async apply(product, at) {
      const copy = copyProduct(product);
      const now = at.toISOString();
      state = { fields: copy.fields, attributes: copy.attributes, now, excluded: undefined };
      const facts = factsOf(copy.fields, copy.attributes, now);
      facts[NOW_MS] = at.getTime();
      await engine.run(facts);
      const excludedBy =
        state.excluded ?? (state.fields.status === 'inactive' ? INACTIVE_EXCLUSION : undefined);
      return {
        product: { sku: product.sku, fields: state.fields, attributes: state.attributes },
        included: excludedBy === undefined,
        excludedBy,
      };
    },
  };
}
