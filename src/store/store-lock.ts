import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The embedded store (PGlite in DATA_DIR) can be open in one process only: two PGlite
 * instances on one folder each believe they own it, and one's writes are lost. The process
 * that opens it holds this file under DATA_DIR, naming itself; `serve` adds where the command
 * line can reach it. The file is created atomically (a hard link of a complete file), written
 * with mode 0600 (it holds serve's local credential), and replaced atomically (rename) when
 * serve's state changes. A lock whose process is gone, or whose pid now belongs to another
 * program, is stale, and the next opener takes it over.
 */
export const STORE_LOCK_FILE = 'store.lock';

/** How the command line reaches a `serve` that holds the store. */
export interface ServeEndpoint {
  /**
   * `starting`: opening and migrating the store, applying definitions (not listening yet);
   * `ready`: listening at `url`; `stopping`: shutting down after a signal.
   */
  state: 'starting' | 'ready' | 'stopping';
  /** The address this machine reaches it at (`http://127.0.0.1:8080` when it listens on 0.0.0.0). */
  url: string | null;
  /** A random credential of this run for /api, accepted from this machine only; the file is the user's alone. */
  token: string;
  /** The highest migration of its schema, once it has migrated. */
  schema: number | null;
}

/** Who holds the store: the content of the lock file. */
export interface StoreHolder {
  pid: number;
  /** The feedwright command: `serve`, `import`, `apply`… */
  command: string;
  startedAt: string;
  /**
   * The process's start as the kernel counts it (Linux: boot id and start tick), which tells
   * a live holder from a later program that got the same pid; null where it cannot be read.
   */
  processStart: string | null;
  serve: ServeEndpoint | null;
}

/** Thrown when another live process holds the store; `holder` says which. */
export class StoreInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: StoreHolder,
  ) {
    super(
      `the embedded store in ${dataDir} is in use by ${describeHolder(holder)}; one process at a time may open it`,
    );
    this.name = 'StoreInUseError';
  }
}

/** `feedwright serve (pid 4242, since 2026-05-01 10:02:11Z, listening on http://127.0.0.1:8080)`. */
export function describeHolder(h: StoreHolder): string {
  const parts = [`pid ${h.pid}`, `since ${h.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}`];
  if (h.serve?.state === 'ready' && h.serve.url) parts.push(`listening on ${h.serve.url}`);
  else if (h.serve) parts.push(h.serve.state);
  return `feedwright ${h.command} (${parts.join(', ')})`;
}

/** The lock file of a data folder. */
export function storeLockPath(dataDir: string): string {
  return path.join(dataDir, STORE_LOCK_FILE);
}

/** A new local credential for `serve` (256 bits). */
export function newLocalToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What the lock file says now. */
export type StoreLockState =
  | { kind: 'free' }
  | { kind: 'held'; holder: StoreHolder }
  | { kind: 'stale'; holder: StoreHolder | undefined };

/** Reads the lock of a data folder: free, held by a live process, or stale. */
export function readStoreLock(dataDir: string): StoreLockState {
  const raw = readRaw(storeLockPath(dataDir));
  if (raw === undefined) return { kind: 'free' };
  const holder = parseHolder(raw);
  return holder && holderAlive(storeLockPath(dataDir), holder)
    ? { kind: 'held', holder }
    : { kind: 'stale', holder };
}

// Lock files this process holds: a lock naming this pid is live only when it is one of them.
const heldHere = new Set<string>();

/** A lock this process holds. `release` (or the process's exit) removes it. */
export class StoreLock {
  private raw: string;
  private released = false;
  private readonly onExit = () => {
    try {
      this.release();
    } catch {
      // The process is ending; a lock left behind is stale and taken over by the next opener.
    }
  };

  /** @internal made by acquireStoreLock */
  constructor(
    readonly dataDir: string,
    private current: StoreHolder,
    raw: string,
  ) {
    this.raw = raw;
    heldHere.add(this.file);
    // A crash or process.exit() still lets go of it (SIGKILL cannot: the next opener sees it stale).
    process.on('exit', this.onExit);
  }

  get file(): string {
    return storeLockPath(this.dataDir);
  }

  /** What the file says. */
  get holder(): StoreHolder {
    return this.current;
  }

  /** Changes serve's part of the lock (its state, address, schema), atomically. */
  updateServe(patch: Partial<ServeEndpoint>): void {
    if (this.released || !this.current.serve) return;
    const next: StoreHolder = { ...this.current, serve: { ...this.current.serve, ...patch } };
    const raw = `${JSON.stringify(next, null, 2)}\n`;
    const tmp = `${this.file}.${process.pid}.tmp`;
    writePrivate(tmp, raw);
    fs.renameSync(tmp, this.file);
    this.current = next;
    this.raw = raw;
  }

