import { type Config, configHelp, loadConfig } from './config.ts';
import { JetsagaError } from './errors.ts';
import { allRoles, type Distribution, type Role, roleName, type RunningNode, startNode } from './node.ts';

export interface CliExtras {
  /** `jetsaga demo`: runs the distribution's demo; resolves to the exit code. */
  demo?: (args: string[], config: Config) => Promise<number>;
}

const usage = (dist: Distribution) => `Usage: jetsaga <role> [options]

Roles:
  api                     HTTP API (start and inspect sagas)
  orchestrator            runs saga machines: events in, commands out, durable timers
  service <name>          a participant; one of: ${Object.keys(dist.participants).join(', ')}
${Object.entries(dist.extraRoles ?? {})
  .map(([name, r]) => `  ${name.padEnd(24)}${r.description}\n`)
  .join('')}  all                     every role above in one process
  demo [--saga TYPE] [--orders N] [--json]
                          local infrastructure + every role + a batch of sagas, then a summary
  openapi                 print the HTTP API's OpenAPI 3.1 document (JSON) and exit
  help                    this text

Saga types: ${dist.registry.types().join(', ')}
`;

function parseRoles(args: string[], dist: Distribution): { roles: Role[]; rest: string[] } {
  const [role, ...rest] = args;
  switch (role) {
    case 'api':
      return { roles: [{ kind: 'api' }], rest };
    case 'orchestrator':
      return { roles: [{ kind: 'orchestrator' }], rest };
    case 'service': {
      const [name, ...more] = rest;
      if (!name || !dist.participants[name]) {
        throw new CliError(
          `jetsaga service: name one of ${Object.keys(dist.participants).join(', ')} (got ${name ?? 'nothing'})`,
        );
      }
      return { roles: [{ kind: 'service', name }], rest: more };
    }
    case 'all':
      return { roles: allRoles(dist), rest };
    default:
      if (role && dist.extraRoles?.[role]) return { roles: [{ kind: 'extra', name: role }], rest };
      throw new CliError(`unknown role "${role}"; run jetsaga help`);
  }
}

export class CliError extends Error {}

/**
 * Entry point of every role: read config, connect, run, stop gracefully on SIGTERM or
 * SIGINT within the configured bound, exit non-zero on failure.
 */
export async function runCli(argv: string[], dist: Distribution, extras: CliExtras = {}): Promise<number> {
  const first = argv[0];
  if (!first || first === 'help' || first === '--help' || first === '-h' || argv.includes('--help')) {
    process.stdout.write(`${usage(dist)}\n${configHelp()}\n`);
    // No role at all is a usage error; asking for help is not.
    return first ? 0 : 2;
  }
  try {
    if (first === 'demo') {
      if (!extras.demo) throw new CliError('this distribution has no demo');
      const { config, rest } = loadConfig(argv.slice(1));
      return await extras.demo(rest, config);
    }
    if (first === 'openapi') {
      const { openApiDocumentFor } = await import('./http/index.ts');
      const { createLogger } = await import('./observability/index.ts');
      const doc = openApiDocumentFor(dist.registry, createLogger('silent'));
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      return 0;
    }
    const { roles, rest } = parseRoles(argv, dist);
    const { config, rest: unknown } = loadConfig(rest);
    if (unknown.length > 0) throw new CliError(`unknown option(s): ${unknown.join(' ')}; run jetsaga help`);
    const node = await startNode(config, dist, roles);
    node.log.info({ roles: roles.map(roleName), api: node.api?.url }, 'jetsaga started');
    return await untilSignal(node);
  } catch (err) {
    const message =
      err instanceof CliError || err instanceof JetsagaError
        ? err.message
        : err instanceof Error
          ? err.stack
          : String(err);
    process.stderr.write(`jetsaga: ${message}\n`);
    return 1;
  }
}

function untilSignal(node: RunningNode): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      node.log.info({ signal }, 'shutting down');
      const timer = setTimeout(() => {
        node.log.error('graceful shutdown timed out');
        resolve(1);
      }, node.config.shutdownTimeoutMs);
      node.stop().then(
        () => {
          clearTimeout(timer);
          resolve(0);
        },
        (err) => {
          node.log.error({ err: String(err) }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
