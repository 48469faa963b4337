// `jetsaga dev`: a whole jetsaga on one machine for development, like `temporal server start-dev`.
// Local NATS and MongoDB-wire servers whose data lives in a directory that outlives the run, every
// role of the app in this process with auth off, the URLs on stdout, and a clean stop on Ctrl-C.
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { App } from '../app.ts';
import { type Config, defaultConfig } from '../config.ts';
import { allRoles, roleName, type RunningNode, startNode } from '../node.ts';
import { createLogger } from '../observability/index.ts';
import { untilSignal, writeOut } from '../process-io.ts';
import { type Infra, redact, resolveInfra } from './index.ts';
import { type DataDirLock, lockDataDir } from './data-dir-lock.ts';
import { isErrno } from './lock.ts';

const DEFAULT_DATA_DIR = '.jetsaga';

interface DevArgs {
  dataDir: string;
  port: number | undefined;
}

class UsageError extends Error {}

function parseArgs(args: string[]): DevArgs {
  const out: DevArgs = { dataDir: DEFAULT_DATA_DIR, port: undefined };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const [flag, inline] = arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg];
    const value = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--data-dir') out.dataDir = value();
    else if (flag === '--port') {
      const raw = value();
      const port = Number(raw);
      if (!/^\d+$/.test(raw) || port > 65535)
        throw new UsageError(`--port must be an integer from 0 to 65535 (got ${raw})`);
      out.port = port;
    } else throw new UsageError(`unknown option ${arg}`);
  }
  return out;
}

/**
 * Runs until SIGINT or SIGTERM; resolves to the exit code: 0 after a clean stop, 1 when the data dir
 * is in use, the servers do not start or the API port is taken, 2 for a usage error.
 */
export async function runDevServer(args: string[], base: Config, app: App): Promise<number> {
  let opts: DevArgs;
  try {
    opts = parseArgs(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    await writeOut(
      process.stderr,
      `jetsaga dev: ${err.message}; options: --data-dir DIR (default ${DEFAULT_DATA_DIR}), --port N (0 picks a free one)\n`,
    );
    return 2;
  }
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const dataDir = path.resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });
  const lock = await lockDataDir(dataDir, say);
  if ('heldBy' in lock) {
    const { pid, host } = lock.heldBy;
    const who = host === os.hostname() ? `pid ${pid}` : `pid ${pid} on ${host}`;
    await writeOut(
      process.stderr,
      `jetsaga dev: another jetsaga dev (${who}) is using ${opts.dataDir}; stop it first or pass --data-dir\n`,
    );
    return 1;
  }
  try {
    return await serve({ base, app, dataDir, port: opts.port ?? base.httpPort, lock, say });
  } finally {
    lock.release();
  }
}

async function serve(o: {
  base: Config;
  app: App;
  dataDir: string;
  port: number;
  lock: DataDirLock;
  say: (line: string) => void;
}): Promise<number> {
  const { base, app, dataDir, port, lock, say } = o;
  // Detached: a terminal's Ctrl-C goes to the whole foreground group, and servers that stopped with us
  // would fail the roles' graceful stop; this way the roles stop first, then the servers.
  let infra: Infra;
  try {
    infra = await resolveInfra({ env: infraEnv(base), dataDir, detached: true, log: say });
  } catch (err) {
    // The message names the server and ends with its last output; a stack trace would add nothing.
    const message = err instanceof Error ? err.message : String(err);
    await writeOut(process.stderr, `jetsaga dev: could not start the local infrastructure:\n${message}\n`);
    return 1;
  }
  say(`jetsaga dev: infrastructure ${infra.describe()}`);
  const config: Config = {
    ...base,
    natsUrl: infra.natsUrl,
    mongoUrl: infra.mongoUrl,
    httpHost: '127.0.0.1',
    httpPort: port,
    auth: 'off', // a developer's machine, loopback only; the api role logs a warning saying so
  };
  const roles = allRoles(app);
  const log = createLogger(config.logLevel, { app: 'jetsaga-dev' }, 2);
  let node: RunningNode;
  try {
    await lock.recordServers(
      [infra.nats, infra.mongo].flatMap((p) => (p?.pid !== undefined ? [{ name: p.name, pid: p.pid }] : [])),
    );
    node = await startNode(config, app, roles, log);
  } catch (err) {
    await infra.stop();
    if (!isErrno(err, 'EADDRINUSE')) throw err;
    await writeOut(
      process.stderr,
      `jetsaga dev: port ${port} on 127.0.0.1 is in use; pass --port N (0 picks a free one)\n`,
    );
    return 1;
  }
  const api = node.api!.url;
  const ops = node.ops?.url;
  log.info({ roles: roles.map(roleName), api, ops, dataDir }, 'jetsaga started');
  await writeOut(process.stdout, banner({ api, ops, config, infra, dataDir, app }));
  return untilSignal(log, config.shutdownTimeoutMs, async () => {
    await node.stop();
    await infra.stop();
  });
}

/**
 * NATS_URL / MONGO_URL, or the matching flag, name a server to use instead of starting one. resolveInfra
 * reads only the environment, so a flag that changed a URL from its default is passed on as one.
 */
function infraEnv(config: Config): NodeJS.ProcessEnv {
  const defaults = defaultConfig();
  const env = { ...process.env };
  if (config.natsUrl !== defaults.natsUrl) env.NATS_URL = config.natsUrl;
  if (config.mongoUrl !== defaults.mongoUrl) env.MONGO_URL = config.mongoUrl;
  return env;
}

function banner(o: {
  api: string;
  ops: string | undefined;
  config: Config;
  infra: Infra;
  dataDir: string;
  app: App;
}): string {
  const { api, ops, config, infra, dataDir, app } = o;
  const where = (local: boolean, variable: string, sub: string) =>
    local ? `local, data in ${path.join(dataDir, sub)}` : `from ${variable}`;
  const mongoSub = infra.mongoKind === 'mongod' ? 'mongod' : 'mongo';
  const rows: Array<[string, string]> = [
    ['API', api],
    ['Inspector', `${api}/ui`],
    ['API docs', `${api}/docs`],
    ['OpenAPI', `${api}/openapi.json`],
    ...(ops ? ([['Ops', `${ops}/healthz, /readyz, /metrics`]] as Array<[string, string]>) : []),
    ['NATS', `${redact(infra.natsUrl)}  (${where(!!infra.nats, 'NATS_URL', 'jetstream')})`],
    [
      'MongoDB',
      `${redact(infra.mongoUrl)}  (database ${config.mongoDb}; ${where(!!infra.mongo, 'MONGO_URL', mongoSub)})`,
    ],
    ['Data dir', dataDir],
    ['Node', process.version],
    ['Saga types', app.registry.types().join(', ') || '(none)'],
  ];
  // What another process needs to join this one: the same servers, namespace and database.
  const join = [
    `NATS_URL=${redact(infra.natsUrl)}`,
    `MONGO_URL=${redact(infra.mongoUrl)}`,
    ...(config.namespace ? [`JETSAGA_NAMESPACE=${config.namespace}`] : []),
    ...(config.mongoDb !== defaultConfig().mongoDb ? [`JETSAGA_MONGO_DB=${config.mongoDb}`] : []),
  ].join(' ');
  return [
    '',
    'jetsaga dev is running (auth off: for this machine only)',
    '',
    ...rows.map(([label, value]) => `  ${label.padEnd(12)}${value}`),
    '',
    'Other local processes join with:',
    `  ${join} jetsaga service <name>`,
    '',
    'Ctrl-C stops everything (a second one: at once); the data stays in the data dir for the next run.',
    '',
    '',
  ].join('\n');
}
