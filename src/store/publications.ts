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

/**
 * Bumps a catalog's stock revision (a stock movement) and returns the new one: its channels'
 * feeds are stale from now on. Take it last in a transaction: it is the row orders queue on.
 */
export async function bumpStockRevision(db: Queryable, catalogId: string): Promise<number> {
  const rows = await db.query<{ revision: number | string }>({
    text: `INSERT INTO catalog_stock (catalog_id, revision) VALUES ($1, 1)
           ON CONFLICT (catalog_id) DO UPDATE SET revision = catalog_stock.revision + 1
           RETURNING revision`,
    values: [catalogId],
  });
  return Number(rows[0]?.revision ?? 0);
}

/** Bumps a catalog's revision: its channels' feeds are stale from now on. */
export async function bumpCatalogRevision(db: Queryable, catalogId: string): Promise<void> {
  await db.query({ text: 'UPDATE catalogs SET revision = revision + 1 WHERE id = $1', values: [catalogId] });
}

/** A catalog's revision now (0 for a catalog never imported; -1 when there is no such catalog). */
export async function catalogRevision(db: Queryable, catalogId: string): Promise<number> {
  const rows = await db.query<{ revision: number | string }>({
    text: 'SELECT revision FROM catalogs WHERE id = $1',
    values: [catalogId],
  });
  return rows[0] ? Number(rows[0].revision) : -1;
}

/** One request for a channel's feed URL. */
export interface FeedFetch {
  channel: string;
  at: Date;
  /** GET, or HEAD (the headers only: the client takes no version). */
  method: 'GET' | 'HEAD';
  status: number;
  bytes: number;
  version: number | null;
  encoding: string | null;
  userAgent: string | null;
  address: string | null;
}

/** Appends a batch of fetches in one statement. */
export async function insertFetches(db: Queryable, fetches: readonly FeedFetch[]): Promise<void> {
  if (fetches.length === 0) return;
  await db.query({
    text: `INSERT INTO channel_fetches (channel_id, at, status, bytes, version, encoding, user_agent, address, method)
           SELECT f.channel_id, f.at, f.status, f.bytes, f.version, f.encoding, f.user_agent, f.address, f.method
           FROM unnest($1::text[], $2::timestamptz[], $3::smallint[], $4::bigint[], $5::int[],
                       $6::text[], $7::text[], $8::text[], $9::text[]) WITH ORDINALITY
                  AS f (channel_id, at, status, bytes, version, encoding, user_agent, address, method, n)
           -- A channel removed since the fetch was served has no log to write to.
           WHERE EXISTS (SELECT 1 FROM channels c WHERE c.id = f.channel_id)
           -- Ids in the order the fetches were served: the log reads newest first by id.
           ORDER BY f.n`,
    values: [
      fetches.map((f) => f.channel),
      fetches.map((f) => f.at),
      fetches.map((f) => f.status),
      fetches.map((f) => f.bytes),
      fetches.map((f) => f.version),
      fetches.map((f) => f.encoding),
      fetches.map((f) => f.userAgent),
      fetches.map((f) => f.address),
      fetches.map((f) => f.method),
    ],
  });
}

/** Fetches of one kind in one UTC hour, counted rather than kept one by one. */
export interface FetchHour {
  channel: string;
  /** The start of the hour (UTC). */
  hour: Date;
  /** The HTTP status (`"404"`), or `"head"` for a HEAD answered 200. */
  kind: string;
  fetches: number;
  bytes: number;
}

/** Adds counts to the hourly fetch counts, in one statement. */
export async function addFetchHours(db: Queryable, hours: readonly FetchHour[]): Promise<void> {
  if (hours.length === 0) return;
  await db.query({
    text: `INSERT INTO channel_fetch_hours AS h (channel_id, hour, kind, fetches, bytes)
           SELECT u.channel_id, u.hour, u.kind, u.fetches, u.bytes
           FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::bigint[], $5::bigint[])
                  AS u (channel_id, hour, kind, fetches, bytes)
           WHERE EXISTS (SELECT 1 FROM channels c WHERE c.id = u.channel_id)
           ON CONFLICT (channel_id, hour, kind)
             DO UPDATE SET fetches = h.fetches + excluded.fetches, bytes = h.bytes + excluded.bytes`,
    values: [
      hours.map((h) => h.channel),
      hours.map((h) => h.hour),
      hours.map((h) => h.kind),
      hours.map((h) => h.fetches),
      hours.map((h) => h.bytes),
    ],
  });
}

/** Fetches rolled up per prune statement: a long-neglected log is pruned in bounded steps. */
const PRUNE_BATCH = 50_000;

/**
 * Moves the fetches served before `before` from the log into its hourly counts (kept for the
 * charts) and returns how many it moved. Each step deletes a batch and counts what it deleted
 * in the same statement, so two processes pruning at once never count a fetch twice.
 */
