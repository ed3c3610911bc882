import { AppError } from '../errors.js';
import { listCatalogs } from '../store/catalogs.js';
import { getProductForRules, streamProducts } from '../store/products.js';
import {
  getRuleSet,
  getRuleSetVersion,
  type RuleSetDiff,
  type RuleSetJson,
  type StoredRuleSet,
  saveRuleSet,
} from '../store/rule-sets.js';
import type { Queryable, Store } from '../store/types.js';
import { compileRuleSets } from './engine.js';
import type { Explanation } from './explain.js';
import type { PreviewResult } from './preview.js';
import { formatProblem } from './problems.js';
import type { RuleProblem, RuleSet } from './types.js';
import { validateRuleSet } from './validate.js';

/** The error of a refused rule set: every problem, one line each, and as data in `details`. */
export function ruleInvalid(problems: RuleProblem[]): AppError {
  return new AppError('RULE_INVALID', problems.map(formatProblem).join('\n'), { details: { problems } });
}

/**
 * Validates and saves a rule set as a new version. A faulty one is refused whole and the
 * version in force stays; an identical one writes nothing.
 */
export async function putRuleSet(
  db: Queryable,
  value: unknown,
  author: string,
  opts: { file?: string; expectedId?: string; restoredFrom?: number } = {},
): Promise<{
  outcome: 'created' | 'updated' | 'unchanged';
  ruleSet: StoredRuleSet;
  diff: RuleSetDiff | null;
}> {
  const problems = validateRuleSet(value, opts.file);
  if (problems.length > 0) throw ruleInvalid(problems);
  const def = value as RuleSetJson;
  if (opts.expectedId !== undefined && def.id !== opts.expectedId) {
    throw ruleInvalid([
      {
        file: opts.file,
        path: '$.id',
        message: `"${def.id}" does not match "${opts.expectedId}" in the URL`,
      },
    ]);
  }
  return saveRuleSet(db, def, author, opts.restoredFrom ?? null);
}

/** Brings back an older version as a new version (history keeps both). */
export async function restoreRuleSet(store: Store, id: string, version: number, author: string) {
  return store.transaction(async (tx) => {
    const old = await getRuleSetVersion(tx, id, version);
    if (!old) throw new AppError('RULE_SET_NOT_FOUND', `rule set "${id}" has no version ${version}`);
    return putRuleSet(tx, old.definition, author, { restoredFrom: version });
  });
}

/**
 * What to run: stored rule sets by id, or a rule set sent as JSON (not saved); or stored
 * rule sets by id with one sent as JSON in place of the stored one of the same id (or after
 * them when none has it): a channel's rules with a draft of one of its rule sets.
 */
export type RuleSource = { ids: string[]; draft?: unknown } | { ruleSet: unknown };

/** The rule sets a source names, in order (a draft or sent one validated first). */
export async function loadRuleSets(
  db: Queryable,
  source: RuleSource,
): Promise<{ ruleSets: RuleSet[]; trusted: boolean }> {
  if ('ruleSet' in source) {
    const problems = validateRuleSet(source.ruleSet);
    if (problems.length > 0) throw ruleInvalid(problems);
    return { ruleSets: [source.ruleSet as RuleSet], trusted: true };
  }
  let draft: RuleSet | undefined;
  if (source.draft !== undefined) {
    const problems = validateRuleSet(source.draft);
    if (problems.length > 0) throw ruleInvalid(problems);
    draft = source.draft as RuleSet;
  }
  const ruleSets: RuleSet[] = [];
  for (const id of source.ids) {
    if (draft && draft.id === id) {
      ruleSets.push(draft);
      continue;
    }
    const stored = await getRuleSet(db, id);
    if (!stored) throw new AppError('RULE_SET_NOT_FOUND', `no rule set "${id}"`);
    ruleSets.push(stored.definition as unknown as RuleSet);
  }
  if (draft && !source.ids.includes(draft.id)) ruleSets.push(draft);
  // Stored versions were validated when they were accepted, the draft just now.
  return { ruleSets, trusted: true };
}

/**
 * The catalog rules run over: the one named, or the only catalog there is. (Until
 * channels name their catalog, explain and preview need it said.)
 */
export async function resolveCatalog(db: Queryable, catalogId: string | undefined): Promise<string> {
  const catalogs = await listCatalogs(db);
  if (catalogId !== undefined) {
    if (!catalogs.some((c) => c.id === catalogId))
      throw new AppError('CATALOG_NOT_FOUND', `no catalog "${catalogId}"`);
    return catalogId;
  }
  if (catalogs.length === 1 && catalogs[0]) return catalogs[0].id;
  throw new AppError(
    'BAD_REQUEST',
    catalogs.length === 0 ? 'there is no catalog to run rules over' : 'name the catalog (several exist)',
  );
}

/** The rule trace of one product at one instant. */
export async function explainProduct(
  db: Queryable,
  r: { rules: RuleSource; catalogId: string | undefined; sku: string; at: Date },
): Promise<Explanation & { catalog: string }> {
  const catalog = await resolveCatalog(db, r.catalogId);
  const product = await getProductForRules(db, catalog, r.sku);
  if (!product) throw new AppError('PRODUCT_NOT_FOUND', `catalog "${catalog}" has no product "${r.sku}"`);
  const { ruleSets, trusted } = await loadRuleSets(db, r.rules);
  const evaluator = compileRuleSets(ruleSets, { trusted });
  const explanation = evaluator.explain(
    { sku: product.sku, fields: product.fields, attributes: product.attributes },
    r.at,
  );
  return { catalog, ...explanation };
}

/** A dry run of rules over a whole catalog, streamed from the store; changes nothing. */
export async function previewRules(
  db: Queryable,
  r: { rules: RuleSource; catalogId: string | undefined; at: Date; samples?: number },
): Promise<PreviewResult & { catalog: string }> {
  const catalog = await resolveCatalog(db, r.catalogId);
  const { ruleSets, trusted } = await loadRuleSets(db, r.rules);
  const evaluator = compileRuleSets(ruleSets, { trusted });
  const result = await evaluator.preview(streamProducts(db, catalog), r.at, { samples: r.samples ?? 3 });
  return { catalog, ...result };
}