  /** Removes the lock file, when it still is this process's. */
  release(): void {
    if (this.released) return;
    this.released = true;
    process.off('exit', this.onExit);
    heldHere.delete(this.file);
    try {
      if (fs.readFileSync(this.file, 'utf8') === this.raw) fs.unlinkSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/**
 * Takes the lock of a data folder for `command`, taking over a stale one; throws
 * StoreInUseError naming the live process that holds it. `serve` passes its local credential.
 */
export async function acquireStoreLock(
  dataDir: string,
  command: string,
  serve?: { token: string },
): Promise<StoreLock> {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = storeLockPath(dataDir);
  const holder: StoreHolder = {
    pid: process.pid,
    command,
    startedAt: new Date().toISOString(),
    processStart: processStartOf(process.pid) ?? null,
    serve: serve ? { state: 'starting', url: null, token: serve.token, schema: null } : null,
  };
  const raw = `${JSON.stringify(holder, null, 2)}\n`;
  for (let attempt = 0; attempt < 100; attempt++) {
    if (createExclusive(file, raw)) return new StoreLock(dataDir, holder, raw);
    const seen = readRaw(file);
    if (seen === undefined) continue; // let go of between the two calls: try again
    const other = parseHolder(seen);
    if (other && holderAlive(file, other)) throw new StoreInUseError(dataDir, other);
    // Stale (its process is gone) or unreadable (not a lock this code wrote): take it over.
    await removeLockIfUnchanged(file, seen);
  }
  throw new Error(`${file}: the lock changed hands 100 times while this process tried to take it`);
}

/**
 * Creates `file` with `raw` only if it does not exist, never showing a reader a partial file:
 * a complete private file is written aside, then hard-linked into place.
 */
function createExclusive(file: string, raw: string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.new`;
  writePrivate(tmp, raw);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Removes a stale lock file, but only if it still reads `seen`, the content judged stale: two
 * processes taking it over at once must not remove the fresh lock one of them has just made.
 * A short guard file (created exclusively) makes "still the same, then remove" one step.
 */
export async function removeLockIfUnchanged(file: string, seen: string): Promise<void> {
  const guard = `${file}.takeover`;
  const mine = `${process.pid}\n`;
  for (let waited = 0; ; waited++) {
    try {
      fs.writeFileSync(guard, mine, { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A guard is held for a moment; one left by a process killed while holding it is removed.
      const owner = Number.parseInt(readRaw(guard) ?? '', 10);
      const age = guardAge(guard);
      if (!(owner > 0 && pidAlive(owner)) || age > 10_000) fs.rmSync(guard, { force: true });
      else if (waited > 500) throw new Error(`${guard}: another process is taking over the lock`);
      else await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  try {
    if (readRaw(file) === seen) fs.rmSync(file, { force: true });
  } finally {
    if (readRaw(guard) === mine) fs.rmSync(guard, { force: true });
  }
}

function guardAge(guard: string): number {
  try {
    return Date.now() - fs.statSync(guard).mtimeMs;
  } catch {
    return 0;
  }
}

function writePrivate(file: string, raw: string): void {
  fs.writeFileSync(file, raw, { mode: 0o600, flag: 'w' });
  // The mode applies at creation only: a leftover file of the same name keeps its own.
  fs.chmodSync(file, 0o600);
}

function readRaw(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // The file is its writer's alone: another user's process holds the store.
    if (code === 'EACCES' || code === 'EPERM')
      throw new Error(
        `${file} cannot be read (${code}); is the embedded store held by another user's process?`,
        {
          cause: err,
        },
      );
    throw err;
  }
}

function parseHolder(raw: string): StoreHolder | undefined {
  try {
    const v = JSON.parse(raw) as Partial<StoreHolder> | null;
    if (!v || typeof v.pid !== 'number' || typeof v.command !== 'string' || typeof v.startedAt !== 'string')
      return undefined;
    return {
      pid: v.pid,
      command: v.command,
      startedAt: v.startedAt,
      processStart: typeof v.processStart === 'string' ? v.processStart : null,
      serve: v.serve && typeof v.serve === 'object' ? v.serve : null,
    };
  } catch {
    return undefined;
  }
}

/** Whether the process a lock names still runs: the same process, not a later one with its pid. */
function holderAlive(file: string, h: StoreHolder): boolean {
  // This process: only a lock it holds is live (a container restarted as pid 1 finds its old lock).
  if (h.pid === process.pid) return heldHere.has(file);
  if (!pidAlive(h.pid)) return false;
  const now = processStartOf(h.pid);
  // A zombie (killed, not yet reaped) holds nothing any more; a different start is another program.
  if (now === 'zombie') return false;
  if (h.processStart !== null && now !== undefined && now !== h.processStart) return false;
  return true;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let bootId: string | undefined;

/**
 * When a process started, as `<boot id>:<start tick>` from /proc (Linux), `zombie` for a
 * process that has ended but is not reaped yet, or undefined where this cannot be read.
 */
export function processStartOf(pid: number): string | 'zombie' | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    bootId ??= fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
  // `pid (comm) state … starttime` — comm may hold spaces and parentheses: read after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const start = fields[19];
  if (state === 'Z' || state === 'X') return 'zombie';
  return start === undefined ? undefined : `${bootId}:${start}`;
}
