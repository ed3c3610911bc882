import fs from 'node:fs/promises';
import path from 'node:path';
import { type FeedRow, previewInChannel } from '../channels/explain.js';
import { parseRuleSet, SCHEMA_FILE } from '../rules/files.js';
import type { PreviewResult } from '../rules/preview.js';
import { formatProblem } from '../rules/problems.js';
import { previewRules, restoreRuleSet } from '../rules/service.js';
import type { RuleProblem } from '../rules/types.js';
import { listRuleSetVersions, type RuleSetVersion } from '../store/rule-sets.js';
import { parseCommandArgs, refuseOtherCatalog, UsageError } from './args.js';
import { parseAt } from './at.js';
import { findChannel, openContext } from './context.js';
import { formatTable, showValue } from './output.js';
import { seg } from './serve-client.js';

const USAGE =
  'usage: feedwright rules validate <file|folder…> | rules preview <channel|rule-set> [--rules FILE] [--catalog ID] [--at ISO] [--samples N] | rules versions <rule-set> | rules restore <rule-set> --version N';

/** `feedwright rules …`: validate files, preview over a catalog, list and restore versions. */
export async function rulesCommand(args: string[], json: boolean): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'validate':
      return validateFiles(rest, json);
    case 'preview':
      return preview(rest, json);
    case 'versions':
      return versions(rest, json);
    case 'restore':
      return restore(rest, json);
    default:
      throw new UsageError(USAGE);
  }
}

