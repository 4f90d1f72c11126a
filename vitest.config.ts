import { defineConfig } from 'vitest/config';

// The API suite runs twice, once per store (the store matrix): on a SQLite file, and on a fresh
// database of a throwaway PostgreSQL cluster (test/support/postgres-global-setup.ts) per test server.
const API = 'test/api/**/*.test.ts';
// Tests of PostgreSQL itself (schema parity, several instances, db copy) need a cluster whatever the project.
const POSTGRES_ONLY = 'test/api/postgres-*.test.ts';

export default defineConfig({
  test: {
    // Browser and server tests start real processes; give them room on a shared 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The CLI the tests spawn runs compiled: rebuilt here once if a source changed (bin/cli-build.js).
    globalSetup: ['test/support/cli-build.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/e2e/**', 'test/api/**', 'node_modules/**'] },
      },
      {
        extends: true,
        test: { name: 'api-sqlite', include: [API], exclude: [POSTGRES_ONLY] },
      },
      {
        extends: true,
        test: {
          name: 'api-postgres',
          include: [API],
          env: { METAMER_TEST_STORE: 'postgres' },
          globalSetup: ['test/support/postgres-global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // One Chromium at a time: two cores, and timing-sensitive pages.
          fileParallelism: false,
        },
      },
    ],
  },
});
