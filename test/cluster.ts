import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import type { Infra } from '../runtime/dev/index.ts';
import type { SagaDoc } from '../runtime/store/index.ts';
import { appForTests } from './dist.ts';
import { RoleProcess } from './scale/role-process.ts';

/**
 * Every role of the distribution as its own OS process, in a fresh namespace and database
 * on the given servers: what the guarantee tests crash, stop and restart.
 */
export class ProcessCluster {
  readonly ns = `p${randomBytes(4).toString('hex')}`;
  readonly dbName = `jetsaga_${this.ns}`;
  readonly roles: Record<string, RoleProcess> = {};
  readonly mongo: MongoClient;
  private readonly logDir = mkdtempSync(path.join(tmpdir(), 'jetsaga-cluster-'));

  constructor(
    readonly infra: Infra,
    private readonly extraEnv: Record<string, string> = {},
  ) {
    this.mongo = new MongoClient(infra.mongoUrl);
    const names: Array<[string, string[]]> = [
      ['orchestrator', ['orchestrator']],
      ...Object.keys(appForTests.participants)
        .filter((s) => ['inventory', 'payment', 'shipping'].includes(s))
        .map((s): [string, string[]] => [s, ['service', s]]),
      ...Object.keys(appForTests.reactors).map((r): [string, string[]] => [r, [r]]),
      ['api', ['api']],
    ];
    for (const [name, args] of names) this.roles[name] = new RoleProcess(name, args, this.env(), this.logDir);
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
    return this.roles.api!.url!;
  }

  /** Replaces a role's process definition (e.g. with crash points) before it starts. */
  withEnv(name: string, over: Record<string, string>): RoleProcess {
    const old = this.roles[name]!;
    this.roles[name] = new RoleProcess(name, old.args, this.env(over), this.logDir);
    return this.roles[name]!;
  }

  async start(): Promise<void> {
    await this.mongo.connect();
    await Promise.all(Object.values(this.roles).map((r) => r.start()));
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
    await Promise.all(Object.values(this.roles).map((r) => r.stop(10_000).catch(() => false)));
    await Promise.all(Object.values(this.roles).map((r) => r.close()));
    await this.mongo
      .db(this.dbName)
      .dropDatabase()
      .catch(() => undefined);
    await this.mongo.close();
  }
}
