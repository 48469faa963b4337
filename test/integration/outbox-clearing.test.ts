import { describe, expect, it } from 'vitest';
import { recordedContext } from '../../runtime/orchestrator/records.ts';
import { type HistoryEntry, historyOnDoc, type SagaDoc, SagaStore } from '../../runtime/store/index.ts';
import { order, outboxSettled, startTestNode, useTestNode } from '../harness.ts';
import { checkSagaHistory } from '../invariants.ts';

/**
 * A transition's write also removes what the previous one published and carries its own history
 * entry; a saga that stops moving (waiting on a reply or a timer, or ended) gets its outbox
 * cleared by a write of its own, and leaves the outbox sweep's index. Real NATS and MongoDB-wire
 * server.
 */
describe('outbox clearing', () => {
  const node = useTestNode();
  const db = () => node().mongo.db(node().config.mongoDb);

  const isClean = (d: SagaDoc) => outboxSettled(d) && (d.outboxAt === undefined || d.outboxAt === null);

  it('an ended saga has nothing left in its outbox, its history is whole on its document, and the sweep finds nothing', async () => {
    const res = await node().post('/v1/saga-types/order-fulfillment/sagas', order({ orderId: 'oc-done-1' }));
    const { sagaId } = (await res.json()) as { sagaId: string };
    const ended = await node().waitForTerminal(sagaId);
    const clean = await node().waitFor(sagaId, isClean, 5_000);
    expect(clean.rev).toBe(ended.rev);
    const revs = Array.from({ length: ended.rev }, (_, i) => i + 1);
    const stored = await node().store.sagas.findOne({ _id: sagaId });
    expect(Object.keys(stored?.history ?? {}).map(Number)).toEqual(revs);
    expect((await node().store.historyOf(sagaId)).map((h) => h.rev)).toEqual(revs);
    // Nothing was copied: the transitions' own writes hold the history.
    expect(await db().collection<HistoryEntry>('saga_history').countDocuments({ sagaId })).toBe(0);
    expect(await node().store.findStaleOutboxes(new Date(), 10)).toEqual([]);
  });

  it('an outbox written by an older jetsaga (no outboxAt) is found, published and cleared', async () => {
    // As startSaga stores a saga, minus the field this version adds, and never published.
    const sagaId = 'oc-legacy-1';
    const startId = `${sagaId}:start`;
    const now = new Date(Date.now() - 60_000);
    const envelope = {
      id: startId,
      type: 'saga.started',
      schemaVersion: 1,
      occurredAt: now.toISOString(),
      sagaId,
      sagaType: 'order-fulfillment',
      correlationId: sagaId,
      causationId: null,
      data: {},
    };
    const input = order({ orderId: 'oc-legacy-1' });
    await node().store.sagas.insertOne({
      _id: sagaId,
      type: 'order-fulfillment',
      version: 1,
      status: 'running',
      state: null,
      context: null,
      snapshot: null,
      input,
      rev: 0,
      outbox: { [startId]: { msgId: startId, subject: 'evt.saga.started', envelope, createdAt: now } },
      pendingHistory: {},
      inbox: [],
      timers: {},
      nextWakeAt: null,
      correlationId: sagaId,
      createdAt: now,
      updatedAt: now,
    });
    expect(await node().store.findStaleOutboxes(new Date(), 10)).toEqual([]);
    // What an orchestrator does at start: mark, then sweep.
    expect(await node().store.markUnsweptOutboxes()).toBe(1);
    await node().orchestrator!.sweepOutboxes(new Date());
    const ended = await node().waitForTerminal(sagaId);
    expect(ended.status).toBe('completed');
    await node().waitFor(sagaId, isClean, 5_000);
  });

  it('a saga waiting on a participant that is not running is cleared without a next transition', async () => {
    const api = await startTestNode({ roles: [{ kind: 'api' }, { kind: 'orchestrator' }] });
    try {
      const res = await api.post('/v1/saga-types/order-fulfillment/sagas', order({ orderId: 'oc-wait-1' }));
      const { sagaId } = (await res.json()) as { sagaId: string };
      // First step: the reservation was asked for (published) and the saga waits for its reply.
      const waiting = await api.waitFor(sagaId, (d) => d.state === 'reservingInventory', 10_000);
      expect(waiting.rev).toBe(1);
      const clean = await api.waitFor(sagaId, isClean, 5_000);
      expect(clean.rev).toBe(1);
      expect(Object.keys(clean.timers).length).toBeGreaterThan(0);
      const history = await api.store.historyOf(sagaId);
      expect(history.map((h) => [h.rev, h.commands.map((c) => c.type)])).toEqual([
        [1, ['inventory.reserve']],
      ]);
    } finally {
      await api.destroy();
    }
  });

  it('a long saga moves its oldest history out of its document, and its history stays whole, contexts included', async () => {
    // What the actor does at each step (saga-actor.ts, moveHistory), on a saga of 150 steps whose
    // context changes a field or two a step, as an `assign` does (the other fields keep their
    // references); the entries store the changes, the reads give every context whole.
    const limit = 16_384;
    const items = [{ sku: 'SKU-1', qty: 2 }];
    const contextAt = (rev: number): Record<string, unknown> => ({
      orderId: 'oc-long-1',
      items,
      n: rev,
      ...(rev % 10 === 0 ? { tenth: rev } : {}),
      // One step's context is over the limit: its entry keeps only its size, the next one whole.
      ...(rev === 40 ? { blob: 'x'.repeat(limit) } : {}),
    });
    const store = new SagaStore(db());
    const sagaId = 'oc-long-1';
    const now = new Date();
    await store.sagas.insertOne({
      _id: sagaId,
      type: 'order-fulfillment',
      version: 1,
      status: 'running',
      state: 's0',
      context: null,
      snapshot: null,
      input: {},
      rev: 0,
      outbox: {},
      inbox: [],
      timers: {},
      nextWakeAt: null,
      correlationId: sagaId,
      createdAt: now,
      updatedAt: now,
    });
    let base = 0;
    for (let rev = 0; rev < 150; rev++) {
      const moved =
        rev - base >= historyOnDoc
          ? await store.moveHistory(sagaId, base, rev - historyOnDoc / 2)
          : undefined;
      if (moved) base = moved.base;
      const entry: HistoryEntry = {
        sagaId,
        rev: rev + 1,
        event: { id: `e${rev}`, type: 'tick', data: {} },
        from: `s${rev}`,
        to: `s${rev + 1}`,
        status: 'running',
        commands: [],
        timers: { set: [], cancelled: [] },
        at: now,
        ...recordedContext(contextAt(rev + 1), limit, { rev: rev + 1, previousContext: contextAt(rev) }),
      };
      await store.commit(sagaId, rev, {
        status: 'running',
        state: `s${rev + 1}`,
        context: contextAt(rev + 1),
        snapshot: null,
        outboxAdd: [],
        outboxLeft: false,
        history: entry,
        ...(moved ? { historyMoved: moved } : {}),
        inbox: [],
        timers: {},
      });
    }
    const stored = await store.sagas.findOne({ _id: sagaId });
    const onDoc = Object.keys(stored?.history ?? {}).length;
    expect(onDoc).toBeLessThanOrEqual(historyOnDoc);
    expect(stored?.historyBase).toBe(base);
    expect(await db().collection('saga_history').countDocuments({ sagaId })).toBe(150 - onDoc);
    const all = await store.historyOf(sagaId);
    expect(all.map((h) => h.rev)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(all.every((h, i) => h.from === `s${i}`)).toBe(true);
    const expected = (rev: number) => (rev === 40 ? undefined : contextAt(rev));
    expect(all.map((h) => h.context)).toEqual(all.map((h) => expected(h.rev)));
    expect(all[39]?.contextOmitted).toEqual({ bytes: JSON.stringify(contextAt(40)).length, limit });
    expect(all.some((h) => 'contextChanges' in h)).toBe(false);
    // Stored: whole at the keyframes (1, 33, 65, ...) and after the entry over the limit, else changes.
    const raw = await db().collection('saga_history').findOne({ sagaId, rev: 2 });
    expect(raw).toMatchObject({ contextChanges: { set: { n: 2 } } });
    expect(raw).not.toHaveProperty('context');
    for (const rev of [33, 41])
      expect(await db().collection('saga_history').findOne({ sagaId, rev })).toHaveProperty('context');
    // A page after some revision crosses from the moved entries to those on the document, and a
    // page that starts between keyframes has its contexts too.
    const page = await store.historyAfter(sagaId, base - 2, 4);
    expect(page.map((h) => h.rev)).toEqual([base - 1, base, base + 1, base + 2]);
    expect(page.map((h) => h.context)).toEqual(page.map((h) => expected(h.rev)));
    const late = await store.historyAfter(sagaId, 140, 5);
    expect(late.map((h) => [h.rev, h.context])).toEqual(
      [141, 142, 143, 144, 145].map((r) => [r, expected(r)]),
    );
    // The chaos suite's check: the context the entries rebuild at the last revision is the saga's.
    expect(await checkSagaHistory(db(), { _id: sagaId })).toMatchObject({
      gaps: 0,
      violations: [],
      contextsChecked: 1,
    });
    await store.sagas.updateOne({ _id: sagaId }, { $set: { 'history.150.contextChanges.set.n': -1 } });
    expect((await checkSagaHistory(db(), { _id: sagaId })).violations).toEqual([
      `saga ${sagaId}: the context its history rebuilds at rev 150 is not the saga's`,
    ]);
  });
});
