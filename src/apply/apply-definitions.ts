import type { DefinitionProblem } from '../catalog/definition.js';
import { formatProblem } from '../catalog/definition.js';
import { loadDefinitionFiles } from '../catalog/definition-files.js';
import { newFeedToken, referenceProblems } from '../channels/service.js';
import { loadRuleSetFiles } from '../rules/files.js';
import { type SaveOutcome, saveCatalog } from '../store/catalogs.js';
import { saveChannel } from '../store/channels.js';
import { type RuleSetJson, saveRuleSet } from '../store/rule-sets.js';
import type { Store } from '../store/types.js';

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
