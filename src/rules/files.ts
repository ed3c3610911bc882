import fs from 'node:fs/promises';
import path from 'node:path';
import type { RuleProblem, RuleSet } from './types.js';
import { validateRuleSet } from './validate.js';

/** The schema's file name in `rules/`: not a rule set, skipped when loading the folder. */
export const SCHEMA_FILE = 'schema.json';

/** A rule set read from text: the rule set, or every problem that refuses it. */
export type ParsedRuleSet = { ok: true; ruleSet: RuleSet } | { ok: false; problems: RuleProblem[] };

/**
 * Parses and validates a rule set's JSON text (a file, or an API request body). A syntax
 * error is one problem at `$` with the parser's message and, when it gives one, the line
 * and column.
 */
export function parseRuleSet(text: string, file?: string): ParsedRuleSet {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      problems: [{ file, path: '$', message: `not valid JSON: ${syntaxMessage(text, err as Error)}` }],
    };
  }
  const problems = validateRuleSet(value, file);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, ruleSet: value as RuleSet };
}

function syntaxMessage(text: string, err: Error): string {
  const m = /position (\d+)/.exec(err.message);
  if (!m) return err.message;
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `${err.message} (line ${line}, column ${column})`;
}

/** The rule sets of a folder, or the problems that stop them being applied. */
export interface LoadedRuleSets {
  ruleSets: Array<{ file: string; ruleSet: RuleSet }>;
  problems: RuleProblem[];
}

/**
 * Reads `rules/*.json` under `dir` (all but schema.json), in file-name order. Every file is
 * checked; two files with the same rule set id are a problem too. Files are named
 * `rules/<name>.json` in the problems.
 */
export async function loadRuleSetFiles(dir: string): Promise<LoadedRuleSets> {
  const rulesDir = path.join(dir, 'rules');
  const out: LoadedRuleSets = { ruleSets: [], problems: [] };
  let names: string[];
  try {
    names = (await fs.readdir(rulesDir)).filter((n) => n.endsWith('.json') && n !== SCHEMA_FILE).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw err;
  }
  const ids = new Map<string, string>();
  for (const name of names) {
    const file = path.join('rules', name);
    const parsed = parseRuleSet(await fs.readFile(path.join(rulesDir, name), 'utf8'), file);
    if (!parsed.ok) {
      out.problems.push(...parsed.problems);
      continue;
    }
    const other = ids.get(parsed.ruleSet.id);
    if (other) {
      out.problems.push({
        file,
        path: '$.id',
        message: `rule set id "${parsed.ruleSet.id}" is also used by ${other}`,
      });
      continue;
    }
    ids.set(parsed.ruleSet.id, file);
    out.ruleSets.push({ file, ruleSet: parsed.ruleSet });
  }
  return out;
}
