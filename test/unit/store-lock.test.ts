import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  acquireStoreLock,
  processStartOf,
  readStoreLock,
  removeLockIfUnchanged,
  type StoreHolder,
  StoreInUseError,
  storeLockPath,
} from '../../src/store/store-lock.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

/** A lock file as another process would have written it. */
function writeLock(dir: string, holder: Partial<StoreHolder> & { pid: number }): void {
  const full: StoreHolder = {
    command: 'import',
    startedAt: new Date().toISOString(),
    processStart: null,
    serve: null,
    ...holder,
  };
  fs.writeFileSync(storeLockPath(dir), JSON.stringify(full), { mode: 0o600 });
}

/** The pid of a process that has ended (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid as number;
}

describe('the embedded store lock', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-lock-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is a private file naming this process, removed when let go', async () => {
    const lock = await acquireStoreLock(dir, 'import');
    const file = storeLockPath(dir);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const holder = JSON.parse(fs.readFileSync(file, 'utf8')) as StoreHolder;
    expect(holder).toMatchObject({ pid: process.pid, command: 'import', serve: null });
    if (process.platform === 'linux') expect(holder.processStart).toMatch(/^[\w-]+:\d+$/);
    expect(readStoreLock(dir)).toEqual({ kind: 'held', holder });
    lock.release();
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('refuses a second opener, naming the holder', async () => {
    const lock = await acquireStoreLock(dir, 'serve', { token: 't' });
    const err = await acquireStoreLock(dir, 'import').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreInUseError);
    expect((err as Error).message).toBe(
      `the embedded store in ${dir} is in use by feedwright serve (pid ${process.pid}, since ${lock.holder.startedAt
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')}, starting); one process at a time may open it`,
    );
    lock.release();
  });

  it('names a live process of another program as holder', async () => {
    // The test runner that started this worker: alive, and its start is what /proc says.
    const start = processStartOf(process.ppid);
    writeLock(dir, { pid: process.ppid, processStart: start === undefined ? null : start });
    await expect(acquireStoreLock(dir, 'import')).rejects.toThrow(`feedwright import (pid ${process.ppid},`);
  });

  it('takes over a lock whose process is gone', async () => {
    writeLock(dir, { pid: deadPid() });
    expect(readStoreLock(dir).kind).toBe('stale');
    const lock = await acquireStoreLock(dir, 'import');
    expect(lock.holder.pid).toBe(process.pid);
    lock.release();
  });

  it.runIf(process.platform === 'linux')(
    'takes over a lock whose pid now belongs to another program',
    async () => {
      // Same pid, another start: the process that wrote it is gone and the pid was given again.
      writeLock(dir, { pid: process.ppid, processStart: 'another-boot:12345' });
      const lock = await acquireStoreLock(dir, 'import');
      expect(lock.holder.pid).toBe(process.pid);
      lock.release();
    },
  );

  it('takes over a lock naming this pid that this process does not hold, and an unreadable one', async () => {
    // A container restarted: the new process has the old one's pid.
    writeLock(dir, { pid: process.pid });
    (await acquireStoreLock(dir, 'import')).release();
    fs.writeFileSync(storeLockPath(dir), '{"pid": 12');
    (await acquireStoreLock(dir, 'import')).release();
  });

  it("updates serve's part atomically and privately, and leaves a lock that is no longer its own", async () => {
    const lock = await acquireStoreLock(dir, 'serve', { token: 'secret' });
    lock.updateServe({ state: 'ready', url: 'http://127.0.0.1:1234', schema: 14 });
    const file = storeLockPath(dir);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).serve).toEqual({
      state: 'ready',
      url: 'http://127.0.0.1:1234',
      token: 'secret',
      schema: 14,
    });
    expect(fs.readdirSync(dir)).toEqual(['store.lock']);
    // Someone removed it and another process took it: letting go must not remove theirs.
    writeLock(dir, { pid: process.ppid });
    lock.release();
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).pid).toBe(process.ppid);
  });

  it('removes a stale lock only while it is the one judged stale, one remover at a time', async () => {
    const file = storeLockPath(dir);
    writeLock(dir, { pid: deadPid() });
    const stale = fs.readFileSync(file, 'utf8');
    // Another process took it over between this one's reading and removing: its lock stays.
    writeLock(dir, { pid: process.ppid });
    await removeLockIfUnchanged(file, stale);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).pid).toBe(process.ppid);
    // A guard left by a process killed while taking over does not block the next one.
    fs.writeFileSync(`${file}.takeover`, `${deadPid()}\n`);
    await removeLockIfUnchanged(file, fs.readFileSync(file, 'utf8'));
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('lets exactly one of several processes take over a stale lock at once', async () => {
    writeLock(dir, { pid: deadPid() });
    const at = Date.now() + 1500;
    const script = `
      const { acquireStoreLock } = await import(${JSON.stringify(path.join(ROOT, 'src/store/store-lock.ts'))});
      await new Promise((r) => setTimeout(r, ${at} - Date.now()));
      try {
        const lock = await acquireStoreLock(process.argv[1], 'import');
        console.log('won');
        await new Promise((r) => setTimeout(r, 1500));
        lock.release();
      } catch (err) {
        console.log(err.name);
      }`;
    const outcomes = await Promise.all(
      [0, 1, 2, 3].map(
        () =>
          new Promise<string>((resolve, reject) => {
            const child = spawn(
              process.execPath,
              ['--import', TSX, '--input-type=module', '-e', script, dir],
              {
                stdio: ['ignore', 'pipe', 'inherit'],
              },
            );
            let out = '';
            child.stdout.on('data', (d) => {
              out += d;
            });
            child.on('error', reject);
            child.on('close', () => resolve(out.trim()));
          }),
      ),
    );
    expect(outcomes.sort()).toEqual(['StoreInUseError', 'StoreInUseError', 'StoreInUseError', 'won']);
    expect(readStoreLock(dir).kind).toBe('free');
  }, 30_000);
});
