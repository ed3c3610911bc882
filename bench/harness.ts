/**
 * What the benchmarks share besides their data: a fresh store per run (a PostgreSQL schema
 * or a PGlite folder, removed at the end), RSS sampling, progress lines, number formats,
 * tables, and the versions and commit a result was measured on.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { progressBar } from '../src/cli/output.js';
import { PACKAGE_ROOT } from '../src/config/config.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/types.js';

/** Where each run's figures go, as JSON (git-ignored). */
export const RESULTS_DIR = path.join(PACKAGE_ROOT, 'bench', 'results');
const SAMPLE_EVERY_MS = 50;

/** Samples RSS on a timer and keeps the peak since `start`. */
export class RssSampler {
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    this.peak = process.memoryUsage.rss();
    this.timer = setInterval(() => this.sample(), SAMPLE_EVERY_MS);
  }

  /** Stops sampling and returns the step's peak. */
  stop(): number {
    this.sample();
    clearInterval(this.timer);
    this.timer = undefined;
    return this.peak;
  }

  private sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
  }
}

/** CPU time spent by the whole machine (every process, from /proc/stat) and by this process. */
export interface CpuUse {
  /** Core-seconds the machine's cores were busy (user, nice, system, irq, softirq). */
  machineBusyS: number;
  /** Core-seconds the machine had: elapsed time times the cores (idle, iowait and steal too). */
  machineTotalS: number;
  /** Core-seconds of this process, its threads included (process.cpuUsage). */
  processS: number;
}

interface CpuMark {
  machine: { busy: number; total: number } | null;
  process: NodeJS.CpuUsage;
}

// /proc/stat counts in USER_HZ ticks, 100 a second on Linux.
const TICKS_PER_S = 100;

function machineTicks(): { busy: number; total: number } | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0);
    return { busy, total: busy + (idle ?? 0) + (iowait ?? 0) + (steal ?? 0) };
  } catch {
    return null;
  }
}

/** Where CPU use is counted from (see cpuSince). */
export function cpuMark(): CpuMark {
  return { machine: machineTicks(), process: process.cpuUsage() };
}

/** CPU used since a mark; the machine's figures are null where /proc/stat cannot be read. */
export function cpuSince(mark: CpuMark): CpuUse | null {
  const now = machineTicks();
  const proc = process.cpuUsage(mark.process);
  if (!now || !mark.machine) return null;
  return {
    machineBusyS: (now.busy - mark.machine.busy) / TICKS_PER_S,
    machineTotalS: (now.total - mark.machine.total) / TICKS_PER_S,
    processS: (proc.user + proc.system) / 1e6,
  };
}

/** "93.1 of 106 core-s busy (88 %), this process 61.2". */
export function fmtCpu(c: CpuUse | null): string {
  if (!c) return 'CPU use unknown (no /proc/stat)';
  return `${c.machineBusyS.toFixed(1)} of ${c.machineTotalS.toFixed(1)} core-seconds busy (${Math.round(
    (100 * c.machineBusyS) / Math.max(c.machineTotalS, 1e-9),
  )} %), this process ${c.processS.toFixed(1)}`;
}

/** Progress on a terminal (a redrawn line), plain lines otherwise (at most one per 5 s). */
export class Progress {
  private label = '';
  private total = 0;
  private phase = '';
  private rows = 0;
  private started = 0;
  private phaseStarted = 0;
  private lastLine = 0;
  private ticker: NodeJS.Timeout | undefined;
  private readonly tty = process.stdout.isTTY === true;

  start(label: string, total: number, phase = ''): void {
    this.label = label;
    this.total = total;
    this.phase = phase;
    this.phaseStarted = performance.now();
    this.rows = 0;
    this.started = performance.now();
    this.lastLine = 0;
    // Diffing and applying report no rows; the ticker keeps the elapsed time moving.
    if (this.tty) this.ticker = setInterval(() => this.draw(), 250);
  }

  update(phase: string, rows: number): void {
    const now = performance.now();
    const newPhase = phase !== this.phase;
    if (newPhase) this.phaseStarted = now;
    this.phase = phase;
    this.rows = rows;
    if (this.tty) {
      if (newPhase || now - this.lastLine >= 100) {
        this.lastLine = now;
        this.draw();
      }
    } else if (newPhase || now - this.lastLine >= 5000) {
      this.lastLine = now;
      console.log(`  ${this.describe()}`);
    }
  }

