import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reachStore } from '../../src/cli/context.js';
import { type StoreHolder, storeLockPath } from '../../src/store/store-lock.js';

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

describe('the command line finding the embedded store', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-reach-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('waits for a serve that is starting, and opens the store once it has let go', async () => {
    writeLock(dir, {
      pid: process.ppid,
      command: 'serve',
      serve: { state: 'starting', url: null, token: 't', schema: null },
    });
    const waited: StoreHolder[] = [];
    const reached = reachStore(dir, 'history', { waitMs: 10_000, onWait: (h) => waited.push(h) });
    await new Promise((resolve) => setTimeout(resolve, 300));
    fs.rmSync(storeLockPath(dir));
    const result = await reached;
    expect(waited.map((h) => h.pid)).toEqual([process.ppid]);
    expect('lock' in result && result.lock.holder.command).toBe('history');
    if ('lock' in result) result.lock.release();
  });

  it('reaches a ready serve at its address, with its credential', async () => {
    const serve = { state: 'ready', url: 'http://127.0.0.1:9', token: 'tok', schema: 14 } as const;
    writeLock(dir, { pid: process.ppid, command: 'serve', serve });
    const result = await reachStore(dir, 'history');
    expect(result).toMatchObject({ endpoint: { url: 'http://127.0.0.1:9', token: 'tok' } });
  });

  it('gives up on a serve still starting after the wait, and refuses beside another command', async () => {
    writeLock(dir, {
      pid: process.ppid,
      command: 'serve',
      serve: { state: 'starting', url: null, token: 't', schema: null },
    });
    await expect(reachStore(dir, 'history', { waitMs: 200, onWait: () => {} })).rejects.toThrow(
      /is held by feedwright serve \(pid \d+, since .*, starting\), still starting after 0 s; try again later/,
    );
    writeLock(dir, { pid: process.ppid, command: 'import' });
    await expect(reachStore(dir, 'history')).rejects.toThrow(
      `is in use by feedwright import (pid ${process.ppid}, since`,
    );
  });
});
