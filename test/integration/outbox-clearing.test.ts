import { describe, expect, it } from 'vitest';
import type { HistoryEntry, SagaDoc } from '../../runtime/store/index.ts';
import { order, outboxSettled, startTestNode, useTestNode } from '../harness.ts';

/**
 * A transition's write also removes what the previous one published; a saga that stops moving
 * (waiting on a reply or a timer, or ended) gets its outbox and pending history cleared by a
 * write of its own, and leaves the outbox sweep's index. Real NATS and MongoDB-wire server.
 */
describe('outbox clearing', () => {
  const node = useTestNode();
  const db = () => node().mongo.db(node().config.mongoDb);

  const isClean = (d: SagaDoc) => outboxSettled(d) && (d.outboxAt === undefined || d.outboxAt === null);

  it('an ended saga has nothing left in its outbox, its history is whole, and the sweep finds nothing', async () => {
    const res = await node().post('/v1/saga-types/order-fulfillment/sagas', order({ orderId: 'oc-done-1' }));
    const { sagaId } = (await res.json()) as { sagaId: string };
    const ended = await node().waitForTerminal(sagaId);
    const clean = await node().waitFor(sagaId, isClean, 5_000);
    expect(clean.rev).toBe(ended.rev);
    const history = await db()
      .collection<HistoryEntry>('saga_history')
      .find({ sagaId })
      .sort({ rev: 1 })
      .toArray();
    expect(history.map((h) => h.rev)).toEqual(Array.from({ length: ended.rev }, (_, i) => i + 1));
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

  it('a lingering history copy: the API shows the transition meanwhile, and an ended saga sends its copies at once', async () => {
    // Copies wait a minute for company: longer than this test.
    const slow = await startTestNode({ config: { historyLingerMs: 60_000 } });
    const waiting = await startTestNode({
      roles: [{ kind: 'api' }, { kind: 'orchestrator' }],
      config: { historyLingerMs: 60_000 },
    });
    try {
      const res = await waiting.post(
        '/v1/saga-types/order-fulfillment/sagas',
        order({ orderId: 'oc-linger-1' }),
      );
      const { sagaId } = (await res.json()) as { sagaId: string };
      const doc = await waiting.waitFor(sagaId, (d) => d.state === 'reservingInventory', 10_000);
      expect(Object.keys(doc.pendingHistory ?? {})).toEqual(['1']);
      const copied = waiting.mongo.db(waiting.config.mongoDb).collection<HistoryEntry>('saga_history');
      expect(await copied.countDocuments({ sagaId })).toBe(0);
      const shown = (await (await waiting.fetch(`/v1/sagas/${sagaId}/history`)).json()) as Array<{
        rev: number;
      }>;
      expect(shown.map((h) => h.rev)).toEqual([1]);

      const r = await slow.post('/v1/saga-types/order-fulfillment/sagas', order({ orderId: 'oc-linger-2' }));
      const ended = await slow.waitForTerminal(((await r.json()) as { sagaId: string }).sagaId);
      expect(ended.status).toBe('completed');
      const clean = await slow.waitFor(ended._id, isClean, 5_000);
      const history = await slow.mongo
        .db(slow.config.mongoDb)
        .collection<HistoryEntry>('saga_history')
        .find({ sagaId: ended._id })
        .sort({ rev: 1 })
        .toArray();
      expect(history.map((h) => h.rev)).toEqual(Array.from({ length: clean.rev }, (_, i) => i + 1));
    } finally {
      await waiting.destroy();
      await slow.destroy();
    }
  });
});
