import { defineConfig } from 'vitest/config';

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
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/e2e/**', 'node_modules/**'] },
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
