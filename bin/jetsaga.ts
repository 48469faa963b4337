#!/usr/bin/env -S npx tsx
/**
 * The jetsaga distribution: the generic runtime wired with this repository's sagas and
 * participants and the fraud agent. Entry points only wire.
 */
import { runDemo } from '../demo/demo.ts';
import { runCli } from '../runtime/cli.ts';
import { SagaRegistry } from '../runtime/orchestrator/index.ts';
import { sagas } from '../sagas/index.ts';
import { extraRoles, participants } from '../services/index.ts';

export const distribution = {
  registry: new SagaRegistry().register(...sagas),
  participants,
  extraRoles,
};

const code = await runCli(process.argv.slice(2), distribution, {
  demo: (args, config) => runDemo(args, config, distribution),
});
process.exit(code);
