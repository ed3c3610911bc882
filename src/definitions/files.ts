import fs from 'node:fs/promises';
import path from 'node:path';
import { type DefinitionProblem, validateCatalogDefinition } from '../catalog/definition.js';
import { validateChannelDefinition } from '../channels/definition.js';
import type { CatalogDefinition } from '../model/catalog.js';
import type { ChannelDefinition } from '../model/channel.js';
import { resolveSourcePaths } from '../sources/source.js';

/** The definitions found in a folder, or the problems that stop them being applied. */
export interface LoadedDefinitions {
  catalogs: Array<{ file: string; definition: CatalogDefinition }>;
  channels: Array<{ file: string; definition: ChannelDefinition }>;
  problems: DefinitionProblem[];
  /** Files skipped with a reason (kinds handled by later stages). */
  skipped: Array<{ file: string; reason: string }>;
}

/**
 * Reads `feeds/*.json` under `dir`. Every file is checked; a relative `source.file`
 * is resolved against `dir`, so a repository can ship its sample feeds.
 */
export async function loadDefinitionFiles(dir: string): Promise<LoadedDefinitions> {
  const feedsDir = path.join(dir, 'feeds');
  const out: LoadedDefinitions = { catalogs: [], channels: [], problems: [], skipped: [] };
  let names: string[];
  try {
    names = (await fs.readdir(feedsDir)).filter((n) => n.endsWith('.json')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw err;
  }
  const ids = new Map<string, string>();
  const channelIds = new Map<string, string>();
  for (const name of names) {
    const file = path.join('feeds', name);
    let value: unknown;
    try {
      value = JSON.parse(await fs.readFile(path.join(feedsDir, name), 'utf8'));
    } catch (err) {
      out.problems.push({ file, path: '$', message: `not valid JSON: ${(err as Error).message}` });
      continue;
    }
    const kind = (value as { kind?: unknown } | null)?.kind;
    if (kind === 'channel') {
      const problems = validateChannelDefinition(value, file);
      if (problems.length > 0) {
        out.problems.push(...problems);
        continue;
      }
      const def = structuredClone(value) as ChannelDefinition;
      const other = channelIds.get(def.id);
      if (other) {
        out.problems.push({ file, path: '$.id', message: `channel "${def.id}" is also defined in ${other}` });
        continue;
      }
      channelIds.set(def.id, file);
      out.channels.push({ file, definition: def });
      continue;
    }
    if (kind !== 'catalog') {
      out.problems.push({ file, path: '$.kind', message: 'must be "catalog" or "channel"' });
      continue;
    }
    const problems = validateCatalogDefinition(value, file);
    if (problems.length > 0) {
      out.problems.push(...problems);
      continue;
    }
    const def = structuredClone(value) as CatalogDefinition;
    const other = ids.get(def.id);
    if (other) {
      out.problems.push({ file, path: '$.id', message: `catalog "${def.id}" is also defined in ${other}` });
      continue;
    }
    ids.set(def.id, file);
    if (def.source) def.source = resolveSourcePaths(def.source, dir);
    out.catalogs.push({ file, definition: def });
  }
  return out;
}
