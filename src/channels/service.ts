import { randomBytes } from 'node:crypto';
import { type DefinitionProblem, formatProblem } from '../catalog/definition.js';
import { AppError } from '../errors.js';
import type { ChannelDefinition } from '../model/channel.js';
import {
  getChannel,
  listChannelVersions,
  missingReferences,
  rotateChannelToken,
  type StoredChannel,
  saveChannel,
} from '../store/channels.js';
import type { Queryable, Store } from '../store/types.js';
import { validateChannelDefinition } from './definition.js';
import { channelFormat } from './output.js';

/** A new feed token: 192 random bits, URL-safe (32 characters). */
export function newFeedToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The path of a channel's feed URL: `/feeds/{channel}/{token}.{ext}`. */
export function feedPath(channel: StoredChannel): string {
  return `/feeds/${channel.id}/${channel.token}.${channelFormat(channel.definition)}`;
}

/** The error of a refused channel definition: every problem, one line each, and as data. */
export function channelInvalid(problems: DefinitionProblem[]): AppError {
  return new AppError('CHANNEL_INVALID', problems.map(formatProblem).join('\n'), { details: { problems } });
}

/** Problems with what a definition names: its catalog and rule sets must exist in the store. */
export async function referenceProblems(
  db: Queryable,
  def: ChannelDefinition,
  file?: string,
): Promise<DefinitionProblem[]> {
  const missing = await missingReferences(db, def.catalog, def.rules ?? []);
  const problems: DefinitionProblem[] = [];
  if (missing.catalogMissing)
    problems.push({ file, path: '$.catalog', message: `no catalog "${def.catalog}"` });
  for (const [i, id] of (def.rules ?? []).entries()) {
    if (missing.ruleSets.includes(id))
      problems.push({ file, path: `$.rules[${i}]`, message: `no rule set "${id}"` });
  }
  return problems;
}

/**
 * Validates and saves a channel definition as a new version; a faulty one is refused whole
 * and the version in force stays. A new channel gets its secret token here.
 */
export async function putChannel(
  db: Queryable,
  value: unknown,
  author: string,
  opts: { file?: string; expectedId?: string; restoredFrom?: number } = {},
): Promise<{ outcome: 'created' | 'updated' | 'unchanged'; channel: StoredChannel }> {
  const problems = validateChannelDefinition(value, opts.file);
  if (problems.length > 0) throw channelInvalid(problems);
  const def = value as ChannelDefinition;
  if (opts.expectedId !== undefined && def.id !== opts.expectedId) {
    throw channelInvalid([
      {
        file: opts.file,
        path: '$.id',
        message: `"${def.id}" does not match "${opts.expectedId}" in the URL`,
      },
    ]);
  }
  const refs = await referenceProblems(db, def, opts.file);
  if (refs.length > 0) throw channelInvalid(refs);
  return saveChannel(db, def, author, newFeedToken(), opts.restoredFrom ?? null);
}

/**
 * Brings back an older version of a channel as a new version (history keeps both), checked
 * again as any definition is: the catalog and rule sets it names must still exist. The feed
 * token is not part of a version: the URL stays.
 */
export async function restoreChannel(store: Store, id: string, version: number, author: string) {
  return store.transaction(async (tx) => {
    const old = (await listChannelVersions(tx, id)).find((v) => v.version === version);
    if (!old) throw new AppError('CHANNEL_NOT_FOUND', `channel "${id}" has no version ${version}`);
    return putChannel(tx, old.definition, author, { expectedId: id, restoredFrom: version });
  });
}

/** Gives a channel a new token: the old feed URL answers 404 from now on. */
export async function rotateToken(db: Queryable, id: string, actor: string): Promise<StoredChannel> {
  const channel = await rotateChannelToken(db, id, newFeedToken(), actor);
  if (!channel) throw new AppError('CHANNEL_NOT_FOUND', `no channel "${id}"`);
  return channel;
}

/** A channel, or CHANNEL_NOT_FOUND. */
export async function requireChannel(db: Queryable, id: string): Promise<StoredChannel> {
  const channel = await getChannel(db, id);
  if (!channel) throw new AppError('CHANNEL_NOT_FOUND', `no channel "${id}"`);
  return channel;
}
