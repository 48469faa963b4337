import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Two cores: integration files share one NATS and one MongoDB-wire server, isolated by namespace.
    maxWorkers: 2,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
