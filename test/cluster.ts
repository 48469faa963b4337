// Roles of this repository as OS processes, for the guarantee tests, the chaos and scale runs and the
// bench: `roleProcess` is one role (runtime/dev's RoleProcess with this repository's entry point and
// node flags), `Cluster` every role of a distribution, `ProcessCluster` a cluster in a fresh namespace
// and database with the helpers the guarantee tests use.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import type { App } from '../runtime/app.ts';
import { type Infra, RoleProcess } from '../runtime/dev/index.ts';
import { recommendedNodeFlags } from '../runtime/node.ts';
import type { SagaDoc } from '../runtime/store/index.ts';
import { appForTests } from './dist.ts';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * One role of this repository as its own process, the way a pod runs it: `node
 * --max-semi-space-size=32 --import tsx bin/jetsaga.ts <args>` (or another entry point, e.g. the
 * bench's `bench/role-main.ts`), its output in `<logDir>/<name>.log`.
 */
export function roleProcess(opts: {
  name: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  logDir: string;
  /** Default `bin/jetsaga.ts`. */
  script?: string;
  /** More node flags, after recommendedNodeFlags (`--cpu-prof`, `--expose-gc`). */
  nodeFlags?: readonly string[];
  ipc?: boolean;
}): RoleProcess {
  return new RoleProcess({
    name: opts.name,
    args: opts.args,
    script: opts.script ?? 'bin/jetsaga.ts',
    cwd: repoRoot,
    env: opts.env,
    nodeFlags: [...recommendedNodeFlags, ...(opts.nodeFlags ?? [])],
    logFile: path.join(opts.logDir, `${opts.name}.log`),
    ipc: opts.ipc,
  });
}

/**
 * How the roles share processes: `roles`, one process each (the layout of deploy/k8s, where each
 * role scales on its own), or `all`, every role in one process (`jetsaga all`, one small machine).
 */
export type Layout = 'roles' | 'all';

/**
 * The role processes of a distribution, api last: orchestrator, each participant, each extra role;
 * `participants` keeps only those named.
 */
export function roleArgs(dist: App, layout: Layout = 'roles', participants?: readonly string[]): string[][] {
  if (layout === 'all') return [['all']];
  return [
    ['orchestrator'],
    ...Object.keys(dist.participants)
      .filter((name) => !participants || participants.includes(name))
      .map((name) => ['service', name]),
    ...Object.keys(dist.reactors).map((name) => [name]),
    ['api'],
  ];
}

/** A role's process name: its arguments joined, `service:inventory`. */
export const roleName = (args: readonly string[]): string => args.join(':');

export interface ClusterOptions {
  env: NodeJS.ProcessEnv;
  logDir: string;
  /** Default: every role of the tests' distribution, one process each. */
  roles?: string[][];
  /** Default `bin/jetsaga.ts`. */
  script?: string;
  /** More node flags per role name (e.g. `--cpu-prof` for the orchestrator). */
  nodeFlags?: (name: string) => readonly string[];
  ipc?: boolean;
}

/** Every role of a distribution as its own process (or all in one, `[['all']]`), started at once. */
export class Cluster {
  /** By name (`orchestrator`, `service:inventory`, `fraud-agent`, `api`), in start order. */
  readonly roles: Record<string, RoleProcess> = {};

  constructor(private readonly opts: ClusterOptions) {
    for (const args of opts.roles ?? roleArgs(appForTests)) {
      // A second replica of a role is `<role>#2`, a third `<role>#3`.
      let name = roleName(args);
      for (let n = 2; this.roles[name]; n++) name = `${roleName(args)}#${n}`;
      this.roles[name] = roleProcess({
        name,
        args,
        env: opts.env,
        logDir: opts.logDir,
        script: opts.script,
        nodeFlags: opts.nodeFlags?.(name),
        ipc: opts.ipc,
      });
    }
  }

  /** A cluster whose every role has started (provisioning is idempotent, so any order works). */
  static async start(opts: ClusterOptions): Promise<Cluster> {
    const cluster = new Cluster(opts);
    await cluster.start();
    return cluster;
  }

  /** Starts every role that does not run yet, at once; on a failure stops them all and rethrows. */
  async start(): Promise<void> {
    try {
      await Promise.all(this.list().map((r) => (r.running ? undefined : r.start())));
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  list(): RoleProcess[] {
    return Object.values(this.roles);
  }

  role(name: string): RoleProcess | undefined {
    return this.roles[name];
  }

  /** The API's url, from the api role's start line (or the `all` process's). */
  get api(): string {
    const url = this.list().find((r) => r.url)?.url;
    if (!url) throw new Error('no api role has started');
    return url;
  }

  /** Replaces a role's process definition with one with more env (e.g. crash points); not started. */
  withEnv(name: string, over: NodeJS.ProcessEnv): RoleProcess {
    const old = this.roles[name];
    if (!old) throw new Error(`no role ${name}`);
    this.roles[name] = old.with({ env: { ...this.opts.env, ...over } });
    return this.roles[name];
  }

  /** Stops every role (SIGTERM, SIGKILL after `timeoutMs`); whether each exited 0 in time. */
  async stop(timeoutMs = 30_000): Promise<boolean[]> {
    return Promise.all(this.list().map((r) => r.stop(timeoutMs)));
  }
}

/** The participants the order saga uses: the guarantee tests and the chaos run start only these. */
export const orderParticipants = ['inventory', 'payment', 'shipping'];

/**
 * Every role the order saga needs as its own OS process, in a fresh namespace and database on the
 * given servers: what the guarantee tests crash, stop and restart.
 */
export class ProcessCluster {
  readonly ns = `p${randomBytes(4).toString('hex')}`;
  readonly dbName = `jetsaga_${this.ns}`;
  readonly mongo: MongoClient;
  private readonly cluster: Cluster;

  constructor(
    readonly infra: Infra,
    private readonly extraEnv: Record<string, string> = {},
    /** More replicas of some roles (`[['orchestrator'], ['service', 'inventory']]`), named `<role>#2`. */
    replicas: readonly string[][] = [],
  ) {
    this.mongo = new MongoClient(infra.mongoUrl);
    this.cluster = new Cluster({
      env: this.env(),
      logDir: mkdtempSync(path.join(tmpdir(), 'jetsaga-cluster-')),
      roles: [...roleArgs(appForTests, 'roles', orderParticipants), ...replicas.map((r) => [...r])],
    });
  }

  /** By name: `orchestrator`, `service:inventory`, ..., `api`. */
  get roles(): Record<string, RoleProcess> {
    return this.cluster.roles;
  }

  env(over: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NATS_URL: this.infra.natsUrl,
      MONGO_URL: this.infra.mongoUrl,
      JETSAGA_NAMESPACE: this.ns,
      JETSAGA_MONGO_DB: this.dbName,
      JETSAGA_HTTP_PORT: '0',
      JETSAGA_AUTH: 'off',
      LOG_LEVEL: 'info',
      JETSAGA_RETRY_MAX_MS: '1000',
      JETSAGA_SWEEP_INTERVAL_MS: '500',
      JETSAGA_OUTBOX_GRACE_MS: '500',
      JETSAGA_SHUTDOWN_TIMEOUT_MS: '5000',
      ...this.extraEnv,
      ...over,
    };
  }

  get db() {
    return this.mongo.db(this.dbName);
  }

  get api(): string {
    return this.cluster.api;
  }

  /** Replaces a role's process definition (e.g. with crash points) before it starts. */
  withEnv(name: string, over: Record<string, string>): RoleProcess {
    return this.cluster.withEnv(name, over);
  }

  async start(): Promise<void> {
    await this.mongo.connect();
    await this.cluster.start();
  }

  async order(input: unknown): Promise<string> {
    const res = await fetch(`${this.api}/v1/saga-types/order-fulfillment/sagas`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    if (res.status !== 202) throw new Error(`start failed: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { sagaId: string }).sagaId;
  }

  async waitTerminal(ids: string[], ms = 60_000): Promise<SagaDoc[]> {
    const until = Date.now() + ms;
    for (;;) {
      const docs = await this.db
        .collection<SagaDoc>('sagas')
        .find({ _id: { $in: ids } })
        .toArray();
      const done = docs.filter((d) => ['completed', 'compensated', 'failed', 'cancelled'].includes(d.status));
      if (done.length === ids.length) return docs;
      if (Date.now() > until) {
        throw new Error(
          `${ids.length - done.length} sagas not terminal: ${docs.map((d) => `${d._id}:${d.status}:${d.state}`).join(', ')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stop(): Promise<void> {
    await this.cluster.stop(10_000);
    await this.mongo
      .db(this.dbName)
      .dropDatabase()
      .catch(() => undefined);
    await this.mongo.close();
  }
}
