#!/usr/bin/env node
/**
 * The `jetsaga` command of the package: every role of the app given by `--app <module>` or
 * JETSAGA_APP. Entry points only wire.
 */
import { runCli } from './cli.ts';

process.exit(await runCli(process.argv.slice(2)));
