import { describe, expect, it } from 'vitest';
import type { SagaDoc } from '../../runtime/store/index.ts';
import { order, useTestNode } from '../harness.ts';

/**
 * The store keeps a saga's context once: on the document, not again inside the persisted snapshot.
 * Reading the saga puts it back, and documents written the old way (context in both) still read
 * as they were. Real NATS and MongoDB-wire server.
 */
describe('snapshot storage', () => {
  const node = useTestNode();

  it('stores the snapshot without its context and reads it back whole', async () => {
    const res = await node().post('/v1/saga-types/order-fulfillment/sagas', order({ orderId: 'ss-1' }));
    const { sagaId } = (await res.json()) as { sagaId: string };
    const ended = await node().waitForTerminal(sagaId);
    expect(ended.status).toBe('completed');

    const stored = (await node().store.sagas.findOne({ _id: sagaId }))!;
    const storedSnapshot = stored.snapshot as Record<string, unknown>;
    expect(storedSnapshot.value).toBe('completed');
    expect('context' in storedSnapshot).toBe(false);
    expect(stored.context).toMatchObject({ orderId: 'ss-1', outcome: 'completed' });

    const loaded = (await node().store.load(sagaId))!;
    expect(loaded.snapshot).toEqual({ ...storedSnapshot, context: stored.context });
  });

  it('reads a document written with the context inside its snapshot as it is', async () => {
    const res = await node().post('/v1/saga-types/order-fulfillment/sagas', order({ orderId: 'ss-2' }));
    const { sagaId } = (await res.json()) as { sagaId: string };
    await node().waitForTerminal(sagaId);
    const stored = (await node().store.sagas.findOne({ _id: sagaId }))!;
    // As an older jetsaga wrote it: the context twice (here told apart by a marker).
    const legacy: SagaDoc = {
      ...stored,
      _id: `${sagaId}-legacy`,
      snapshot: { ...(stored.snapshot as object), context: { ...(stored.context as object), marker: 1 } },
    };
    await node().store.sagas.insertOne(legacy);
    const loaded = (await node().store.load(legacy._id))!;
    expect((loaded.snapshot as { context: { marker?: number } }).context.marker).toBe(1);
    expect(loaded.context).toEqual(stored.context);
  });
});
