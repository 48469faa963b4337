#!/usr/bin/env node
/**
 * jetsaga as this repository (and its image) runs it: the package's CLI with the reference
 * app as the default app, and the demo. Entry points only wire.
 */
import { CliError, runCli } from 'jetsaga';
import referenceApp from '../app.ts';

const code = await runCli(process.argv.slice(2), {
  defaultApp: referenceApp,
  // The image leaves the demo out (it needs local infrastructure): say so rather than print a stack.
  demo: async (args, config, app) => {
    const { runDemo } = await import('../demo/demo.ts').catch((err: unknown) => {
      throw new CliError(
        `jetsaga demo is not part of this installation (${String(err)}); run it from a clone`,
      );
    });
    return runDemo(args, config, app);
  },
});
// Every output was written through before runCli resolved (writeOut), so exiting cuts nothing off.
process.exit(code);