async function validateFiles(args: string[], json: boolean): Promise<number> {
  if (args.length === 0) throw new UsageError('usage: feedwright rules validate <file|folder…>');
  const problems: RuleProblem[] = [];
  const skipped: Array<{ file: string; reason: string }> = [];
  let checked = 0;
  for (const file of await ruleFiles(args, problems)) {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      problems.push({
        file,
        path: '$',
        message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? err}`,
      });
      continue;
    }
    // A rules/ folder holds the rule sets' JSON Schema beside them (`rules/*.json` names it),
    // and feeds/ holds catalogs and channels: named, they are said to be skipped.
    const other = notARuleSet(file, text);
    if (other) {
      skipped.push({ file, reason: `${other}, not a rule set` });
      continue;
    }
    checked++;
    const parsed = parseRuleSet(text, file);
    if (!parsed.ok) problems.push(...parsed.problems);
  }
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ valid: problems.length === 0 && checked > 0, checked, problems, skipped })}\n`,
    );
  } else {
    for (const s of skipped) process.stdout.write(`skipped ${s.file}: ${s.reason}\n`);
    if (problems.length === 0 && checked > 0) process.stdout.write(`${checked} rule set file(s) valid\n`);
    else if (problems.length === 0) process.stderr.write('feedwright: no rule set among the files given\n');
    else {
      process.stderr.write(`${problems.map(formatProblem).join('\n')}\n`);
      process.stderr.write(`feedwright: ${problems.length} problem(s) in ${checked} file(s)\n`);
    }
  }
  return problems.length === 0 && checked > 0 ? 0 : 1;
}

/** The files to validate: each file given, and the `.json` files of each folder given, by name. */
async function ruleFiles(args: string[], problems: RuleProblem[]): Promise<string[]> {
  const files: string[] = [];
  for (const arg of args) {
    const stat = await fs.stat(arg).catch(() => undefined);
    if (!stat?.isDirectory()) {
      files.push(arg);
      continue;
    }
    const names = (await fs.readdir(arg)).filter((n) => n.endsWith('.json')).sort();
    if (names.length === 0)
      problems.push({ file: arg, path: '$', message: 'the folder holds no .json file' });
    files.push(...names.map((n) => path.join(arg, n)));
  }
  return files;
}

/** What a file is when it is not a rule set: a JSON Schema document, a catalog or a channel. */
function notARuleSet(file: string, text: string): string | undefined {
  if (path.basename(file) === SCHEMA_FILE) return 'a JSON Schema document';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { $schema, kind } = value as { $schema?: unknown; kind?: unknown };
  if (typeof $schema === 'string' && /^https?:\/\/json-schema\.org\//.test($schema))
    return 'a JSON Schema document';
  if (kind === 'catalog' || kind === 'channel') return `a ${kind} definition`;
  return undefined;
}

async function preview(args: string[], json: boolean): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    rules: { type: 'string' },
    catalog: { type: 'string' },
    at: { type: 'string' },
    samples: { type: 'string' },
  });
  const id = positionals[0];
  if (!id && !values.rules)
    throw new UsageError(
      'usage: feedwright rules preview <channel|rule-set> [--rules FILE] [--catalog ID] [--at ISO]',
    );
  const at = parseAt(values.at);
  const samples = values.samples === undefined ? 3 : Number(values.samples);
  if (!Number.isInteger(samples) || samples < 0 || samples > 50)
    throw new UsageError('--samples must be 0 to 50');
  let ruleSet: unknown;
  if (values.rules) {
    const parsed = parseRuleSet(await fs.readFile(values.rules, 'utf8'), path.relative('.', values.rules));
    if (!parsed.ok) {
      process.stderr.write(`${parsed.problems.map(formatProblem).join('\n')}\n`);
      throw new UsageError(`${values.rules}: the rule set is refused`);
    }
    ruleSet = parsed.ruleSet;
  }
  const ctx = await openContext(json, 'rules preview');
  try {
    // A channel: its rule sets over its catalog, with the file as a draft of one of them.
    const channel = id === undefined ? undefined : await findChannel(ctx, id);
    if (channel) refuseOtherCatalog(channel, values.catalog);
    let result: ChannelPreview;
    if (ctx.via === 'server') {
      result = channel
        ? await ctx.server.call<ChannelPreview>('POST', `/api/channels/${seg(channel.id)}/preview`, {
            json: { ruleSet, at: at.toISOString(), samples },
          })
        : await ctx.server.call<ChannelPreview>('POST', '/api/rules/preview', {
            json: {
              ...(ruleSet !== undefined ? { ruleSet } : { ruleSetId: id }),
              catalog: values.catalog,
              at: at.toISOString(),
              samples,
            },
          });
    } else {
      result = channel
        ? await previewInChannel(ctx.store, { channelId: channel.id, draft: ruleSet, at, samples })
        : await previewRules(ctx.store, {
            rules: ruleSet !== undefined ? { ruleSet } : { ids: [id as string] },
            catalogId: values.catalog,
            at,
            samples,
          });
    }
    if (json) ctx.out(JSON.stringify(result));
    else printPreview(ctx.out, result);
    return 0;
  } finally {
    await ctx.close();
  }
}

/** A preview, in a channel with the feed rows of its samples. */
type ChannelPreview = PreviewResult & {
  catalog: string;
  channel?: string;
  feedRows?: Record<string, FeedRow>;
};

function printPreview(out: (s: string) => void, r: ChannelPreview): void {
  const t = r.totals;
  out(
    `preview of ${r.ruleSets.join(', ')} over ${r.catalog}${r.channel ? ` for channel ${r.channel}` : ''} at ${r.at} (nothing changed)`,
  );
  out(
    `${t.products} products: ${t.included} in the feed, ${t.excluded} out (${t.excludedByRules} by rules, ${t.excludedInactive} inactive), ${t.changed} changed`,
  );
  out('');
  out(
    formatTable([
      ['RULE SET', 'RULE', 'WINDOW', 'MATCHED', 'CHANGED', 'EXCLUDED'],
      ...r.rules.map((x) => [
        x.ruleSet,
        x.rule,
        x.windowOpen === null ? '' : x.windowOpen ? 'open' : 'closed',
        String(x.matched),
        String(x.changed),
        String(x.excluded),
      ]),
    ]),
  );
  for (const x of r.rules) {
    for (const s of x.samples) {
      const changes = Object.keys({ ...s.before, ...s.after })
        .map((k) => `${k}: ${showValue(s.before[k])} → ${showValue(s.after[k])}`)
        .join('; ');
      out(`  ${x.rule} · ${s.sku}: ${s.excluded ? `excluded (${s.excluded})` : changes}`);
      const row = r.feedRows?.[s.sku];
      if (row) out(`    feed row: ${showValue(row, { max: 200 })}`);
    }
  }
}

async function versions(args: string[], json: boolean): Promise<number> {
  const { positionals } = parseCommandArgs(args, {});
  const id = positionals[0];
  if (!id) throw new UsageError('usage: feedwright rules versions <rule-set>');
  const ctx = await openContext(json, 'rules versions');
  try {
    const list =
      ctx.via === 'server'
        ? (await ctx.server.call<{ versions: RuleSetVersion[] }>('GET', `/api/rules/${seg(id)}/versions`))
            .versions
        : await listRuleSetVersions(ctx.store, id);
    if (list.length === 0) throw new UsageError(`no rule set "${id}"`);
    if (json) ctx.out(JSON.stringify({ versions: list }));
    else
      ctx.out(
        formatTable([
          ['VERSION', 'TIME', 'AUTHOR', 'NOTE'],
          ...list.map((v) => [
            String(v.version),
            v.createdAt,
            v.author,
            v.restoredFrom === null ? '' : `restored from version ${v.restoredFrom}`,
          ]),
        ]),
      );
    return 0;
  } finally {
    await ctx.close();
  }
}

async function restore(args: string[], json: boolean): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { version: { type: 'string' } });
  const id = positionals[0];
  const version = Number(values.version);
  if (!id || !Number.isInteger(version) || version < 1) {
    throw new UsageError('usage: feedwright rules restore <rule-set> --version N');
  }
  const ctx = await openContext(json, 'rules restore');
  try {
    const result =
      ctx.via === 'server'
        ? await ctx.server.call<Awaited<ReturnType<typeof restoreRuleSet>>>(
            'POST',
            `/api/rules/${seg(id)}/restore`,
            { json: { version } },
          )
        : await restoreRuleSet(ctx.store, id, version, 'cli');
    if (json) ctx.out(JSON.stringify(result));
    else
      ctx.out(
        result.outcome === 'unchanged'
          ? `${id} already is as version ${version} was`
          : `${id}: version ${result.ruleSet.version} restores version ${version}`,
      );
    return 0;
  } finally {
    await ctx.close();
  }
}
