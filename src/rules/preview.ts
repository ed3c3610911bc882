import type { FieldValue } from '../model/product.js';
import type { CompiledPlan, RuleCounters } from './compile.js';
import { explainPlan } from './explain.js';
import type { Plan } from './plan.js';
import type { Product } from './types.js';
import { isWindowOpen } from './window.js';

/** How many sample products a preview keeps per rule (default 3). */
export interface PreviewOptions {
  samples?: number;
}

/** One product a rule changed or excluded: the fields it touched, before and after that rule. */
export interface PreviewSample {
  sku: string;
  before: Record<string, FieldValue | null>;
  after: Record<string, FieldValue | null>;
  /** The recorded reason, when the rule excluded the product. */
  excluded?: string;
}

/** What one rule did over the catalog. */
export interface PreviewRuleStats {
  ruleSet: string;
  rule: string;
  description?: string;
  /** Whether the rule's window is open at the preview's instant; null for a rule without window. */
  windowOpen: boolean | null;
  /** Products the rule matched (window open and condition true). */
  matched: number;
  /** Products whose values the rule changed. */
  changed: number;
  /** Products the rule excluded. */
  excluded: number;
  samples: PreviewSample[];
}

/** A dry run of rule sets over a catalog at one instant. */
export interface PreviewResult {
  at: string;
  ruleSets: string[];
  totals: {
    products: number;
    /** In the feed after the rules. */
    included: number;
    /** Out of the feed: by an exclude rule, or inactive. */
    excluded: number;
    excludedByRules: number;
    excludedInactive: number;
    /** Products at least one rule changed. */
    changed: number;
  };
  rules: PreviewRuleStats[];
}

/**
 * Runs compiled rule sets over products one at a time (an async iterable, e.g. the store's
 * cursor) and counts, per rule, what it matched, changed and excluded, keeping a few samples
 * (taken with explain, only while a rule still needs them). Holds no product after its turn,
 * so memory does not grow with the catalog. Changes nothing.
 */
export async function previewPlan(
  plan: Plan,
  compiled: CompiledPlan,
  products: AsyncIterable<Product> | Iterable<Product>,
  at: Date,
  options: PreviewOptions = {},
): Promise<PreviewResult> {
  const t = at.getTime();
  const now = at.toISOString();
  const wanted = Math.max(0, Math.floor(options.samples ?? 3));
  const n = plan.rules.length;
  const stats: PreviewRuleStats[] = plan.rules.map((r) => ({
    ruleSet: r.ruleSet,
    rule: r.rule.id,
    ...(r.rule.description !== undefined ? { description: r.rule.description } : {}),
    windowOpen: r.window ? isWindowOpen(r.window, t) : null,
    matched: 0,
    changed: 0,
    excluded: 0,
    samples: [],
  }));
  const counters: RuleCounters = {
    m: new Array(n).fill(0),
    c: new Array(n).fill(0),
    x: new Array(n).fill(0),
    n: wanted,
    sample(rule, product) {
      const samples = (stats[rule] as PreviewRuleStats).samples;
      if (samples.length >= 2 * wanted || samples.at(-1)?.sku === product.sku) return;
      samples.push(sampleOf(plan, product, at, rule));
    },
  };
  const totals = {
    products: 0,
    included: 0,
    excluded: 0,
    excludedByRules: 0,
    excludedInactive: 0,
    changed: 0,
  };
  for await (const product of products) {
    const result = compiled.applyCounting(product, t, now, counters);
    totals.products++;
    if (result.included) totals.included++;
    else {
      totals.excluded++;
      if (result.excludedBy?.rule) totals.excludedByRules++;
      else totals.excludedInactive++;
    }
    if (result.product.fields !== product.fields || result.product.attributes !== product.attributes)
      totals.changed++;
  }
  stats.forEach((s, i) => {
    s.matched = counters.m[i] as number;
    s.changed = counters.c[i] as number;
    s.excluded = counters.x[i] as number;
  });
  return { at: now, ruleSets: plan.ruleSets, totals, rules: stats };
}

function sampleOf(plan: Plan, product: Product, at: Date, rule: number): PreviewSample {
  const trace = explainPlan(plan, product, at).rules[rule];
  const sample: PreviewSample = { sku: product.sku, before: {}, after: {} };
  for (const a of trace?.actions ?? []) {
    if (a.action === 'exclude') sample.excluded = a.reason ?? '';
    if (!a.changed || a.field === undefined) continue;
    if (!Object.hasOwn(sample.before, a.field)) sample.before[a.field] = a.before ?? null;
    sample.after[a.field] = a.after ?? null;
  }
  return sample;
}
