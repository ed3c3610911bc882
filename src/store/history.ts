import type { Queryable, SqlQuery } from './types.js';

/** The kinds of event the history holds. */
export type HistoryType =
  | 'catalog.created'
  | 'catalog.updated'
  | 'import.started'
  | 'import.applied'
  | 'import.held'
  | 'import.failed'
  | 'import.not_modified'
  | 'import.skipped'
  | 'product.created'
  | 'product.updated'
  | 'product.removed'
  | 'rules.created'
  | 'rules.updated'
  | 'channel.created'
  | 'channel.updated'
  | 'channel.token_rotated'
  | 'publication.published'
  | 'publication.failed'
  | 'order.reported'
  | 'stock.moved'
  | 'stock.oversold'
  | 'stock.reconciled'
  | 'stock.adjusted';

/** One event of the append-only history. */
export interface HistoryEvent {
  id: number;
  at: string;
  type: string;
  catalog: string | null;
  channel: string | null;
  sku: string | null;
  run: number | null;
  actor: string | null;
  data: Record<string, unknown>;
}

/** What to record; the store stamps id and time. */
export interface NewHistoryEvent {
  type: HistoryType;
  catalogId?: string | null;
  channelId?: string | null;
  sku?: string | null;
  runId?: number | null;
  actor?: string | null;
  data?: Record<string, unknown>;
  /**
   * Dated by the clock instead of the transaction's start (`now()`, which every event of one
   * apply shares): for an event written at the end of a transaction that stayed open while a
   * feed was read.
   */
  byClock?: boolean;
}

/** Filters of `feedwright history` and `GET /api/history`. */
export interface HistoryFilter {
  catalog?: string;
  channel?: string;
  sku?: string;
  /** The events of one import run. */
  run?: number;
  /** An exact type (`import.held`) or a family (`import`). */
  type?: string;
  since?: Date;
  /** Only events older than this id: the cursor of the next page. */
  before?: number;
  limit: number;
}

/** Appends one event. */
export function insertHistory(e: NewHistoryEvent): SqlQuery {
  return {
    text: `INSERT INTO history (type, catalog_id, channel_id, sku, run_id, actor, data, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, CASE WHEN $8 THEN clock_timestamp() ELSE now() END)
           RETURNING id`,
    values: [
      e.type,
      e.catalogId ?? null,
      e.channelId ?? null,
      e.sku ?? null,
      e.runId ?? null,
      e.actor ?? null,
      JSON.stringify(e.data ?? {}),
      e.byClock === true,
    ],
  };
}

/** Records one event through any queryable (the store or a transaction). */
export async function recordHistory(db: Queryable, e: NewHistoryEvent): Promise<void> {
  await db.query(insertHistory(e));
}

// Rule set events carry no catalog or channel: a rule set may serve several channels.
const RULE_EVENT_TYPES = `('rules.created', 'rules.updated')`;

/**
 * Newest first, filtered; ask for limit + 1 to know whether a next page exists. Filtered by
 * channel or catalog, the history also holds the changes of the rule sets that the channel
 * (or a channel of the catalog) uses now: "why did this feed change" finds the rule edit.
 * Those events have no catalog, channel, sku or run, so they come from a second branch of
 * their own, merged in id order (each branch reads its index newest first).
 */
export function selectHistory(f: HistoryFilter): SqlQuery {
  const values: unknown[] = [];
  const param = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  // Conditions every branch shares.
  const common: string[] = [];
  if (f.type !== undefined) {
    if (f.type.includes('.')) common.push(`type = ${param(f.type)}`);
    else common.push(`type LIKE ${param(f.type)} || '.%'`);
  }
  if (f.since !== undefined) common.push(`at >= ${param(f.since)}`);
  if (f.before !== undefined) common.push(`id < ${param(f.before)}`);
  // The events of the scope itself.
  const own = [...common];
  const catalog = f.catalog === undefined ? undefined : param(f.catalog);
  const channel = f.channel === undefined ? undefined : param(f.channel);
  if (catalog) own.push(`catalog_id = ${catalog}`);
  if (channel) own.push(`channel_id = ${channel}`);
  if (f.sku !== undefined) own.push(`sku = ${param(f.sku)}`);
  if (f.run !== undefined) own.push(`run_id = ${param(f.run)}`);
  const limit = param(f.limit + 1);
  const columns =
    'id, at, type, catalog_id AS catalog, channel_id AS channel, sku, run_id AS run, actor, data';
  const where = (conditions: string[]) => (conditions.length ? `WHERE ${conditions.join(' AND ')}` : '');
  const ownSelect = `SELECT ${columns} FROM history ${where(own)} ORDER BY id DESC LIMIT ${limit}`;
  const scoped = (catalog || channel) && f.sku === undefined && f.run === undefined;
  if (!scoped) return { text: ownSelect, values };
  const channels = [channel ? `c.id = ${channel}` : '', catalog ? `c.catalog_id = ${catalog}` : '']
    .filter(Boolean)
    .join(' AND ');
  const rules = [
    ...common,
    `type IN ${RULE_EVENT_TYPES}`,
    `data->>'ruleSet' IN (SELECT jsonb_array_elements_text(c.definition->'rules') FROM channels c WHERE ${channels})`,
  ];
  return {
    text: `(${ownSelect})
           UNION ALL
           (SELECT ${columns} FROM history ${where(rules)} ORDER BY id DESC LIMIT ${limit})
           ORDER BY id DESC LIMIT ${limit}`,
    values,
  };
}

interface HistoryRow extends Omit<HistoryEvent, 'at' | 'id' | 'run'> {
  id: number | string;
  at: Date | string;
  run: number | string | null;
}

/** One page of history and the cursor of the next one (null at the end). */
export async function readHistory(
  db: Queryable,
  f: HistoryFilter,
): Promise<{ events: HistoryEvent[]; next: number | null }> {
  const rows = await db.query<HistoryRow>(selectHistory(f));
  const page = rows.slice(0, f.limit).map(toEvent);
  const last = page.at(-1);
  return { events: page, next: rows.length > f.limit && last ? last.id : null };
}

function toEvent(r: HistoryRow): HistoryEvent {
  return {
    ...r,
    id: Number(r.id),
    run: r.run === null ? null : Number(r.run),
    at: (r.at instanceof Date ? r.at : new Date(r.at)).toISOString(),
  };
}