  stop(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
    if (this.tty) process.stdout.write('\r\x1b[K');
  }

  private draw(): void {
    process.stdout.write(`\r\x1b[K  ${this.describe()}`);
  }

  private describe(): string {
    const now = performance.now();
    const elapsed = (now - this.started) / 1000;
    const ratio = this.total > 0 ? Math.min(1, this.rows / this.total) : 0;
    const pct = this.total > 0 ? ` (${Math.floor(ratio * 100)} %)` : '';
    // On a terminal, a bar ahead of the figures.
    const bar = this.tty && this.total > 0 ? `${progressBar(ratio, 20)} ` : '';
    const rate =
      this.phase === 'reading' || this.phase === 'writing' || this.phase === 'building'
        ? `, ${fmtInt(this.rows / elapsed)} rows/s`
        : '';
    // A plain line is printed as a phase starts: its time in the phase would always read 0.
    const inPhase = !this.phase
      ? ''
      : this.tty
        ? ` ${this.phase} ${fmtSec(now - this.phaseStarted)}`
        : ` ${this.phase}`;
    return `${bar}${this.label}:${inPhase} · ${fmtInt(this.rows)} rows${pct}${rate} · ${elapsed.toFixed(1)} s`;
  }
}

// Backends

export interface BenchStore {
  store: Store;
  backend: 'pglite' | 'postgres';
  /** Where it lives: the PGlite folder or the PostgreSQL schema. */
  where: string;
  /** Closes the store and removes it. */
  cleanup: () => Promise<void>;
  /** Removes the store while an import may still be running (Ctrl-C). */
  abort: () => Promise<void>;
}

/** A fresh, migrated store: a new schema on DATABASE_URL, or PGlite in a new temp folder. */
export async function openBenchStore(): Promise<BenchStore> {
  const base = process.env.DATABASE_URL;
  if (!base) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-bench-'));
    const cleanup = async () => fs.rmSync(dataDir, { recursive: true, force: true });
    try {
      const store = await openStore({ databaseUrl: undefined, dataDir });
      return {
        store,
        backend: 'pglite',
        where: dataDir,
        cleanup: async () => {
          await store.close();
          await cleanup();
        },
        abort: async () => {
          // A statement running inside PGlite cannot be cancelled; do not wait for it long.
          await Promise.race([store.close(), new Promise((r) => setTimeout(r, 2000).unref())]);
          await cleanup();
        },
      };
    } catch (err) {
      await cleanup();
      throw err;
    }
  }

  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: base });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE SCHEMA ${schema}`);
  const url = new URL(base);
  // Options already in DATABASE_URL (say `-c log_min_duration_statement=500`) are kept.
  const options = url.searchParams.get('options');
  url.searchParams.set('options', `${options ? `${options} ` : ''}-c search_path=${schema}`);
  // Names the bench's connections in pg_stat_activity, so an interrupted run can cancel them.
  const appName = `feedwright-${schema}`;
  url.searchParams.set('application_name', appName);
  const drop = () => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  try {
    const store = await openStore({ databaseUrl: url.toString(), dataDir: os.tmpdir() });
    return {
      store,
      backend: 'postgres',
      where: `schema ${schema} on ${redact(base)}`,
      cleanup: async () => {
        await store.close();
        await drop();
      },
      abort: async () => {
        // Cancelling (not terminating) the running statement lets the import fail as it
        // would on any error; its locks go with it and the drop can proceed.
        for (let attempt = 1; ; attempt++) {
          try {
            await admin(`SELECT pg_cancel_backend(pid) FROM pg_stat_activity
                         WHERE application_name = '${appName}' AND pid <> pg_backend_pid();
                         SET lock_timeout = '3s'; DROP SCHEMA IF EXISTS ${schema} CASCADE`);
            return;
          } catch (err) {
            if (attempt === 3) {
              throw new Error(`could not drop schema ${schema} (${String(err)}); drop it by hand`);
            }
          }
        }
      },
    };
  } catch (err) {
    await drop().catch(() => {});
    throw err;
  }
}

export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtSec(ms: number | null): string {
  if (ms === null) return '—';
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function fmtMiB(bytes: number | null): string {
  return bytes === null ? '?' : `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

