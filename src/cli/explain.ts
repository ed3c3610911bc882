import type { ConditionTrace, Explanation } from '../rules/explain.js';
import { explainProduct } from '../rules/service.js';
import { parseCommandArgs, UsageError } from './args.js';
import { parseAt } from './at.js';
import { openContext } from './context.js';
import { showValue } from './output.js';

/**
 * `feedwright explain <rule-set> <sku> [--catalog ID] [--at ISO]`: every rule in order,
 * matched or not and why, each action's before and after, and whether the product is in
 * the feed. (Until channels exist, a rule set stands in for the channel.)
 */
export async function explainCommand(args: string[], json: boolean): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    catalog: { type: 'string' },
    at: { type: 'string' },
  });
  const [ruleSet, sku] = positionals;
  if (!ruleSet || !sku)
    throw new UsageError('usage: feedwright explain <rule-set> <sku> [--catalog ID] [--at ISO]');
  const at = parseAt(values.at);
  const ctx = await openContext(json);
  try {
    const e = await explainProduct(ctx.store, {
      rules: { ids: [ruleSet] },
      catalogId: values.catalog,
      sku,
      at,
    });
    if (json) ctx.out(JSON.stringify(e));
    else printExplanation(ctx.out, e);
    return 0;
  } finally {
    await ctx.store.close();
  }
}

function printExplanation(out: (s: string) => void, e: Explanation & { catalog: string }): void {
  out(`${e.sku} in ${e.catalog} through ${e.ruleSets.join(' → ')} at ${e.at}`);
  e.rules.forEach((r, i) => {
    const window = r.window
      ? ` [window ${r.window.open ? 'open' : 'closed'}${r.window.opensAt ? ` ${r.window.opensAt}` : ''}${r.window.closesAt ? ` → ${r.window.closesAt}` : ''}]`
      : '';
    out(
      `${i + 1}. ${r.ruleSet}/${r.rule}: ${r.status}${window}${r.description ? ` — ${r.description}` : ''}`,
    );
    for (const c of r.failed ?? []) out(`     failed: ${condition(c)}`);
    for (const c of r.matchedBy ?? []) out(`     matched: ${condition(c)}`);
    for (const a of r.actions ?? []) {
      const what = a.field
        ? `${a.action} ${a.field}: ${showValue(a.before, { quote: true })} → ${showValue(a.after, { quote: true })}`
        : a.action;
      out(`     ${what}${a.skipped ? ` (skipped: ${a.skipped})` : ''}${a.reason ? ` (${a.reason})` : ''}`);
    }
  });
  out(e.summary);
}

function condition(c: ConditionTrace): string {
  const fact = `${c.fact ?? '?'}${c.factPath ? ` ${c.factPath}` : ''}`;
  const value = c.factMissing ? 'missing' : showValue(c.factValue, { quote: true });
  const other = c.valueFact
    ? `fact ${c.valueFact} (${showValue(c.value, { quote: true })})`
    : showValue(c.value, { quote: true });
  return `${fact} = ${value}, ${c.operator} ${other}`;
}
