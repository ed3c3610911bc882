import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DefinitionProblem } from '../catalog/definition.js';
import { formatProblem } from '../catalog/definition.js';
import { newFeedToken, referenceProblems } from '../channels/service.js';
import { AppError } from '../errors.js';
import type { CatalogDefinition } from '../model/catalog.js';
import { type LoadedRuleSets, loadRuleSetFiles } from '../rules/files.js';
import { resolveSourcePaths } from '../sources/source.js';
import { type SaveOutcome, saveCatalog } from '../store/catalogs.js';
import { saveChannel } from '../store/channels.js';
import { type RuleSetJson, saveRuleSet } from '../store/rule-sets.js';
import type { Store } from '../store/types.js';
import { type LoadedDefinitions, loadDefinitionFiles } from './files.js';

/** What `apply` did to each definition. */
export interface ApplyResult {
  applied: Array<{
    kind: 'catalog' | 'rules' | 'channel';
    id: string;
    file: string;
    outcome: SaveOutcome;
    version: number;
  }>;
  skipped: Array<{ file: string; reason: string }>;
}

/** Thrown when a folder's definitions are refused; `problems` say where and why. */
export class DefinitionsInvalidError extends Error {
  constructor(readonly problems: DefinitionProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'DefinitionsInvalidError';
  }
}

/**
 * Applies a folder's definitions (`feeds/*.json`: catalogs and channels; `rules/*.json`) in one transaction:
 * all of them or, when any file is faulty, none, and the versions in force stay.
 * Unchanged definitions write nothing.
 */
export async function applyDefinitions(store: Store, dir: string): Promise<ApplyResult> {
  const loaded = await loadDefinitionFiles(dir);
  const rules = await loadRuleSetFiles(dir);
  return applyLoaded(store, loaded, rules);
}

/** One file of a definitions folder, sent as text: `feeds/acme.json`, `rules/buffer-stock.json`. */
export interface DefinitionFile {
  path: string;
  content: string;
}

/** The names `applyDefinitionFiles` takes: a JSON file right under `feeds/` or `rules/`. */
export const DEFINITION_FILE_PATTERN = '^(feeds|rules)/[^/\\\\]+\\.json$';

/**
 * Applies a definitions folder sent as its files (`feeds/*.json`, `rules/*.json`) exactly as
 * `applyDefinitions` applies a folder on disk, all or nothing; a relative `source.file` is
 * resolved against `base`, the folder the files come from.
 */
export async function applyDefinitionFiles(
  store: Store,
  files: readonly DefinitionFile[],
  base: string,
): Promise<ApplyResult> {
  const pattern = new RegExp(DEFINITION_FILE_PATTERN);
  const seen = new Set<string>();
  for (const f of files) {
    if (!pattern.test(f.path))
      throw new AppError('BAD_REQUEST', `${f.path}: not a JSON file right under feeds/ or rules/`);
    if (seen.has(f.path)) throw new AppError('BAD_REQUEST', `${f.path}: sent twice`);
    seen.add(f.path);
  }
  // The folder's loaders read from disk: the files go into a private folder of their own.
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'feedwright-apply-'));
  try {
    await fs.mkdir(path.join(dir, 'feeds'));
    await fs.mkdir(path.join(dir, 'rules'));
    for (const f of files) await fs.writeFile(path.join(dir, f.path), f.content, { flag: 'wx' });
    const loaded = await loadDefinitionFiles(dir);
    const rules = await loadRuleSetFiles(dir);
    // The loader resolved relative file sources against the private folder: against `base`, as written.
    for (const c of loaded.catalogs) {
      const written = (JSON.parse(files.find((f) => f.path === c.file)?.content ?? '{}') as CatalogDefinition)
        .source;
      if (written) c.definition.source = resolveSourcePaths(written, base);
    }
    return await applyLoaded(store, loaded, rules);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function applyLoaded(
  store: Store,
  loaded: LoadedDefinitions,
  rules: LoadedRuleSets,
): Promise<ApplyResult> {
  const problems = [...loaded.problems, ...rules.problems];
  if (problems.length > 0) throw new DefinitionsInvalidError(problems);
  const applied = await store.transaction(async (tx) => {
    const results: ApplyResult['applied'] = [];
    for (const { file, definition } of loaded.catalogs) {
      const { outcome, catalog } = await saveCatalog(tx, definition, `file:${file}`);
      results.push({ kind: 'catalog', id: definition.id, file, outcome, version: catalog.version });
    }
    for (const { file, ruleSet } of rules.ruleSets) {
      const saved = await saveRuleSet(tx, ruleSet as unknown as RuleSetJson, `file:${file}`);
      results.push({
        kind: 'rules',
        id: ruleSet.id,
        file,
        outcome: saved.outcome,
        version: saved.ruleSet.version,
      });
    }
    // Channels last: they name catalogs and rule sets, from this folder or already stored.
    const refProblems: DefinitionProblem[] = [];
    for (const { file, definition } of loaded.channels) {
      refProblems.push(...(await referenceProblems(tx, definition, file)));
    }
    if (refProblems.length > 0) throw new DefinitionsInvalidError(refProblems);
    for (const { file, definition } of loaded.channels) {
      const saved = await saveChannel(tx, definition, `file:${file}`, newFeedToken());
      results.push({
        kind: 'channel',
        id: definition.id,
        file,
        outcome: saved.outcome,
        version: saved.channel.version,
      });
    }
    return results;
  });
  return { applied, skipped: loaded.skipped };
}
