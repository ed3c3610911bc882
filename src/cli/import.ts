import fs from 'node:fs';
import path from 'node:path';
import { applyHeldRun, runImport } from '../import/run.js';
import { localSourcePath } from '../sources/source.js';
import { getCatalog } from '../store/catalogs.js';
import {
  type ImportRun,
  type ImportRunRecord,
  listRowErrors,
  publicRun,
  type RowNote,
} from '../store/imports.js';
import type { Store } from '../store/types.js';
import { numberFormatText, plural, runStatusText } from '../text.js';
import { parseCommandArgs, UsageError } from './args.js';
import { openContext, type StoreContext } from './context.js';
import { formatTable, Progress } from './output.js';
import { type ServeClient, seg } from './serve-client.js';

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
  const request: ImportArgs = {
    catalogId: catalogId as string,
    file: values.file,
    partial: values.partial,
    force: values.force,
    applyRun: applyRun === undefined ? undefined : runId(applyRun),
  };
  const ctx = await openContext(json, 'import');
  try {
    const { run, errors } =
      ctx.via === 'server' ? await importThroughServer(ctx.server, request) : await importHere(ctx, request);
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
    if (run.counts.errors > 0) {
      // Applied, but not a plain success: the rows that failed are listed above.
      process.stderr.write(
        `feedwright: warning: import ${run.id} applied with ${plural(run.counts.errors, 'row error')}${
          run.counts.kept > 0
            ? `; ${plural(run.counts.kept, 'product')} kept ${run.counts.kept === 1 ? 'its' : 'their'} last imported version`
            : ''
        }\n`,
      );
    }
    return 0;
  } finally {
    await ctx.close();
  }
}

/** What to import, as the command line says it. */
interface ImportArgs {
  catalogId: string;
  file: string | undefined;
  partial: boolean;
  force: boolean;
  /** `--apply-run RUN`: apply that held run instead. */
  applyRun: number | undefined;
}

/** Row errors the command prints; the rest are in `GET /api/imports/{run}`. */
const SHOWN_ROW_ERRORS = 20;

function runId(text: string): number {
  const id = Number(text);
  if (!Number.isInteger(id) || id < 1) throw new UsageError('--apply-run takes a run id');
  return id;
}

/** The import run in this process, on the store it opened. */
async function importHere(
  ctx: StoreContext,
  req: ImportArgs,
): Promise<{ run: ImportRun; errors: RowNote[] }> {
  let run: ImportRunRecord;
  if (req.applyRun !== undefined) {
    run = await applyHeldRun(ctx.store, req.applyRun, 'cli');
  } else {
    const progress = new Progress(`import ${req.catalogId}`);
    const file = req.file;
    const total = await sourceSize(ctx.store, req.catalogId, file);
    run = await runImport(ctx.store, {
      catalogId: req.catalogId,
      input:
        file === '-'
          ? { kind: 'upload', stream: process.stdin, name: 'stdin' }
          : file !== undefined
            ? { kind: 'file', path: file }
            : { kind: 'default' },
      mode: req.partial ? 'partial' : 'full',
      force: req.force,
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
  const errors = await listRowErrors(ctx.store, run.id, { limit: SHOWN_ROW_ERRORS, offset: 0 });
  return { run: publicRun(run), errors };
}

/**
 * The import run by the `serve` that holds the embedded store: the file (or stdin) streamed
 * as the request body, or no body for the catalog's own source.
 */
async function importThroughServer(
  server: ServeClient,
  req: ImportArgs,
): Promise<{ run: ImportRun; errors: RowNote[] }> {
  let run: ImportRun;
  if (req.applyRun !== undefined) {
    run = (await server.call<{ run: ImportRun }>('POST', `/api/imports/${req.applyRun}/apply`)).run;
  } else {
    const progress = new Progress(`import ${req.catalogId}`);
    const file = req.file;
    const size = file === undefined ? undefined : uploadSize(file);
    // The server reads the upload as it arrives: what is sent is what it has read.
    const sending = (bytes: number) => {
      // Once all is sent, the server diffs and applies: a spinner then, the rate would mean nothing.
      if (size !== undefined && bytes >= size) progress.update('importing', undefined);
      else
        progress.update(
          'reading',
          undefined,
          size === undefined ? undefined : { done: bytes, total: size, unit: 'bytes' },
        );
    };
    progress.update(file === undefined ? 'importing' : 'reading', undefined);
    const answer = await server
      .send<{ run?: ImportRun }>('POST', `/api/catalogs/${seg(req.catalogId)}/imports`, {
        query: {
          mode: req.partial ? 'partial' : 'full',
          force: req.force,
          name: file === undefined ? undefined : file === '-' ? 'stdin' : uploadName(file),
        },
        upload:
          file === undefined
            ? undefined
            : {
                stream: file === '-' ? process.stdin : fs.createReadStream(file),
                size,
                onSent: sending,
              },
      })
      .finally(() => progress.done());
    // A failed run answers 422 with the run; other errors answer no run.
    const body = answer.body;
    if (!body?.run || (answer.status >= 300 && answer.status !== 422)) throw server.failure(answer);
    run = body.run;
  }
  const detail = await server.call<{ rowErrors: RowNote[] }>('GET', `/api/imports/${run.id}`, {
    query: { errorsLimit: SHOWN_ROW_ERRORS, errorsOffset: 0 },
  });
  return { run, errors: detail.rowErrors };
}

/** The upload's size when it is a file (stdin too, when redirected from one). */
function uploadSize(file: string): number | undefined {
  try {
    const stat = file === '-' ? fs.fstatSync(0) : fs.statSync(file);
    return stat.isFile() ? stat.size : undefined;
  } catch {
    return undefined;
  }
}

/** The name the run records for a file (`?name=`, at most 255 characters). */
function uploadName(file: string): string {
  return file.length <= 255 ? file : path.basename(file).slice(-255);
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
    const path = file ?? (source ? localSourcePath(source) : undefined);
    return path === undefined ? undefined : fs.statSync(path).size;
  } catch {
    // No bar then; the import itself reports a missing source.
    return undefined;
  }
}

function printRun(out: (s: string) => void, run: ImportRun, errors: RowNote[]): void {
  const c = run.counts;
  out(
    `import ${run.id} of ${run.catalog}: ${runStatusText(run)}${run.forced ? ' (forced)' : ''} in ${run.durationMs ?? 0} ms`,
  );
  out(
    formatTable([
      [
        'ROWS',
        'VALID',
        'CREATED',
        'UPDATED',
        'UNCHANGED',
        'REMOVED',
        'KEPT',
        'ERRORS',
        'SKIPPED',
        'WARNINGS',
      ],
      [
        c.rows,
        c.valid,
        c.created,
        c.updated,
        c.unchanged,
        c.removed,
        c.kept,
        c.errors,
        c.skipped,
        c.warnings,
      ].map(String),
    ]),
  );
  if (run.numberFormat) out(`numbers: ${numberFormatText(run.numberFormat)}`);
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
