import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * The pure tests: machines, steps, config, features, models, schemas, the layer check, API tokens and
 * the app through `app.request`. No NATS, no MongoDB, no child process, no global setup:
 * `npm run test:unit` (`vitest run --project unit`) runs them alone in seconds.
 * A test file that needs the infrastructure (inject('natsUrl'/'mongoUrl'), startTestNode,
 * resolveInfra, a spawned server, like runtime/dev's) does not belong here; a file that no glob here
 * matches is an integration test.
 */
const unit = [
  'runtime/*.test.ts',
  'runtime/{actors,http,messaging,observability,orchestrator,store,wire}/**/*.test.ts',
  'sagas/**/*.test.ts',
  'services/fraud-agent/**/*.test.ts',
  'services/restock-agent/**/*.test.ts',
  'test/unit/**/*.test.ts',
  'test/browser/inspector-assets.test.ts',
  'test/step-equivalence.test.ts',
  'test/scale/orders.test.ts',
  'bench/chain-tail.test.ts',
];
const always = ['node_modules/**', 'dist/**'];

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
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // expect.poll gives up after 1 s by default: a browser page that loads and fetches while the
    // chaos suite holds both cores takes longer than that, and a condition is what we wait on.
    expect: { poll: { timeout: 20_000, interval: 50 } },
    // Two cores: integration files share one NATS and one MongoDB-wire server, isolated by namespace.
    maxWorkers: 2,
    reporters: ['default'],
    // The projects inherit the options above. The global setup belongs to the integration project
    // alone: vitest runs a project's global setup only when some of its files run.
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: unit, exclude: always },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['**/*.test.ts'],
          exclude: [...always, ...unit],
          globalSetup: ['test/global-setup.ts'],
        },
      },
    ],
  },
});
