import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { StaleRevisionError } from '../../runtime/errors.ts';
import { type HistoryEntry, type SagaDoc, SagaStore } from '../../runtime/store/index.ts';

/** Commits of many sagas at once share round trips; a stale one is never applied. Real MongoDB-wire server. */
describe('group commit of saga transitions', () => {
  let client: MongoClient;
  let store: SagaStore;
  const updates: number[] = [];
  const finds: Array<{ ids: number; batchSize: unknown }> = [];
  const dbName = `jetsaga_gc_${process.pid}`;

  beforeAll(async () => {
    client = new MongoClient(inject('mongoUrl'), { monitorCommands: true });
    client.on('commandStarted', (e) => {
      if (e.commandName === 'update') updates.push((e.command.updates as unknown[]).length);
      if (e.commandName === 'find' && e.command.find === 'sagas') {
        const ids = (e.command.filter as { _id?: { $in?: unknown[] } })._id?.$in;
        finds.push({ ids: ids?.length ?? 0, batchSize: e.command.batchSize });
      }
      if (e.commandName === 'getMore') finds.push({ ids: -1, batchSize: 'getMore' });
    });
    await client.connect();
    store = new SagaStore(client.db(dbName));
  });
  afterAll(async () => {
    await client.db(dbName).dropDatabase();
    await client.close();
  });

  const doc = (id: string): SagaDoc => {
    const now = new Date();
    return {
      _id: id,
      type: 't',
      version: 1,
      status: 'running',
      state: 'a',
      context: {},
      snapshot: {},
      input: {},
      rev: 3,
      outbox: {},
      inbox: [],
      timers: {},
      nextWakeAt: null,
      correlationId: id,
      createdAt: now,
      updatedAt: now,
    };
  };
  const transition = (id: string, rev: number) => ({
    status: 'running' as const,
    state: 'b',
    context: { n: rev },
    snapshot: {},
    outboxAdd: [],
    history: {
      sagaId: id,
      rev: rev + 1,
      event: { id: `e${rev}`, type: 'x', data: {} },
      from: 'a',
      to: 'b',
      status: 'running',
      commands: [],
      timers: { set: [], cancelled: [] },
      at: new Date(),
    } satisfies HistoryEntry,
    inbox: [`e${rev}`],
    timers: {},
    outboxLeft: false,
  });

  it('writes 40 concurrent transitions in fewer round trips, each exactly once', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `gc-${i}`);
    await store.sagas.insertMany(ids.map(doc));
    updates.length = 0;
    const revs = await Promise.all(ids.map((id) => store.commit(id, 3, transition(id, 3))));
    expect(revs).toEqual(ids.map(() => 4));
    expect(updates.reduce((a, b) => a + b, 0)).toBe(40);
    expect(updates.length).toBeLessThan(40);
    const stored = await store.sagas.find({ _id: { $in: ids } }).toArray();
    expect(stored.map((d) => d.rev)).toEqual(ids.map(() => 4));
  });

  it('a stale transition among others is refused and not applied; the others are applied', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `gcs-${i}`);
    await store.sagas.insertMany(ids.map(doc));
    const results = await Promise.allSettled(
      ids.map((id, i) => store.commit(id, i === 7 ? 2 : 3, transition(id, 3))),
    );
    const stale = results[7]!;
    expect(stale.status).toBe('rejected');
    expect((stale as PromiseRejectedResult).reason).toBeInstanceOf(StaleRevisionError);
    const stored = new Map((await store.sagas.find({ _id: { $in: ids } }).toArray()).map((d) => [d._id, d]));
    expect(stored.get('gcs-7')!.rev).toBe(3);
    for (const [i, id] of ids.entries()) {
      if (i === 7) continue;
      // Applied whether or not its batch answered "stale" (then its actor reloads and finds it done).
      expect(stored.get(id)!.rev).toBe(4);
      expect(stored.get(id)!.inbox).toEqual(['e3']);
      const r = results[i]!;
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(StaleRevisionError);
    }
  });

  it('loads of many sagas at once are one find, every document in its first batch', async () => {
    const ids = Array.from({ length: 150 }, (_, i) => `gcl-${i}`);
    await store.sagas.insertMany(ids.map(doc));
    finds.length = 0;
    const loaded = await Promise.all([...ids, 'gcl-missing'].map((id) => store.load(id)));
    expect(loaded.slice(0, 150).map((d) => d?._id)).toEqual(ids);
    expect(loaded[150]).toBeNull();
    // 151 ids in one `$in`, and no getMore after it (mongod's default first batch is 101).
    expect(finds.map((f) => f.ids)).toEqual([151]);
    expect(Number(finds[0]!.batchSize)).toBeGreaterThanOrEqual(151);
    // Every one of them found: still no getMore.
    finds.length = 0;
    expect((await Promise.all(ids.map((id) => store.load(id)))).every((d) => d !== null)).toBe(true);
    expect(finds.map((f) => f.ids)).toEqual([150]);
  });
});
