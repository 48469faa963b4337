#!/usr/bin/env -S npx tsx
/**
 * The jetsaga distribution: the generic runtime wired with this repository's sagas and
 * participants. Entry points only wire.
 */
import { runOrderDemo } from '../demo/order-demo.ts';
import { runCli } from '../runtime/cli.ts';
import { SagaRegistry } from '../runtime/orchestrator/index.ts';
import { sagas } from '../sagas/index.ts';
import { participants } from '../services/index.ts';

export const distribution = { registry: new SagaRegistry().register(...sagas), participants };

const code = await runCli(process.argv.slice(2), distribution, {
  demo: (args, config) => runOrderDemo(args, config, distribution),
});
process.exit(code);
