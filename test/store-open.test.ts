import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open.js';
import { STORE_LOCK_FILE } from '../src/store/store-lock.js';
import { BACKEND } from './helpers/store.js';

describe.runIf(BACKEND === 'pglite')('opening the embedded store', () => {
  it('holds DATA_DIR while open, refuses a second opener, and lets go when closed', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-open-'));
    const lockFile = path.join(dataDir, STORE_LOCK_FILE);
    try {
      const store = await openStore({ databaseUrl: undefined, dataDir }, { command: 'bench' });
      expect(JSON.parse(fs.readFileSync(lockFile, 'utf8'))).toMatchObject({
        pid: process.pid,
        command: 'bench',
      });
      await expect(openStore({ databaseUrl: undefined, dataDir })).rejects.toThrow(
        `the embedded store in ${dataDir} is in use by feedwright bench (pid ${process.pid},`,
      );
      await store.close();
      expect(fs.existsSync(lockFile)).toBe(false);
      // And it opens again.
      await (await openStore({ databaseUrl: undefined, dataDir })).close();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
