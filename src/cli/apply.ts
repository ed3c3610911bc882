import fs from 'node:fs/promises';
import path from 'node:path';
import type { DefinitionProblem } from '../catalog/definition.js';
import {
  type ApplyResult,
  applyDefinitions,
  type DefinitionFile,
  DefinitionsInvalidError,
} from '../definitions/apply.js';
import { parseCommandArgs } from './args.js';
import { openContext } from './context.js';
import { formatTable } from './output.js';
import { type ServeClient, ServeError } from './serve-client.js';

/** `feedwright apply [--dir DIR]`: loads feeds/ and rules/ into the store, all or nothing. */
export async function applyCommand(args: string[], json: boolean): Promise<number> {
  const { values } = parseCommandArgs(args, { dir: { type: 'string' } }, false);
  const dir = path.resolve(values.dir ?? '.');
  const ctx = await openContext(json, 'apply');
  try {
    const result =
      ctx.via === 'server'
        ? await applyThroughServer(ctx.server, dir)
        : await applyDefinitions(ctx.store, dir);
    if (json) ctx.out(JSON.stringify(result));
    else {
      if (result.applied.length === 0) ctx.out(`no definitions in ${path.join(dir, 'feeds')}`);
      else
        ctx.out(
          formatTable([
            ['KIND', 'ID', 'FILE', 'OUTCOME', 'VERSION'],
            ...result.applied.map((a) => [a.kind, a.id, a.file, a.outcome, String(a.version)]),
          ]),
        );
      for (const s of result.skipped) ctx.out(`skipped ${s.file}: ${s.reason}`);
    }
    return 0;
  } catch (err) {
    if (err instanceof DefinitionsInvalidError) {
      // Every problem on stderr, one per line; nothing was applied.
      process.stderr.write(`${err.message}\n`);
      process.stderr.write(`feedwright: apply refused: ${err.problems.length} problem(s), nothing applied\n`);
      return 1;
    }
    throw err;
  } finally {
    await ctx.close();
  }
}

/**
 * Sends the folder's `feeds/*.json` and `rules/*.json` to the running server, which checks and
 * applies them as a local apply does; relative file sources resolve against `dir`.
 */
async function applyThroughServer(server: ServeClient, dir: string): Promise<ApplyResult> {
  const files: DefinitionFile[] = [];
  for (const sub of ['feeds', 'rules']) {
    let names: string[];
    try {
      names = (await fs.readdir(path.join(dir, sub))).filter((n) => n.endsWith('.json')).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    for (const name of names) {
      files.push({ path: `${sub}/${name}`, content: await fs.readFile(path.join(dir, sub, name), 'utf8') });
    }
  }
  try {
    return await server.call<ApplyResult>('POST', '/api/definitions/apply', { json: { files, base: dir } });
  } catch (err) {
    if (err instanceof ServeError && err.code === 'APPLY_REFUSED') {
      const problems = (err.details as { problems?: DefinitionProblem[] } | undefined)?.problems ?? [];
      throw new DefinitionsInvalidError(problems);
    }
    throw err;
  }
}
