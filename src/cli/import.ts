import fs from 'node:fs';
import { applyHeldRun, runImport } from '../catalog/import-run.js';
import { getCatalog } from '../store/catalogs.js';
import { type ImportRunRecord, listRowErrors } from '../store/imports.js';
import type { Store } from '../store/types.js';
import { parseCommandArgs, UsageError } from './args.js';
import { openContext } from './context.js';
import { formatTable, Progress } from './output.js';

/** Exit status of a held run: not a crash, but a script must notice. */
export const EXIT_HELD = 2;

/**
 * `feedwright import <catalog> [--file PATH|-] [--partial] [--force]`, or
 * `feedwright import --apply-run RUN` to apply a held run as it was staged.
 */
export async function importCommand(args: string[], json: boolean): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    file: { type: 'string' },
    partial: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    'apply-run': { type: 'string' },
  });
  const applyRun = values['apply-run'];
  const catalogId = positionals[0];
  if (applyRun === undefined && !catalogId)
    throw new UsageError('usage: feedwright import <catalog> [--file PATH|-] [--partial] [--force]');
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  if (values.file !== undefined && values.file !== '-' && !fs.existsSync(values.file)) {
    throw new UsageError(`--file ${values.file}: no such file`);
  }
  const ctx = await openContext(json);
  try {
    let run: ImportRunRecord;
    if (applyRun !== undefined) {
      const id = Number(applyRun);
      if (!Number.isInteger(id) || id < 1) throw new UsageError('--apply-run takes a run id');
      run = await applyHeldRun(ctx.store, id, 'cli');
    } else {
      const progress = new Progress(`import ${catalogId}`);
      const file = values.file;
      const total = await sourceSize(ctx.store, catalogId as string, file);
      run = await runImport(ctx.store, {
        catalogId: catalogId as string,
        input:
          file === '-'
            ? { kind: 'upload', stream: process.stdin, name: 'stdin' }
            : file !== undefined
              ? { kind: 'file', path: file }
              : { kind: 'default' },
        mode: values.partial ? 'partial' : 'full',
        force: values.force,
        actor: 'cli',
        allowPrivateSources: ctx.config.allowPrivateSources,
        onProgress: (p) =>
          progress.update(
            p.phase,
            p.rows,
            total === undefined
              ? undefined
              : // Past reading, every byte was read.
                { done: p.bytes ?? (p.phase === 'reading' ? 0 : total), total, unit: 'bytes' },
          ),
      });
      progress.done();
    }
    const errors = await listRowErrors(ctx.store, run.id, { limit: 20, offset: 0 });
    if (json) ctx.out(JSON.stringify({ run, rowErrors: errors }));
    else printRun(ctx.out, run, errors);
    if (run.status === 'failed') {
      process.stderr.write(`feedwright: import ${run.id} failed: ${run.failure}\n`);
      return 1;
    }
    if (run.status === 'held') {
      process.stderr.write(
        `feedwright: import ${run.id} held: ${run.heldReasons.map((r) => r.message).join('; ')} (${
          run.applicable
            ? `apply it with --apply-run ${run.id}, or re-run with --force`
            : 'nothing was staged, so there is nothing to apply: mend the feed and import again'
        })\n`,
      );
      return EXIT_HELD;
    }
    return 0;
  } finally {
    await ctx.store.close();
  }
}

/**
 * The size of what the import reads, when it is a file (`--file`, stdin redirected from a
 * file, or the catalog's own file source): the progress bar's total.
 */
async function sourceSize(
  store: Store,
  catalogId: string,
  file: string | undefined,
): Promise<number | undefined> {
  try {
    if (file === '-') {
      const stat = fs.fstatSync(0);
      return stat.isFile() ? stat.size : undefined;
    }
    const source = file === undefined ? (await getCatalog(store, catalogId))?.definition.source : undefined;
    const path = file ?? (source && 'file' in source ? source.file : undefined);
    return path === undefined ? undefined : fs.statSync(path).size;
  } catch {
    // No bar then; the import itself reports a missing source.
    return undefined;
  }
}

function printRun(
  out: (s: string) => void,
  run: ImportRunRecord,
  errors: Array<{ line: number; sku: string | null; code: string; message: string }>,
): void {
  const c = run.counts;
  out(
    `import ${run.id} of ${run.catalog}: ${run.status}${run.forced ? ' (forced)' : ''} in ${run.durationMs ?? 0} ms`,
  );
  out(
    formatTable([
      ['ROWS', 'VALID', 'CREATED', 'UPDATED', 'UNCHANGED', 'REMOVED', 'ERRORS', 'SKIPPED', 'WARNINGS'],
      [c.rows, c.valid, c.created, c.updated, c.unchanged, c.removed, c.errors, c.skipped, c.warnings].map(
        String,
      ),
    ]),
  );
  for (const r of run.heldReasons) out(`held: ${r.message}`);
  if (errors.length > 0) {
    out('');
    out(
      formatTable([
        ['LINE', 'SKU', 'REASON'],
        ...errors.map((e) => [String(e.line), e.sku ?? '', e.message]),
      ]),
    );
    if (c.errors > errors.length) out(`… and ${c.errors - errors.length} more (GET /api/imports/${run.id})`);
  }
}
