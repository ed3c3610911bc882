import type { ChannelDefinition } from '../model/channel.js';
import { recordHistory } from './history.js';
import type { Queryable } from './types.js';

/** The version of a channel in force, with its feed token. */
export interface StoredChannel {
  id: string;
  catalog: string;
  version: number;
  definition: ChannelDefinition;
  author: string;
  token: string;
  tokenRotatedAt: string;
  createdAt: string;
  updatedAt: string;
}

/** One accepted version of a channel definition. */
export interface ChannelVersion {
  version: number;
  definition: ChannelDefinition;
  author: string;
  createdAt: string;
}

interface Row {
  id: string;
  catalog_id: string;
  version: number;
  definition_text: string;
  author: string;
  token: string;
  token_rotated_at: Date;
  created_at: Date;
  updated_at: Date;
}

const toChannel = (r: Row): StoredChannel => ({
  id: r.id,
  catalog: r.catalog_id,
  version: Number(r.version),
  definition: JSON.parse(r.definition_text) as ChannelDefinition,
  author: r.author,
  token: r.token,
  tokenRotatedAt: new Date(r.token_rotated_at).toISOString(),
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
});

/** The channel in force, or undefined. */
export async function getChannel(db: Queryable, id: string): Promise<StoredChannel | undefined> {
  const rows = await db.query<Row>({ text: 'SELECT * FROM channels WHERE id = $1', values: [id] });
  return rows[0] ? toChannel(rows[0]) : undefined;
}

/** Every channel, by id; or those of one catalog. */
export async function listChannels(db: Queryable, catalogId?: string): Promise<StoredChannel[]> {
  const rows = await db.query<Row>({
    text: 'SELECT * FROM channels WHERE $1::text IS NULL OR catalog_id = $1 ORDER BY id',
    values: [catalogId ?? null],
  });
  return rows.map(toChannel);
}

/** Every version of a channel, newest first. */
export async function listChannelVersions(db: Queryable, id: string): Promise<ChannelVersion[]> {
  const rows = await db.query<{
    version: number;
    definition_text: string;
    author: string;
    created_at: Date;
  }>({
    text: `SELECT version, definition_text, author, created_at FROM channel_versions
           WHERE channel_id = $1 ORDER BY version DESC`,
    values: [id],
  });
  return rows.map((r) => ({
    version: Number(r.version),
    definition: JSON.parse(r.definition_text) as ChannelDefinition,
    author: r.author,
    createdAt: new Date(r.created_at).toISOString(),
  }));
}

/** Which catalogs and rule sets of a list are not in the store. */
export async function missingReferences(
  db: Queryable,
  catalogId: string,
  ruleSetIds: readonly string[],
): Promise<{ catalogMissing: boolean; ruleSets: string[] }> {
  const rows = await db.query<{ catalog: boolean; missing: string[] }>({
    text: `SELECT EXISTS (SELECT 1 FROM catalogs WHERE id = $1) AS catalog,
             coalesce((SELECT array_agg(r) FROM unnest($2::text[]) AS r
                       WHERE NOT EXISTS (SELECT 1 FROM rule_sets s WHERE s.id = r)), '{}') AS missing`,
    values: [catalogId, [...ruleSetIds]],
  });
  return { catalogMissing: rows[0]?.catalog !== true, ruleSets: rows[0]?.missing ?? [] };
}

/**
 * Saves a validated definition as a new version, unless it equals the version in force
 * (applying the same files again writes nothing). A new channel gets `token`; an existing
 * one keeps its own. The change and its field-level diff go into history.
 */
export async function saveChannel(
  db: Queryable,
  def: ChannelDefinition,
  author: string,
  token: string,
  restoredFrom: number | null = null,
): Promise<{ outcome: 'created' | 'updated' | 'unchanged'; channel: StoredChannel }> {
  const current = (
    await db.query<Row>({ text: 'SELECT * FROM channels WHERE id = $1 FOR UPDATE', values: [def.id] })
  )[0];
  const json = JSON.stringify(def);
  let changes: Record<string, unknown> | null = null;
  if (current) {
    if (current.definition_text === json) return { outcome: 'unchanged', channel: toChannel(current) };
    const rows = await db.query<{ changes: Record<string, unknown> }>({
      text: 'SELECT jsonb_changes($1::jsonb, $2::jsonb) AS changes',
      values: [current.definition_text, json],
    });
    changes = rows[0]?.changes ?? {};
    if (Object.keys(changes).length === 0) {
      // Only the order of keys moved: for "fields", that is the order of the feed's columns.
      const before = JSON.parse(current.definition_text) as ChannelDefinition;
      changes = {
        'fields order': { before: Object.keys(before.fields ?? {}), after: Object.keys(def.fields ?? {}) },
      };
    }
  }
  const version = current ? Number(current.version) + 1 : 1;
  const rows = await db.query<Row>({
    text: `INSERT INTO channels (id, catalog_id, version, definition, definition_text, author, token)
           VALUES ($1, $2, $3, $4::jsonb, $7::text, $5, $6)
           ON CONFLICT (id) DO UPDATE SET catalog_id = EXCLUDED.catalog_id, version = EXCLUDED.version,
             definition = EXCLUDED.definition, definition_text = EXCLUDED.definition_text,
             author = EXCLUDED.author, updated_at = now()
           RETURNING *`,
    values: [def.id, def.catalog, version, json, author, token, json],
  });
  await db.query({
    text: `INSERT INTO channel_versions (channel_id, version, definition, definition_text, author)
           VALUES ($1, $2, $3::jsonb, $5::text, $4)`,
    values: [def.id, version, json, author, json],
  });
  await recordHistory(db, {
    type: current ? 'channel.updated' : 'channel.created',
    catalogId: def.catalog,
    channelId: def.id,
    actor: author,
    data: { version, ...(restoredFrom !== null ? { restoredFrom } : {}), ...(changes ? { changes } : {}) },
  });
  return { outcome: current ? 'updated' : 'created', channel: toChannel(rows[0] as Row) };
}

/** Replaces a channel's feed token; the old URL stops answering. History keeps the fact, not the token. */
export async function rotateChannelToken(
  db: Queryable,
  id: string,
  token: string,
  actor: string,
): Promise<StoredChannel | undefined> {
  const rows = await db.query<Row>({
    text: 'UPDATE channels SET token = $2, token_rotated_at = now() WHERE id = $1 RETURNING *',
    values: [id, token],
  });
  const row = rows[0];
  if (!row) return undefined;
  await recordHistory(db, {
    type: 'channel.token_rotated',
    catalogId: row.catalog_id,
    channelId: id,
    actor,
  });
  return toChannel(row);
}
