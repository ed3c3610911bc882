import { recordHistory } from './history.js';
import type { Queryable } from './types.js';

/** Items of a feed grouped by the rule (or default) that left them out. */
export interface ExclusionCount {
  ruleSet: string | null;
  rule: string | null;
  reason: string;
  count: number;
}

/** What a build reads: the versions of everything a channel's feed is made of. */
export interface BuildInputs {
  catalogRevision: number;
  /** Bumped by every stock movement (orders, stock pushes). */
  stockRevision: number;
  channelVersion: number;
  /** Rule set id → version in force. */
  ruleVersions: Record<string, number>;
}

/** One built version of a channel's feed (SPEC §1 "publication"). */
export interface Publication extends BuildInputs {
  channel: string;
  version: number;
  builtAt: string;
  format: string;
  contentType: string;
  items: number;
  excluded: number;
  exclusions: ExclusionCount[];
  bytes: number;
  gzipBytes: number;
  sha256: string;
  added: number;
  removed: number;
  changed: number;
  /** Skus added, removed and changed against the previous publication (each list capped). */
  diff: { added: string[]; removed: string[]; changed: string[] };
  buildMs: number;
  nextBoundary: string | null;
  reason: string;
  actor: string;
}

/** A publication to record; the store stamps the time. */
export type NewPublication = Omit<Publication, 'builtAt'> & { builtAt: Date; catalog: string };

interface Row {
  channel_id: string;
  version: number;
  built_at: Date;
  format: string;
  content_type: string;
  items: number;
  excluded: number;
  exclusions: ExclusionCount[];
  bytes: number | string;
  gzip_bytes: number | string;
  sha256: string;
  added: number;
  removed: number;
  changed: number;
  diff: Publication['diff'];
  build_ms: number;
  catalog_revision: number | string;
  stock_revision: number | string;
  channel_version: number;
  rule_versions: Record<string, number>;
  next_boundary: Date | null;
  reason: string;
  actor: string;
}

const toPublication = (r: Row): Publication => ({
  channel: r.channel_id,
  version: Number(r.version),
  builtAt: new Date(r.built_at).toISOString(),
  format: r.format,
  contentType: r.content_type,
  items: Number(r.items),
  excluded: Number(r.excluded),
  exclusions: r.exclusions,
  bytes: Number(r.bytes),
  gzipBytes: Number(r.gzip_bytes),
  sha256: r.sha256,
  added: Number(r.added),
  removed: Number(r.removed),
  changed: Number(r.changed),
  diff: r.diff,
  buildMs: Number(r.build_ms),
  catalogRevision: Number(r.catalog_revision),
  stockRevision: Number(r.stock_revision),
  channelVersion: Number(r.channel_version),
  ruleVersions: r.rule_versions,
  nextBoundary: r.next_boundary ? new Date(r.next_boundary).toISOString() : null,
  reason: r.reason,
  actor: r.actor,
});

/** The publication served now (the newest), or undefined before the first build. */
export async function latestPublication(db: Queryable, channelId: string): Promise<Publication | undefined> {
  const rows = await db.query<Row>({
    text: 'SELECT * FROM publications WHERE channel_id = $1 ORDER BY version DESC LIMIT 1',
    values: [channelId],
  });
  return rows[0] ? toPublication(rows[0]) : undefined;
}

/** The publication served now of every channel that has one, by channel id (one statement). */
export async function latestPublications(db: Queryable): Promise<Map<string, Publication>> {
  const rows = await db.query<Row>({
    text: `SELECT DISTINCT ON (channel_id) * FROM publications ORDER BY channel_id, version DESC`,
  });
  return new Map(rows.map((r) => [r.channel_id, toPublication(r)]));
}

/** Publications newest first, before version `before`; limit + 1 rows tell if more follow. */
export async function listPublications(
  db: Queryable,
  channelId: string,
  opts: { before?: number; limit: number },
): Promise<{ publications: Publication[]; next: number | null }> {
  const rows = await db.query<Row>({
    text: `SELECT * FROM publications WHERE channel_id = $1 AND ($2::int IS NULL OR version < $2)
           ORDER BY version DESC LIMIT $3`,
    values: [channelId, opts.before ?? null, opts.limit + 1],
  });
  const page = rows.slice(0, opts.limit).map(toPublication);
  return { publications: page, next: rows.length > opts.limit ? (page.at(-1)?.version ?? null) : null };
}

// The versions a channel's feed is made of, as they are now (c is the channels row).
const CURRENT_INPUTS = `
  (SELECT revision FROM catalogs WHERE id = c.catalog_id) AS catalog_revision,
  coalesce((SELECT revision FROM catalog_stock WHERE catalog_id = c.catalog_id), 0) AS stock_revision,
  c.version AS channel_version,
  coalesce((SELECT jsonb_object_agg(r.id, r.version) FROM rule_sets r
            WHERE r.id IN (SELECT jsonb_array_elements_text(coalesce(c.definition->'rules', '[]')))),
           '{}') AS rule_versions`;

/** The versions of a channel's catalog, definition and rule sets now; undefined without the channel. */
export async function currentBuildInputs(db: Queryable, channelId: string): Promise<BuildInputs | undefined> {
  const rows = await db.query<{
    catalog_revision: number | string;
    stock_revision: number | string;
    channel_version: number;
    rule_versions: Record<string, number>;
  }>({ text: `SELECT ${CURRENT_INPUTS} FROM channels c WHERE c.id = $1`, values: [channelId] });
  const r = rows[0];
  return r
    ? {
        catalogRevision: Number(r.catalog_revision),
        stockRevision: Number(r.stock_revision),
        channelVersion: Number(r.channel_version),
        ruleVersions: r.rule_versions,
      }
    : undefined;
}

