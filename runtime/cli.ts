import { readFile } from 'node:fs/promises';
import { type App, loadApp, noAppMessage } from './app.ts';
import { type Config, configHelp, loadConfig } from './config.ts';
import { JetsagaError } from './errors.ts';
import { allRoles, provisionApp, type Role, roleName, startNode } from './node.ts';
import { untilSignal, writeOut } from './process-io.ts';
import { replayUsage, runReplay } from './replay-cli.ts';

export interface CliOptions {
  /** The app when neither `--app` nor JETSAGA_APP names one (this repository's reference app). */
  defaultApp?: App | (() => Promise<App>);
  /** `jetsaga demo`: runs a demo of the app; resolves to the exit code. */
  demo?: (args: string[], config: Config, app: App) => Promise<number>;
}

const usage = (app: App | undefined, appError: string | undefined) => `Usage: jetsaga <role> [options]

Roles:
  api                     HTTP API (start and inspect sagas) and the inspector
  orchestrator            runs saga machines: events in, commands out, durable timers
  service <name>          a participant of the app${app ? `; one of: ${Object.keys(app.participants).join(', ') || '(none)'}` : ''}
  reactor <name>          an event reactor of the app (also: jetsaga <name>)${
    app && Object.keys(app.reactors).length > 0
      ? `\n${Object.entries(app.reactors)
          .map(([name, r]) => `    ${name.padEnd(22)}${r.description ?? `reacts to ${String(r.on)}`}`)
          .join('\n')}`
      : ''
  }
  all                     every role of the app in one process
  dev [--data-dir DIR] [--port N]
                          local NATS + MongoDB-wire server and every role, until Ctrl-C;
                          data kept in DIR (default .jetsaga)
  demo [--saga TYPE] [--orders N] [--export FILE] [--json]
                          local infrastructure + every role + a batch of sagas, then a summary;
                          --export writes their histories for jetsaga replay --file
  provision               create or update the streams and the app's durable consumers, then exit
                          (production: roles run with JETSAGA_PROVISION=skip and may not)
  openapi                 print the HTTP API's OpenAPI 3.1 document (JSON) and exit
  asyncapi                print the AsyncAPI 3 document of the app's messages (JSON) and exit
  contracts print         print the app's message catalogue (JSON): every command, event and saga
                          input with its schema, version, upcasters, senders and receivers
  contracts check --against FILE
                          compare the catalogue with a saved one (contracts/catalogue.json); exit 1
                          naming each message and field whose change breaks a sender or receiver
${replayUsage}
  help                    this text

Every role loads the app given by --app <module> or JETSAGA_APP (its default export is
defineApp({ sagas, participants, reactors })).
${app ? `Saga types: ${app.registry.types().join(', ') || '(none)'}\nServices: ${Object.keys(app.participants).join(', ') || '(none)'}\nReactors: ${Object.keys(app.reactors).join(', ') || '(none)'}` : `App: ${appError ?? noAppMessage}`}
`;

function parseRoles(args: string[], app: App): { roles: Role[]; rest: string[] } {
  const [role, ...rest] = args;
  const named = (kind: 'service' | 'reactor', known: Record<string, unknown>) => {
    const [name, ...more] = rest;
    if (!name || !known[name]) {
      throw new CliError(
        `jetsaga ${kind}: name one of ${Object.keys(known).join(', ') || '(the app has none)'} (got ${name ?? 'nothing'})`,
      );
    }
    return { roles: [{ kind, name }], rest: more };
  };
  switch (role) {
    case 'api':
      return { roles: [{ kind: 'api' }], rest };
    case 'orchestrator':
      return { roles: [{ kind: 'orchestrator' }], rest };
    case 'service':
      return named('service', app.participants);
    case 'reactor':
      return named('reactor', app.reactors);
    case 'all':
      return { roles: allRoles(app), rest };
    default:
      if (role && app.reactors[role]) return { roles: [{ kind: 'reactor', name: role }], rest };
      throw new CliError(`unknown role "${role}"; run jetsaga help`);
  }
}

export class CliError extends Error {}

async function resolveApp(config: Config, opts: CliOptions): Promise<App> {
  if (config.app) return loadApp(config.app);
  if (opts.defaultApp) return typeof opts.defaultApp === 'function' ? opts.defaultApp() : opts.defaultApp;
  throw new CliError(noAppMessage);
}

/**
 * Entry point of every role: read config, load the app, connect, run, stop gracefully on
 * SIGTERM or SIGINT within the configured bound, exit non-zero on failure.
 */