export async function pruneFetches(db: Queryable, before: Date): Promise<number> {
  let moved = 0;
  for (;;) {
    const rows = await db.query<{ n: number | string }>({
      text: `WITH gone AS (
               DELETE FROM channel_fetches WHERE id IN
                 (SELECT id FROM channel_fetches WHERE at < $1 ORDER BY id LIMIT $2)
               RETURNING channel_id, at, status, method, bytes
             ), counted AS (
               INSERT INTO channel_fetch_hours AS h (channel_id, hour, kind, fetches, bytes)
               SELECT channel_id, date_trunc('hour', at, 'UTC'),
                      CASE WHEN status = 200 AND method = 'HEAD' THEN 'head' ELSE status::text END,
                      count(*), coalesce(sum(bytes), 0)
               FROM gone GROUP BY 1, 2, 3
               ON CONFLICT (channel_id, hour, kind)
                 DO UPDATE SET fetches = h.fetches + excluded.fetches, bytes = h.bytes + excluded.bytes
             )
             SELECT count(*) AS n FROM gone`,
      values: [before, PRUNE_BATCH],
    });
    const n = Number(rows[0]?.n ?? 0);
    moved += n;
    if (n < PRUNE_BATCH) return moved;
  }
}

/** A channel's fetches newest first, before id `before`; limit + 1 rows tell if more follow. */
export async function listFetches(
  db: Queryable,
  channelId: string,
  opts: { before?: number; since?: Date; limit: number },
): Promise<{ fetches: Array<Omit<FeedFetch, 'at'> & { id: number; at: string }>; next: number | null }> {
  const rows = await db.query<FetchSummaryRow & { id: number | string }>({
    text: `SELECT id, at, method, status, bytes, version, encoding, user_agent, address FROM channel_fetches
           WHERE channel_id = $1 AND ($2::bigint IS NULL OR id < $2) AND ($3::timestamptz IS NULL OR at >= $3)
           ORDER BY id DESC LIMIT $4`,
    values: [channelId, opts.before ?? null, opts.since ?? null, opts.limit + 1],
  });
  const page = rows
    .slice(0, opts.limit)
    .map((r) => ({ id: Number(r.id), channel: channelId, ...toFetchSummary(r) }));
  return { fetches: page, next: rows.length > opts.limit ? (page.at(-1)?.id ?? null) : null };
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

/** A fetch as the dashboard's summaries show it. */
export interface FetchSummary {
  at: string;
  method: 'GET' | 'HEAD';
  status: number;
  bytes: number;
  version: number | null;
  encoding: string | null;
  userAgent: string | null;
  address: string | null;
}

/** A channel's newest fetch, and its newest fetch that delivered (200 with a body) or confirmed (304) a version. */
export interface LatestFetch {
  channel: string;
  lastFetch: FetchSummary | null;
  lastDelivery: FetchSummary | null;
}

/** How far back the last delivery is looked for: the channel's newest fetches only (bounded work). */
export const DELIVERY_LOOKBACK = 10_000;

// A fetch that left the client holding a version: a GET answered whole (200), or a 304,
// which confirms the version it already had. A HEAD takes none.
const DELIVERED = "(f.status = 304 OR (f.status = 200 AND f.method = 'GET'))";
const FETCH_COLUMNS = 'f.at, f.method, f.status, f.bytes, f.version, f.encoding, f.user_agent, f.address';

interface FetchSummaryRow {
  at: Date;
  method: 'GET' | 'HEAD';
  status: number;
  bytes: number | string;
  version: number | null;
  encoding: string | null;
  user_agent: string | null;
  address: string | null;
}

const toFetchSummary = (r: FetchSummaryRow): FetchSummary => ({
  at: new Date(r.at).toISOString(),
  method: r.method,
  status: Number(r.status),
  bytes: Number(r.bytes),
  version: r.version === null ? null : Number(r.version),
  encoding: r.encoding,
  userAgent: r.user_agent,
  address: r.address,
});

/**
 * The newest fetch and the newest delivery of every channel (or of one), by channel id:
 * one index probe per channel, the delivery looked for among its last DELIVERY_LOOKBACK fetches.
 */
export async function latestFetches(db: Queryable, channelId?: string): Promise<LatestFetch[]> {
  const rows = await db.query<{
    id: string;
    last: FetchSummaryRow | null;
    delivered: FetchSummaryRow | null;
  }>({
    text: `SELECT c.id,
             (SELECT to_jsonb(x) FROM (SELECT ${FETCH_COLUMNS} FROM channel_fetches f
                WHERE f.channel_id = c.id ORDER BY f.id DESC LIMIT 1) x) AS last,
             (SELECT to_jsonb(x) FROM (SELECT ${FETCH_COLUMNS}
                FROM (SELECT * FROM channel_fetches WHERE channel_id = c.id ORDER BY id DESC LIMIT $2) f
                WHERE ${DELIVERED} ORDER BY f.id DESC LIMIT 1) x) AS delivered
           FROM channels c WHERE $1::text IS NULL OR c.id = $1 ORDER BY c.id`,
    values: [channelId ?? null, DELIVERY_LOOKBACK],
  });
  return rows.map((r) => ({
    channel: r.id,
    lastFetch: r.last ? toFetchSummary(r.last) : null,
    lastDelivery: r.delivered ? toFetchSummary(r.delivered) : null,
  }));
}

/** Fetches of one kind in one time bucket. */
export interface FetchBucket {
  /** The bucket's start (an hour or a day in the asked time zone). */
  start: string;
  /** The HTTP status ("200", "304", "404"…) or "head" (a HEAD request answered 200). */
  kind: string;
  fetches: number;
  bytes: number;
}

/** One client (user agent) of a channel's feed over a period. */
export interface FeedFetcher {
  userAgent: string | null;
  fetches: number;
  notFound: number;
  lastAt: string;
  /** The newest version it got or confirmed (200 with a body, or 304), and when; null if none. */
  deliveredVersion: number | null;
  deliveredAt: string | null;
}

/** Most buckets × kinds one statistics answer holds (a guard: the route bounds the period). */
export const MAX_FETCH_BUCKET_ROWS = 20_000;
/** Most clients one statistics answer lists (the most recent first). */
export const MAX_FETCHERS = 20;

/**
 * A channel's fetches in [since, until) counted per bucket (`hour` or `day` in time zone `tz`)
 * and kind, and per client: set-based, bounded by the period and the caps above. An unknown
 * time zone throws PostgreSQL's 22023.
 */
export async function fetchStats(
  db: Queryable,
  channelId: string,
  opts: { since: Date; until: Date; bucket: 'hour' | 'day'; tz: string },
): Promise<{ buckets: FetchBucket[]; fetchers: FeedFetcher[] }> {
  const buckets = await db.query<{
    start: Date;
    kind: string;
    fetches: number | string;
    bytes: number | string;
  }>({
    // The fetches kept one by one, and the hourly counts of those no longer kept (older than
    // the retention, or refusals past the per-minute bound).
    text: `SELECT date_trunc($2, f.at, $3) AS start, f.kind, sum(f.fetches) AS fetches, sum(f.bytes) AS bytes
           FROM (SELECT at, CASE WHEN status = 200 AND method = 'HEAD' THEN 'head' ELSE status::text END AS kind,
                        1 AS fetches, bytes
                 FROM channel_fetches WHERE channel_id = $1 AND at >= $4 AND at < $5
                 UNION ALL
                 SELECT hour, kind, fetches, bytes FROM channel_fetch_hours
                 WHERE channel_id = $1 AND hour >= $4 AND hour < $5) f
           GROUP BY 1, 2 ORDER BY 1, 2 LIMIT $6`,
    values: [channelId, opts.bucket, opts.tz, opts.since, opts.until, MAX_FETCH_BUCKET_ROWS],
  });
  const fetchers = await db.query<{
    user_agent: string | null;
    fetches: number | string;
    not_found: number | string;
    last_at: Date;
    delivered_version: number | null;
    delivered_at: Date | null;
  }>({
    text: `SELECT f.user_agent, count(*) AS fetches, count(*) FILTER (WHERE f.status = 404) AS not_found,
                  max(f.at) AS last_at,
                  max(f.version) FILTER (WHERE ${DELIVERED}) AS delivered_version,
                  max(f.at) FILTER (WHERE ${DELIVERED}) AS delivered_at
           FROM channel_fetches f
           WHERE f.channel_id = $1 AND f.at >= $2 AND f.at < $3
           GROUP BY f.user_agent ORDER BY max(f.at) DESC, f.user_agent LIMIT $4`,
    values: [channelId, opts.since, opts.until, MAX_FETCHERS],
  });
  return {
    buckets: buckets.map((b) => ({
      start: new Date(b.start).toISOString(),
      kind: b.kind,
      fetches: Number(b.fetches),
      bytes: Number(b.bytes),
    })),
    fetchers: fetchers.map((f) => ({
      userAgent: f.user_agent,
      fetches: Number(f.fetches),
      notFound: Number(f.not_found),
      lastAt: new Date(f.last_at).toISOString(),
      deliveredVersion: f.delivered_version === null ? null : Number(f.delivered_version),
      deliveredAt: f.delivered_at ? new Date(f.delivered_at).toISOString() : null,
    })),
  };
}
