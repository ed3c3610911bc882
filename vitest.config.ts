import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // PGlite instances are heavy (WASM); two forks match the 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
  },
});
