// Public surface of the infrastructure resolver: one call gives tests, the demo and benchmarks a NATS
// server with JetStream and a MongoDB-wire server, wherever they come from.
//   1. NATS_URL / MONGO_URL, each independently;
//   2. a Docker engine: pinned images through testcontainers;
//   3. local processes on loopback: nats-server, and mongod or mongo-java-server (H2 file backend).
import {
  binaryVersion,
  defaultLog,
  ensureMongoWireServer,
  ensureNatsServer,
  MONGO_JAVA_SERVER_VERSION,
} from './binaries.ts';
import {
  type ContainerService,
  dockerEngineAvailable,
  loadTestcontainers,
  startMongoContainer,
  startNatsContainer,
} from './containers.ts';
import type { LocalServerOptions, ManagedProcess } from './local-process.ts';
import { mongoWireProcess, natsServerProcess } from './server-processes.ts';

export type { MongoWireServer } from './binaries.ts';
export { ensureMongoWireServer, ensureNatsServer, MONGO_JAVA_SERVER_VERSION } from './binaries.ts';
export { dockerEngineAvailable, MONGO_IMAGE, NATS_IMAGE } from './containers.ts';
export { type KilledOnExit, killAllOnExit, killOnExit } from './kill-on-exit.ts';
export { ManagedProcess } from './local-process.ts';
export { mongoWireProcess, natsServerProcess } from './server-processes.ts';
export { type LogLine, RoleProcess, type RoleProcessOptions } from './role-process.ts';
export { type NatsCluster, type NatsClusterOptions, startNatsCluster } from './nats-cluster.ts';
export {
  ensureToxiproxy,
  type ProxyInfo,
  type Toxic,
  type ToxicSpec,
  ToxiproxyClient,
  toxiproxyProcess,
  TOXIPROXY_VERSION,
} from './toxiproxy.ts';

export interface Infra {
  /** How the provisioned services were obtained; 'env' only when both URLs came from the environment. */
  mode: 'env' | 'containers' | 'local';
  /** e.g. nats://127.0.0.1:4222 */
  natsUrl: string;
  /** e.g. mongodb://127.0.0.1:27017, without a database name */
  mongoUrl: string;
  mongoKind: 'external' | 'mongod' | 'mongo-java-server' | 'container';
  /** Present in local mode, for chaos tests (kill / restart). */
  nats?: ManagedProcess;
  mongo?: ManagedProcess;
  /** One line for logs, credentials redacted. */
  describe(): string;
  /** Stops what this call started; never touches servers given by URL. Idempotent. */
  stop(): Promise<void>;
}

export interface ResolveInfraOptions {
  /** Where NATS_URL, MONGO_URL, JETSAGA_* and PATH are read; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Progress lines (binary builds, container starts); defaults to stderr. */
  log?: (line: string) => void;
  /** Skip Docker even when an engine answers, e.g. for tests that need kill / restart. */
  preferLocal?: boolean;
  /**
   * Keep the local servers' data in this directory (created if missing, kept by stop()) instead of temp
   * dirs, so that a later call with the same directory finds the same streams and documents
   * (`jetsaga dev`). Implies local processes: containers would keep their data inside.
   */
  dataDir?: string;
  /** Local servers in a process group of their own: a terminal's Ctrl-C reaches only this process. */
  detached?: boolean;
}

/** One provisioned (or given) service. */
interface Part {
  url: string;
  label: string;
  process?: ManagedProcess;
  stop(): Promise<void>;
}

interface MongoPart extends Part {
  mongoKind: Infra['mongoKind'];
}

interface Provider {
  mode: 'containers' | 'local';
  nats(): Promise<Part>;
  mongo(): Promise<MongoPart>;
}

