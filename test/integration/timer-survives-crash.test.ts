import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Db, MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import type { Infra } from '../../runtime/dev/index.ts';
import type { HistoryEntry, SagaDoc } from '../../runtime/store/index.ts';
import { outboxSettled, ownLocalInfra, waitUntil } from '../harness.ts';

/**
 * Waits until every write so far is on the store's disk: a marker written last is. mongod journals it
 * (j: true); the local MongoDB-wire server commits its H2 file about once a second, documents as plain
 * BSON, so the marker's bytes show up in that file once the commit holding it (and all before) is written.
 */
async function onDisk(db: Db, infra: Infra): Promise<void> {
  const marker = `durable-${randomBytes(8).toString('hex')}`;
  await db.collection('durability_marks').insertOne({ marker }, { writeConcern: { w: 1, j: true } });
  if (infra.mongoKind !== 'mongo-java-server') return;
  // ManagedProcess keeps the local store's H2 file at <dataDir>/mongo/data.mv.
  const file = path.join(infra.mongo!.dataDir!, 'mongo', 'data.mv');
  await waitUntil(
    async () => (await readFile(file)).includes(marker),
    `${file} to hold ${marker}`,
    30_000,
    100,
  );
}

/** Every process dies while a saga waits on a 5 s timer; after the deadline they come back and it fires once. */
describe('a durable timer survives the death of every process', () => {
  let infra: Infra | undefined;
  let node: ChildProcess | undefined;
  afterAll(async () => {
    node?.kill('SIGKILL');
    await infra?.stop();
  });

  const ns = `t${randomBytes(4).toString('hex')}`;
  const port = 20000 + Math.floor(Math.random() * 20000);
  const startNode = (urls: { nats: string; mongo: string }) =>
    spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/reminder-node.ts', 'all'], {
      env: {
        ...process.env,
        NATS_URL: urls.nats,
        MONGO_URL: urls.mongo,
        JETSAGA_NAMESPACE: ns,
        JETSAGA_MONGO_DB: `jetsaga_${ns}`,
        JETSAGA_HTTP_PORT: String(port),
        JETSAGA_AUTH: 'off', // the API is called without tokens
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
  /** `f` until it returns something; an error (a server still down) is a no for now. */
  const until = <T>(what: string, f: () => Promise<T | undefined>): Promise<T> =>
    waitUntil(() => f().catch(() => undefined), what, 30_000, 100) as Promise<T>;

  it('fires exactly once at restart', async () => {
    // Its own servers: this test kills them.
    infra = await ownLocalInfra();
    expect(infra.nats && infra.mongo).toBeTruthy();
    const urls = { nats: infra.natsUrl, mongo: infra.mongoUrl };
    node = startNode(urls);
    const api = `http://127.0.0.1:${port}`;
    await until('the API', async () => ((await fetch(`${api}/readyz`)).ok ? true : undefined));
    const res = await fetch(`${api}/v1/saga-types/reminder/sagas`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ delayMs: 5000 }),
    });
    expect(res.status).toBe(202);
    const { sagaId } = (await res.json()) as { sagaId: string };

    const client = new MongoClient(urls.mongo);
    const sagas = client.db(`jetsaga_${ns}`).collection<SagaDoc>('sagas');
    const armed = await until('the timer to be armed', async () => {
      const d = await sagas.findOne({ _id: sagaId });
      return d && Object.keys(d.timers).length === 1 ? d : undefined;
    });
    expect(armed.state).toBe('waiting');
    // A real mongod would have the timer in its journal by now; the local store writes its file later.
    await onDisk(client.db(`jetsaga_${ns}`), infra);
    await client.close();

    node.kill('SIGKILL');
    await infra.nats!.kill();
    await infra.mongo!.kill();
    // Everything stays down until the timer is due.
    const dueAt = new Date(Object.values(armed.timers)[0]!.dueAt).getTime();
    await waitUntil(() => Date.now() > dueAt, 'the timer to fall due while every process is down');

    await infra.nats!.restart();
    await infra.mongo!.restart();
    node = startNode(urls);

    const after = new MongoClient(urls.mongo);
    const db = after.db(`jetsaga_${ns}`);
    // Completed, and its outbox cleared.
    const done = await until('the saga to complete and its outbox to be cleared', async () => {
      const d = await db.collection<SagaDoc>('sagas').findOne({ _id: sagaId });
      return d?.status === 'completed' && outboxSettled(d) ? d : undefined;
    });
    expect(done.timers).toEqual({});
    const history = Object.values(
      (await db.collection<SagaDoc>('sagas').findOne({ _id: sagaId }))?.history ??
        ({} as Record<string, HistoryEntry>),
    );
    const fired = history.filter(
      (h) =>
        h.event.type === 'saga.timer' &&
        !String((h.event.data as { timerId: string }).timerId).startsWith('jetsaga.resend.'),
    );
    expect(fired).toHaveLength(1);
    expect(await db.collection('clock_rings').countDocuments({})).toBe(1);
    await after.close();
  });
});
