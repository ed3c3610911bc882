import { explainInChannel, type FeedRow } from '../channels/explain.js';
import type { ConditionTrace, Explanation } from '../rules/explain.js';
import { explainProduct } from '../rules/service.js';
import { parseCommandArgs, refuseOtherCatalog, UsageError } from './args.js';
import { parseAt } from './at.js';
import { findChannel, openContext } from './context.js';
import { formatTable, showValue } from './output.js';
import { seg } from './serve-client.js';

/**
 * `feedwright explain <channel> <sku> [--at ISO]`: every rule of the channel in order,
 * matched or not and why, each action's before and after, whether the product is in the
 * feed, and the row the channel's feed holds for it. A rule set's id in place of a channel
 * explains that rule set alone (`--catalog` names the catalog when there are several).
 */
export async function explainCommand(args: string[], json: boolean): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    catalog: { type: 'string' },
    at: { type: 'string' },
  });
  const [target, sku] = positionals;
  if (!target || !sku)
    throw new UsageError('usage: feedwright explain <channel|rule-set> <sku> [--catalog ID] [--at ISO]');
  const at = parseAt(values.at);
  const ctx = await openContext(json, 'explain');
  try {
    const channel = await findChannel(ctx, target);
    if (channel) refuseOtherCatalog(channel, values.catalog);
    let e: ChannelExplanation;
    if (ctx.via === 'server') {
      e = await ctx.server.call<ChannelExplanation>(
        'GET',
        channel
          ? `/api/channels/${seg(channel.id)}/explain/${seg(sku)}`
          : `/api/rules/${seg(target)}/explain/${seg(sku)}`,
        { query: { at: at.toISOString(), catalog: channel ? undefined : values.catalog } },
      );
    } else {
      e = channel
        ? await explainInChannel(ctx.store, { channelId: channel.id, sku, at })
        : await explainProduct(ctx.store, { rules: { ids: [target] }, catalogId: values.catalog, sku, at });
    }
    if (json) ctx.out(JSON.stringify(e));
    else printExplanation(ctx.out, e);
    return 0;
  } finally {
    await ctx.close();
  }
}

/** A rule trace, in a channel with the feed's row. */
type ChannelExplanation = Explanation & { catalog: string; channel?: string; feedRow?: FeedRow };

function printExplanation(out: (s: string) => void, e: ChannelExplanation): void {
  const through = e.ruleSets.length > 0 ? ` through ${e.ruleSets.join(' → ')}` : ' (no rule sets)';
  out(`${e.sku} in ${e.catalog}${e.channel ? `, channel ${e.channel},` : ''}${through} at ${e.at}`);
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
  if (e.channel !== undefined && e.feedRow) {
    out(`the feed of ${e.channel} holds:`);
    out(
      formatTable(
        Object.entries(e.feedRow).map(([k, v]) => [`  ${k}`, showValue(v, { quote: true, max: 120 })]),
      ),
    );
  }
}

function condition(c: ConditionTrace): string {
  const fact = `${c.fact ?? '?'}${c.factPath ? ` ${c.factPath}` : ''}`;
  const value = c.factMissing ? 'missing' : showValue(c.factValue, { quote: true });
  const other = c.valueFact
    ? `fact ${c.valueFact} (${showValue(c.value, { quote: true })})`
    : showValue(c.value, { quote: true });
  return `${fact} = ${value}, ${c.operator} ${other}`;
}
