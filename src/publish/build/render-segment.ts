import { hash } from 'node:crypto';
import type { compileMapping } from '../../channels/mapping.js';
import type { FeedValue } from '../../model/channel.js';
import type { compileRuleSets } from '../../rules/engine.js';
import type { ProductRecord } from '../../store/products.js';
import type { ExclusionCount } from '../../store/publications.js';
import { escapeSku } from './item-diff.js';

/** A channel's compiled rules and field mapping. */
export type RuleEvaluator = ReturnType<typeof compileRuleSets>;
export type FieldMapper = ReturnType<typeof compileMapping>;

/** One segment of products (a batch in sku order) through the rules and the field mapping. */
export interface RenderedSegment {
  /** The mapped rows of the products the rules kept, in sku order. */
  rows: FeedValue[][];
  skus: string[];
  /** Each item's hash (of its mapped values): the diff's "changed". */
  hashes: string[];
  /** The segment's lines of the item list (`sku<TAB>hash`). */
  itemLines: string;
  /** The products left out, by rule, in the order first met. */
  exclusions: ExclusionCount[];
}

/** Runs products through a channel's rules and mapping at `at` (SPEC §3 "Rules and channels"). */
export function renderSegment(
  products: readonly ProductRecord[],
  evaluator: RuleEvaluator,
  mapper: FieldMapper,
  at: Date,
): RenderedSegment {
  const rows: FeedValue[][] = [];
  const skus: string[] = [];
  const hashes: string[] = [];
  const exclusions = new Map<string, ExclusionCount>();
  let itemLines = '';
  for (const product of products) {
    const result = evaluator.apply(product, at);
    if (!result.included) {
      const by = result.excludedBy;
      const key = `${by?.ruleSet ?? ''}\u0000${by?.rule ?? ''}\u0000${by?.reason ?? ''}`;
      const seen = exclusions.get(key);
      if (seen) seen.count++;
      else
        exclusions.set(key, {
          ruleSet: by?.ruleSet ?? null,
          rule: by?.rule ?? null,
          reason: by?.reason ?? 'excluded',
          count: 1,
        });
      continue;
    }
    const values = mapper.map(result.product);
    const itemHash = hash('sha1', JSON.stringify(values), 'base64').slice(0, 16);
    rows.push(values);
    skus.push(product.sku);
    hashes.push(itemHash);
    itemLines += `${escapeSku(product.sku)}\t${itemHash}\n`;
  }
  return { rows, skus, hashes, itemLines, exclusions: [...exclusions.values()] };
}

/** A feed's exclusions: the segments' summed by rule, most first (ties in the order first met). */
export function sumExclusions(segments: Iterable<readonly ExclusionCount[]>): ExclusionCount[] {
  const total = new Map<string, ExclusionCount>();
  for (const list of segments) {
    for (const e of list) {
      const key = `${e.ruleSet ?? ''}\u0000${e.rule ?? ''}\u0000${e.reason}`;
      const seen = total.get(key);
      if (seen) seen.count += e.count;
      else total.set(key, { ...e });
    }
  }
  return [...total.values()].sort((a, b) => b.count - a.count);
}