export async function runCli(argv: string[], opts: CliOptions = {}): Promise<number> {
  const first = argv[0];
  try {
    if (!first || first === 'help' || first === '--help' || first === '-h' || argv.includes('--help')) {
      // Help works without an app; it lists the app's parts when one is given.
      let app: App | undefined;
      let appError: string | undefined;
      try {
        app = await resolveApp(loadConfig(argv.filter((a) => a !== 'help' && a !== '--help')).config, opts);
      } catch (err) {
        appError = err instanceof Error ? err.message : String(err);
      }
      await writeOut(process.stdout, `${usage(app, appError)}\n${configHelp()}\n`);
      // No role at all is a usage error; asking for help is not.
      return first ? 0 : 2;
    }
    if (first === 'demo') {
      if (!opts.demo) throw new CliError('this jetsaga has no demo; run jetsaga dev --app <module>');
      const { config, rest } = loadConfig(argv.slice(1));
      return await opts.demo(rest, config, await resolveApp(config, opts));
    }
    if (first === 'dev') {
      const { config, rest } = loadConfig(argv.slice(1));
      const app = await resolveApp(config, opts);
      const { runDevServer } = await import('./dev/dev-server.ts').catch((err: unknown) => {
        throw new CliError(
          `jetsaga dev needs the local-infrastructure module, which this installation lacks (${String(err)})`,
        );
      });
      return await runDevServer(rest, config, app);
    }
    if (first === 'provision') {
      const { config, rest } = loadConfig(argv.slice(1));
      if (rest.length > 0) throw new CliError(`unknown option(s): ${rest.join(' ')}; run jetsaga help`);
      const provisioned = await provisionApp(config, await resolveApp(config, opts));
      await writeOut(
        process.stdout,
        `jetsaga provision: streams and ${provisioned.length} durables: ${provisioned.join(', ')}\n`,
      );
      return 0;
    }
    if (first === 'openapi') {
      const { config, rest } = loadConfig(argv.slice(1));
      if (rest.length > 0) throw new CliError(`unknown option(s): ${rest.join(' ')}; run jetsaga help`);
      const app = await resolveApp(config, opts);
      const { openApiDocumentFor } = await import('./http/index.ts');
      const { createLogger } = await import('./observability/index.ts');
      const doc = openApiDocumentFor(app.registry, createLogger('silent'));
      await writeOut(process.stdout, `${JSON.stringify(doc, null, 2)}\n`);
      return 0;
    }
    if (first === 'asyncapi') {
      const { config, rest } = loadConfig(argv.slice(1));
      if (rest.length > 0) throw new CliError(`unknown option(s): ${rest.join(' ')}; run jetsaga help`);
      const app = await resolveApp(config, opts);
      const { asyncApiOf } = await import('./contracts/index.ts');
      await writeOut(process.stdout, `${JSON.stringify(asyncApiOf(app), null, 2)}\n`);
      return 0;
    }
    if (first === 'contracts') return await runContracts(argv.slice(1), opts);
    if (first === 'replay') {
      const { config, rest } = loadConfig(argv.slice(1));
      const app = await resolveApp(config, opts);
      return await runReplay(rest, app);
    }
    const { config, rest } = loadConfig(argv);
    const app = await resolveApp(config, opts);
    const { roles, rest: unknown } = parseRoles(rest, app);
    if (unknown.length > 0) throw new CliError(`unknown option(s): ${unknown.join(' ')}; run jetsaga help`);
    const node = await startNode(config, app, roles);
    node.log.info({ roles: roles.map(roleName), api: node.api?.url }, 'jetsaga started');
    return await untilSignal(node.log, config.shutdownTimeoutMs, () => node.stop());
  } catch (err) {
    const message =
      err instanceof CliError || err instanceof JetsagaError
        ? err.message
        : err instanceof Error
          ? err.stack
          : String(err);
    await writeOut(process.stderr, `jetsaga: ${message}\n`);
    return 1;
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * `jetsaga contracts print`: the app's message catalogue as JSON. `jetsaga contracts check
 * --against <file>`: compares it with a saved catalogue; 0 with a summary line when every change
 * is compatible, 1 with a line per breaking change (`contracts: <message>: <field>: <change>`).
 */
async function runContracts(args: string[], opts: CliOptions): Promise<number> {
  const [sub, ...more] = args;
  if (sub !== 'print' && sub !== 'check')
    throw new CliError(
      `jetsaga contracts: say print or check --against <file> (got ${sub ?? 'nothing'}); run jetsaga help`,
    );
  let against: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < more.length; i++) {
    const arg = more[i]!;
    if (arg === '--against' || arg.startsWith('--against=')) {
      against = arg === '--against' ? more[++i] : arg.slice('--against='.length);
      if (!against || against.startsWith('--'))
        throw new CliError(
          '--against: give the file of a saved catalogue, e.g. --against contracts/catalogue.json',
        );
    } else rest.push(arg);
  }
  if (sub === 'print' && against !== undefined)
    throw new CliError('--against is an option of jetsaga contracts check, not of print');
  if (sub === 'check' && against === undefined)
    throw new CliError(
      'jetsaga contracts check: give the saved catalogue to compare with: --against <file> (e.g. --against contracts/catalogue.json)',
    );
  const { config, rest: unknown } = loadConfig(rest);
  if (unknown.length > 0) throw new CliError(`unknown option(s): ${unknown.join(' ')}; run jetsaga help`);
  const app = await resolveApp(config, opts);
  const { catalogueOf, compareCatalogues, parseCatalogue } = await import('./contracts/index.ts');
  const current = catalogueOf(app);
  if (sub === 'print') {
    await writeOut(process.stdout, `${JSON.stringify(current, null, 2)}\n`);
    return 0;
  }
  const file = against!;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(
      code === 'ENOENT'
        ? `--against ${file}: no such file (save the current catalogue with: jetsaga contracts print > ${file})`
        : `--against ${file}: cannot read it (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  let saved: ReturnType<typeof parseCatalogue>;
  try {
    saved = parseCatalogue(JSON.parse(text) as unknown);
  } catch (err) {
    const reason = err instanceof SyntaxError ? `not JSON (${err.message})` : (err as Error).message;
    throw new CliError(`--against ${file}: ${reason}`);
  }
  const { breaking, compatible } = compareCatalogues(saved, current);
  if (breaking.length === 0) {
    await writeOut(
      process.stdout,
      `contracts: ok, ${plural(Object.keys(current.messages).length, 'message')}, ${plural(compatible.length, 'compatible change')}\n`,
    );
    return 0;
  }
  await writeOut(
    process.stderr,
    `${breaking.map((b) => `contracts: ${b.message}: ${b.field}: ${b.change}\n`).join('')}` +
      `jetsaga contracts check: ${plural(breaking.length, 'breaking change')} against ${file}: give the message a new version with an upcaster from the old one, or move the baseline forward on purpose (jetsaga contracts print > ${file})\n`,
  );
  return 1;
}
