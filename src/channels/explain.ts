import type { FeedValue } from '../model/channel.js';
import { compileRuleSets } from '../rules/engine.js';
import type { Explanation } from '../rules/explain.js';
import type { PreviewResult } from '../rules/preview.js';
import { explainProduct, loadRuleSets, previewRules } from '../rules/service.js';
import { getProductsForRules } from '../store/products.js';
import type { Queryable } from '../store/types.js';
import { compileMapping } from './mapping.js';
import { requireChannel } from './service.js';

/** One item of a channel's feed as its columns hold it, or null when the product is left out. */
export type FeedRow = Record<string, FeedValue> | null;

/** The rule trace of a product in a channel, and the row the channel's feed holds for it. */
export type ChannelExplanation = Explanation & { catalog: string; channel: string; feedRow: FeedRow };

/**
 * Explains one sku in one channel (SPEC §3 "Rules and channels"): the channel's rule sets
 * in order, rule by rule, then the field mapping: what the feed holds for that product.
 */
export async function explainInChannel(
  db: Queryable,
  r: { channelId: string; sku: string; at: Date },
): Promise<ChannelExplanation> {
  const channel = await requireChannel(db, r.channelId);
  const explanation = await explainProduct(db, {
    rules: { ids: channel.definition.rules ?? [] },
    catalogId: channel.catalog,
    sku: r.sku,
    at: r.at,
  });
  const mapper = compileMapping(channel.definition);
  return {
    ...explanation,
    channel: channel.id,
    feedRow: explanation.included ? rowOf(mapper.columns, mapper.map(explanation.product)) : null,
  };
}

/** A preview in a channel: the rule counts, and for every sample sku the feed's row after mapping. */
export type ChannelPreview = PreviewResult & {
  catalog: string;
  channel: string;
  feedRows: Record<string, FeedRow>;
};

/**
 * Previews a channel's rules over its catalog at an instant, changing nothing; `draft` is a
 * rule set (not saved) run in place of the stored one with its id, or after the channel's.
 */
export async function previewInChannel(
  db: Queryable,
  r: { channelId: string; at: Date; draft?: unknown; samples?: number },
): Promise<ChannelPreview> {
  const channel = await requireChannel(db, r.channelId);
  const ids = channel.definition.rules ?? [];
  const result = await previewRules(db, {
    rules: { ids, draft: r.draft },
    catalogId: channel.catalog,
    at: r.at,
    samples: r.samples,
  });
  // The rows of the samples (a few products), evaluated as the preview ran them.
  const { ruleSets } = await loadRuleSets(db, { ids, draft: r.draft });
  const evaluator = compileRuleSets(ruleSets, { trusted: true });
  const mapper = compileMapping(channel.definition);
  const feedRows: Record<string, FeedRow> = {};
  const skus = [...new Set(result.rules.flatMap((x) => x.samples.map((s) => s.sku)))];
  for (const product of (await getProductsForRules(db, channel.catalog, skus)).values()) {
    const applied = evaluator.apply(product, r.at);
    feedRows[product.sku] = applied.included ? rowOf(mapper.columns, mapper.map(applied.product)) : null;
  }
  return { ...result, channel: channel.id, feedRows };
}

function rowOf(columns: readonly string[], values: FeedValue[]): Record<string, FeedValue> {
  const row: Record<string, FeedValue> = {};
  columns.forEach((c, i) => {
    row[c] = values[i] ?? null;
  });
  return row;
}
