import path from 'node:path';
import { applyDefinitions, DefinitionsInvalidError } from '../apply/apply-definitions.js';
import { parseCommandArgs } from './args.js';
import { openContext } from './context.js';
import { formatTable } from './output.js';

/** `feedwright apply [--dir DIR]`: loads feeds/ (and later rules/) into the store. */
export async function applyCommand(args: string[], json: boolean): Promise<number> {
  const { values } = parseCommandArgs(args, { dir: { type: 'string' } }, false);
  const dir = path.resolve(values.dir ?? '.');
  const ctx = await openContext(json);
  try {
    const result = await applyDefinitions(ctx.store, dir);
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
    await ctx.store.close();
  }
}