export async function resolveInfra(opts: ResolveInfraOptions = {}): Promise<Infra> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? defaultLog;
  const natsUrl = env.NATS_URL?.trim() || undefined;
  const mongoUrl = env.MONGO_URL?.trim() || undefined;

  // Only probe Docker (and load testcontainers) when something must be provisioned.
  const local: LocalServerOptions = { dataDir: opts.dataDir, detached: opts.detached };
  const provider =
    natsUrl && mongoUrl
      ? undefined
      : await pickProvider(env, log, local, opts.preferLocal === true || opts.dataDir !== undefined);
  // Both at once: on a fresh machine the two builds overlap instead of taking ~4 minutes in a row.
  const [nats, mongo] = await Promise.allSettled([
    natsUrl ? envPart(natsUrl, 'NATS_URL') : provider!.nats(),
    mongoUrl ? { ...envPart(mongoUrl, 'MONGO_URL'), mongoKind: 'external' as const } : provider!.mongo(),
  ]);
  if (nats.status === 'rejected' || mongo.status === 'rejected') {
    const started = [nats, mongo].flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    await Promise.allSettled(started.map((part) => part.stop()));
    const errors = [nats, mongo].flatMap((r) => (r.status === 'rejected' ? [errorMessage(r.reason)] : []));
    throw new Error(errors.join('\n'));
  }

  const mode = provider?.mode ?? 'env';
  let stopping: Promise<void> | undefined;
  const infra: Infra = {
    mode,
    natsUrl: nats.value.url,
    mongoUrl: mongo.value.url,
    mongoKind: mongo.value.mongoKind,
    describe: () => `${mode}: ${nats.value.label}, ${mongo.value.label}`,
    stop: () => {
      stopping ??= Promise.all([nats.value.stop(), mongo.value.stop()]).then(() => undefined);
      return stopping;
    },
  };
  if (nats.value.process) infra.nats = nats.value.process;
  if (mongo.value.process) infra.mongo = mongo.value.process;
  return infra;
}

async function pickProvider(
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  local: LocalServerOptions,
  preferLocal: boolean,
): Promise<Provider> {
  const tc = preferLocal || !(await dockerEngineAvailable(env)) ? undefined : await loadTestcontainers();
  if (tc) {
    log('jetsaga: Docker engine found, starting containers...');
    return {
      mode: 'containers',
      nats: async () => containerPart(await startNatsContainer(tc)),
      mongo: async () => ({ ...containerPart(await startMongoContainer(tc)), mongoKind: 'container' }),
    };
  }
  return { mode: 'local', nats: () => localNats(env, log, local), mongo: () => localMongo(env, log, local) };
}

async function localNats(
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  local: LocalServerOptions,
): Promise<Part> {
  const bin = await ensureNatsServer({ env, log });
  const proc = natsServerProcess(bin, local);
  await proc.start();
  const version = (await binaryVersion(bin)) ?? 'unknown version';
  return processPart(proc, `nats-server ${version} on ${proc.host}:${proc.port}`);
}

async function localMongo(
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  local: LocalServerOptions,
): Promise<MongoPart> {
  const server = await ensureMongoWireServer({ env, log });
  const proc = mongoWireProcess(server, local);
  await proc.start();
  const what =
    server.kind === 'mongo-java-server'
      ? `mongo-java-server ${MONGO_JAVA_SERVER_VERSION} (h2)`
      : `mongod ${(await binaryVersion(server.path)) ?? 'unknown version'}`;
  return { ...processPart(proc, `${what} on ${proc.host}:${proc.port}`), mongoKind: server.kind };
}

function envPart(url: string, variable: string): Part {
  return { url, label: `${variable}=${redact(url)}`, stop: async () => {} };
}

function processPart(proc: ManagedProcess, label: string): Part {
  return { url: proc.url, label, process: proc, stop: () => proc.stop() };
}

function containerPart(service: ContainerService): Part {
  const label = `${service.image} on ${service.host}:${service.port}`;
  return { url: service.url, label, stop: service.stop };
}

/** mongodb://user:secret@host -> mongodb://***@host, also inside comma-separated server lists. */
export function redact(url: string): string {
  return url.replace(/\/\/[^/@\s]+@/g, '//***@');
}

function errorMessage(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
