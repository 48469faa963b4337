import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // The reference app imports the package by name, as users do; here its name means the sources.
    alias: [
      { find: /^jetsaga$/, replacement: source('./runtime/index.ts') },
      { find: /^jetsaga\/testing$/, replacement: source('./runtime/testing/index.ts') },
      { find: /^jetsaga\/dev$/, replacement: source('./runtime/dev/index.ts') },
    ],
  },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Two cores: integration files share one NATS and one MongoDB-wire server, isolated by namespace.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
