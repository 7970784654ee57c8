import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Engine tests open real sockets; keep files apart but not too many at once on two cores.
    pool: 'forks',
    maxWorkers: 2,
    // electron-store imports `electron`; inlined, it gets the test/app stand-in that vi.mock provides.
    server: { deps: { inline: ['electron-store'] } },
  },
});
