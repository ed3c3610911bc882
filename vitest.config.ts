import { defineConfig } from 'vitest/config';

// The suite runs once per backend: PGlite always, PostgreSQL when TEST_DATABASE_URL is set
// (.ci/run sets it). Tests under test/unit/ touch no store and run once; so does the
// dashboard's browser test under test/browser/ (headless Chromium on an embedded store).
const backends = ['pglite', ...(process.env.TEST_DATABASE_URL ? ['postgres'] : [])];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // PGlite instances are heavy (WASM); two forks match the 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          env: { FEEDWRIGHT_TEST_BACKEND: 'pglite' },
          testTimeout: 120_000,
        },
      },
      ...backends.map((backend) => ({
        extends: true,
        test: {
          name: backend,
          include: ['test/**/*.test.ts'],
          // *.pg.test.ts holds what only a PostgreSQL server has (its connections, its backends).
          exclude: [
            'test/unit/**',
            'test/browser/**',
            ...(backend === 'postgres' ? [] : ['test/**/*.pg.test.ts']),
          ],
          env: { FEEDWRIGHT_TEST_BACKEND: backend },
        },
      })),
    ],
  },
});
