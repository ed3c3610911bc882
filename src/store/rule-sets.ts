import { canonicalJson } from './canonical-json.js';
import { recordHistory } from './history.js';
import type { Queryable } from './types.js';

/** A rule set's definition as stored: the JSON an analyst wrote. */
export type RuleSetJson = { id: string } & Record<string, unknown>;

/** The version of a rule set in force. */
export interface StoredRuleSet {
  id: string;
  version: number;
  definition: RuleSetJson;
  author: string;
  updatedAt: string;
}

/** One accepted version of a rule set. */
export interface RuleSetVersion {
  version: number;
  definition: RuleSetJson;
  author: string;
  restoredFrom: number | null;
  createdAt: string;
}

interface Row {
  id: string;
  version: number;
  definition: RuleSetJson;
  author: string;
  updated_at: Date;
}

const toRuleSet = (r: Row): StoredRuleSet => ({
  id: r.id,
  version: Number(r.version),
  definition: r.definition,
  author: r.author,
  updatedAt: new Date(r.updated_at).toISOString(),
});

/** The version in force, or undefined. */
export async function getRuleSet(db: Queryable, id: string): Promise<StoredRuleSet | undefined> {
  const rows = await db.query<Row>({ text: 'SELECT * FROM rule_sets WHERE id = $1', values: [id] });
  return rows[0] ? toRuleSet(rows[0]) : undefined;
}

/** Every rule set in force, by id. */
export async function listRuleSets(db: Queryable): Promise<StoredRuleSet[]> {
  const rows = await db.query<Row>({ text: 'SELECT * FROM rule_sets ORDER BY id' });
  return rows.map(toRuleSet);
}

/** Every version of a rule set, newest first. */
export async function listRuleSetVersions(db: Queryable, id: string): Promise<RuleSetVersion[]> {
  const rows = await db.query<{
    version: number;
    definition: RuleSetJson;
    author: string;
    restored_from: number | null;
    created_at: Date;
  }>({
    text: `SELECT version, definition, author, restored_from, created_at FROM rule_set_versions
           WHERE rule_set_id = $1 ORDER BY version DESC`,
    values: [id],
  });
  return rows.map((r) => ({
    version: Number(r.version),
    definition: r.definition,
    author: r.author,
    restoredFrom: r.restored_from === null ? null : Number(r.restored_from),
    createdAt: new Date(r.created_at).toISOString(),
  }));
}

/** One version of a rule set, or undefined. */
export async function getRuleSetVersion(
  db: Queryable,
  id: string,
  version: number,
): Promise<RuleSetVersion | undefined> {
  return (await listRuleSetVersions(db, id)).find((v) => v.version === version);
}

/** What a rule-by-rule comparison of two versions found. */
export interface RuleSetDiff {
  added: string[];
  removed: string[];
  changed: Array<{ rule: string; before: unknown; after: unknown }>;
  /** Rule ids whose position changed (order is meaning: rules apply in sequence). */
  reordered: boolean;
  /** Top-level properties other than `rules` that changed. */
  properties: Record<string, { before: unknown; after: unknown }>;
}

/** Compares two definitions rule by rule, as an analyst reads a change. */
export function diffRuleSets(before: RuleSetJson | undefined, after: RuleSetJson): RuleSetDiff {
  const rulesOf = (d: RuleSetJson | undefined) =>
    Array.isArray(d?.rules)
      ? (d.rules as Array<{ id?: unknown }>).map((r, i) => [String(r.id ?? `#${i}`), r] as const)
      : [];
  const b = new Map(rulesOf(before));
  const a = new Map(rulesOf(after));
  const diff: RuleSetDiff = { added: [], removed: [], changed: [], reordered: false, properties: {} };
  for (const [id, rule] of a) {
    if (!b.has(id)) diff.added.push(id);
    else if (canonicalJson(b.get(id)) !== canonicalJson(rule))
      diff.changed.push({ rule: id, before: b.get(id), after: rule });
  }
  for (const id of b.keys()) if (!a.has(id)) diff.removed.push(id);
  const common = (m: Map<string, unknown>, other: Map<string, unknown>) =>
    [...m.keys()].filter((k) => other.has(k));
  diff.reordered = common(b, a).join('\u0000') !== common(a, b).join('\u0000');
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after)]);
  keys.delete('rules');
  for (const k of keys) {
    const x = before?.[k];
    const y = after[k];
    if (canonicalJson(x ?? null) !== canonicalJson(y ?? null))
      diff.properties[k] = { before: x ?? null, after: y ?? null };
  }
  return diff;
}

/**
 * Saves a validated rule set as a new version, unless it equals the version in force
 * (applying the same files again writes nothing). The diff goes into history.
 */
export async function saveRuleSet(
  db: Queryable,
  definition: RuleSetJson,
  author: string,
  restoredFrom: number | null = null,
): Promise<{
  outcome: 'created' | 'updated' | 'unchanged';
  ruleSet: StoredRuleSet;
  diff: RuleSetDiff | null;
}> {
  const current = (
    await db.query<Row>({ text: 'SELECT * FROM rule_sets WHERE id = $1 FOR UPDATE', values: [definition.id] })
  )[0];
  const json = JSON.stringify(definition);
  if (current) {
    const same = await db.query<{ same: boolean }>({
      text: 'SELECT $1::jsonb = $2::jsonb AS same',
      values: [JSON.stringify(current.definition), json],
    });
    if (same[0]?.same) return { outcome: 'unchanged', ruleSet: toRuleSet(current), diff: null };
  }
  const version = current ? Number(current.version) + 1 : 1;
  const rows = await db.query<Row>({
    text: `INSERT INTO rule_sets (id, version, definition, author) VALUES ($1, $2, $3::jsonb, $4)
           ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, definition = EXCLUDED.definition,
             author = EXCLUDED.author, updated_at = now()
           RETURNING *`,
    values: [definition.id, version, json, author],
  });
  await db.query({
    text: `INSERT INTO rule_set_versions (rule_set_id, version, definition, author, restored_from)
           VALUES ($1, $2, $3::jsonb, $4, $5)`,
    values: [definition.id, version, json, author, restoredFrom],
  });
  const diff = diffRuleSets(current?.definition, definition);
  await recordHistory(db, {
    type: current ? 'rules.updated' : 'rules.created',
    actor: author,
    data: { ruleSet: definition.id, version, ...(restoredFrom !== null ? { restoredFrom } : {}), diff },
  });
  return { outcome: current ? 'updated' : 'created', ruleSet: toRuleSet(rows[0] as Row), diff };
}