/**
 * Enabled channels whose feed is out of date at `now`, and why: never built, built from an
 * older catalog revision, definition or rule set version, or past a rule window boundary.
 */
export async function staleChannels(db: Queryable, now: Date): Promise<Array<{ id: string; why: string }>> {
  return db.query<{ id: string; why: string }>({
    text: `SELECT id, why FROM (
             SELECT c.id, CASE
                 WHEN p.version IS NULL THEN 'first publication'
                 WHEN p.channel_version <> cur.channel_version THEN 'channel definition changed'
                 WHEN p.rule_versions <> cur.rule_versions THEN 'rule sets changed'
                 WHEN p.catalog_revision <> cur.catalog_revision THEN 'catalog changed'
                 WHEN p.stock_revision <> cur.stock_revision THEN 'stock moved'
                 WHEN p.next_boundary <= $1 THEN 'rule window boundary'
               END AS why
             FROM channels c
             LEFT JOIN LATERAL (SELECT * FROM publications p WHERE p.channel_id = c.id
                                ORDER BY p.version DESC LIMIT 1) p ON true
             CROSS JOIN LATERAL (SELECT ${CURRENT_INPUTS}) cur
             WHERE coalesce((c.definition->>'enabled')::boolean, true)
           ) s
           WHERE why IS NOT NULL ORDER BY id`,
    values: [now],
  });
}

/** The next version number of a channel's publications. */
export async function nextPublicationVersion(db: Queryable, channelId: string): Promise<number> {
  const rows = await db.query<{ v: number }>({
    text: 'SELECT coalesce(max(version), 0) + 1 AS v FROM publications WHERE channel_id = $1',
    values: [channelId],
  });
  return Number(rows[0]?.v ?? 1);
}

/** Records a publication and its history event (call inside a transaction). */
export async function insertPublication(db: Queryable, p: NewPublication): Promise<Publication> {
  const rows = await db.query<Row>({
    text: `INSERT INTO publications (channel_id, version, built_at, format, content_type, items, excluded,
             exclusions, bytes, gzip_bytes, sha256, added, removed, changed, diff, build_ms,
             catalog_revision, channel_version, rule_versions, next_boundary, reason, actor, stock_revision)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12, $13, $14, $15::jsonb, $16,
             $17, $18, $19::jsonb, $20, $21, $22, $23)
           RETURNING *`,
    values: [
      p.channel,
      p.version,
      p.builtAt,
      p.format,
      p.contentType,
      p.items,
      p.excluded,
      JSON.stringify(p.exclusions),
      p.bytes,
      p.gzipBytes,
      p.sha256,
      p.added,
      p.removed,
      p.changed,
      JSON.stringify(p.diff),
      p.buildMs,
      p.catalogRevision,
      p.channelVersion,
      JSON.stringify(p.ruleVersions),
      p.nextBoundary,
      p.reason,
      p.actor,
      p.stockRevision,
    ],
  });
  const publication = toPublication(rows[0] as Row);
  const { diff, ...summary } = publication;
  await recordHistory(db, {
    type: 'publication.published',
    catalogId: p.catalog,
    channelId: p.channel,
    actor: p.actor,
    data: { ...summary, diff: capLists(diff, 100) },
  });
  return publication;
}

function capLists(diff: Publication['diff'], n: number): Publication['diff'] {
  return {
    added: diff.added.slice(0, n),
    removed: diff.removed.slice(0, n),
    changed: diff.changed.slice(0, n),
  };
}

/** What serving a feed needs: the token, whether it is enabled, and the publication in force. */
export interface FeedState {
  token: string;
  enabled: boolean;
  format: string;
  publication: Pick<
    Publication,
    'version' | 'sha256' | 'bytes' | 'gzipBytes' | 'contentType' | 'builtAt'
  > | null;
}

/** The serving state of a channel, or undefined when there is no such channel. */
export async function feedState(db: Queryable, channelId: string): Promise<FeedState | undefined> {
  const rows = await db.query<{
    token: string;
    enabled: boolean;
    version: number | null;
    sha256: string | null;
    bytes: number | string | null;
    gzip_bytes: number | string | null;
    content_type: string | null;
    format: string | null;
    built_at: Date | null;
  }>({
    text: `SELECT c.token, coalesce((c.definition->>'enabled')::boolean, true) AS enabled,
                  p.version, p.sha256, p.bytes, p.gzip_bytes, p.content_type, p.format, p.built_at
           FROM channels c
           LEFT JOIN LATERAL (SELECT * FROM publications p WHERE p.channel_id = c.id
                              ORDER BY p.version DESC LIMIT 1) p ON true
           WHERE c.id = $1`,
    values: [channelId],
  });
  const r = rows[0];
  if (!r) return undefined;
  return {
    token: r.token,
    enabled: r.enabled,
    format: r.format ?? '',
    publication:
      r.version === null
        ? null
        : {
            version: Number(r.version),
            sha256: r.sha256 ?? '',
            bytes: Number(r.bytes),
            gzipBytes: Number(r.gzip_bytes),
            contentType: r.content_type ?? 'application/octet-stream',
            builtAt: new Date(r.built_at ?? 0).toISOString(),
          },
  };
}