export function packageVersion(name: string): string | null {
  try {
    const file = path.join(PACKAGE_ROOT, 'node_modules', name, 'package.json');
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

/** The commit measured, and the files under src/ and migrations/ that differ from it. */
export function gitState(): { commit: string; uncommitted: string[] } | null {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: PACKAGE_ROOT, stdio: 'pipe' }).toString();
    // Porcelain lines are `XY path`; the status letters may be spaces, so no trimming.
    const status = git('status', '--porcelain', '--', 'src', 'migrations');
    return {
      commit: git('rev-parse', 'HEAD').trim(),
      uncommitted: status
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.slice(3)),
    };
  } catch {
    return null;
  }
}

export async function tableBytes(store: Store, table: string): Promise<number | null> {
  try {
    const rows = await store.query<{ bytes: number | string }>({
      text: 'SELECT pg_total_relation_size($1::regclass) AS bytes',
      values: [table],
    });
    return rows[0] ? Number(rows[0].bytes) : null;
  } catch {
    return null;
  }
}

/** A plain text table: the first column (and those in `left`) left-aligned, the others right-aligned. */
export function renderTable(head: string[], body: string[][], left: readonly number[] = []): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || left.includes(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The machine a result was measured on; the load average is taken now. */
export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? null,
    totalMemoryBytes: os.totalmem(),
    platform: os.platform(),
    arch: os.arch(),
    osRelease: os.release(),
    node: process.version,
    // Other work on the machine skews the figures; the load average tells whether there was any.
    loadAverage: os.loadavg(),
  };
}

/** The 1-, 5- and 15-minute load averages as `1.23 0.98 0.50`. */
export function fmtLoad(load: readonly number[]): string {
  return load.map((x) => x.toFixed(2)).join(' ');
}

/** Writes a result file as `bench/results/<name>-<ISO time>.json`; returns its path. */
export function writeResults(name: string, startedAt: Date, report: unknown): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const out = path.join(RESULTS_DIR, `${name}-${startedAt.toISOString().replaceAll(':', '-')}.json`);
  fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  return out;
}

/** Prints a loud warning when checks failed, and sets exit status 1. */
export function reportFailures(what: string, failures: readonly string[]): void {
  if (failures.length === 0) return;
  const bar = '!'.repeat(78);
  console.error(`\n${bar}\n!! WARNING: ${what}; these figures are suspect:`);
  for (const f of failures) console.error(`!!   ${f}`);
  console.error(`${bar}\n`);
  process.exitCode = 1;
}

/** Parses a whole-number option value: accepts 100000, 100_000 and 1e5. */
export function wholeNumber(name: string, value: string | undefined, min = 1): number {
  const n = value === undefined ? Number.NaN : Number(value.replaceAll('_', ''));
  if (!Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${name} needs a whole number ≥ ${min}, got "${value ?? ''}"`);
  }
  return n;
}

/**
 * Parses a bench's options, each a whole number (`--name N` or `--name=N`), over their
 * defaults: `names` maps each flag to its option, `min` gives an option's least value (1
 * when left out). `--help` prints the usage and exits; an unknown flag is a UsageError.
 */
export function wholeNumberOptions<T extends Record<string, number>>(
  argv: readonly string[],
  defaults: T,
  names: Record<string, keyof T & string>,
  usage: string,
  min: Partial<Record<keyof T, number>> = {},
): T {
  const opts = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') {
      console.log(usage);
      process.exit(0);
    }
    const [name, inline] = arg.split('=', 2) as [string, string | undefined];
    const key = names[name];
    if (key === undefined) throw new UsageError(`unknown argument "${arg}"`);
    (opts as Record<string, number>)[key] = wholeNumber(name, inline ?? argv[++i], min[key] ?? 1);
  }
  return opts;
}

/** A wrong command line: printed with the usage, exit status 2. */
export class UsageError extends Error {}

/**
 * Runs a bench's `main`: a wrong command line prints the message and the usage (exit 2),
 * any other failure its stack (exit 1), and nothing when `quiet()` says the run was
 * interrupted (Ctrl-C removed its store, so its failure is no news).
 */
export function runBench(main: () => Promise<void>, usage: string, quiet: () => boolean = () => false): void {
  main().catch((err: unknown) => {
    if (quiet()) return;
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${usage}`);
      process.exitCode = 2;
      return;
    }
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exitCode = 1;
  });
}
