import { describe, expect, it } from 'vitest';
import { type ParticipantDefinition, defineParticipant } from '../../runtime/participants/index.ts';
import { reservations, stock } from '../../services/inventory/index.ts';
import { payments } from '../../services/payment/index.ts';
import { shipments } from '../../services/shipping/index.ts';
import { appForTests } from '../dist.ts';
import { order, useTestNode } from '../harness.ts';

const orderOf = (data: unknown) => (data as { orderId?: string }).orderId;

/** A shipping service that never answers create-shipment for `ord-cancel`: that saga waits there until cancelled. */
const createShipment = appForTests.participants.shipping!.commands['create-shipment']!;
const stalledShipping: ParticipantDefinition = defineParticipant({
  name: 'shipping',
  commands: {
    ...appForTests.participants.shipping!.commands,
    'create-shipment': {
      handle: (data, ctx) =>
        orderOf(data) === 'ord-cancel' ? new Promise(() => undefined) : createShipment.handle(data, ctx),
    },
  },
});

/** An inventory service that holds back the commit of `ord-shipped` until the test opens the gate. */
let openCommitGate: () => void = () => undefined;
const commitGate = new Promise<void>((resolve) => (openCommitGate = resolve));
const commit = appForTests.participants.inventory!.commands.commit!;
const gatedInventory: ParticipantDefinition = defineParticipant({
  ...appForTests.participants.inventory!,
  commands: {
    ...appForTests.participants.inventory!.commands,
    commit: {
      handle: async (data, ctx) => {
        if (orderOf(data) === 'ord-shipped') await commitGate;
        return commit.handle(data, ctx);
      },
    },
  },
});

describe('cancel', () => {
  const node = useTestNode({
    dist: {
      ...appForTests,
      participants: { ...appForTests.participants, shipping: stalledShipping, inventory: gatedInventory },
    },
    config: { ackWaitMs: 60_000, shutdownTimeoutMs: 500 },
  });
  const db = () => node().mongo.db(node().config.mongoDb);

  it('a running saga cancels: effects undone, status cancelled, 409 once it ended', async () => {
    const before = (await stock(db()).findOne({ _id: 'SKU-4' }))!.available;
    const res = await node().post(
      '/v1/saga-types/order-fulfillment/sagas',
      order({ orderId: 'ord-cancel', items: [{ sku: 'SKU-4', qty: 1, unitPrice: 7 }] }),
    );
    const { sagaId } = (await res.json()) as { sagaId: string };
    await node().waitFor(sagaId, (d) => d.state === 'creatingShipment');
    expect((await payments(db()).findOne({ _id: 'ord-cancel' }))?.status).toBe('captured');

    const cancel = await node().post(`/v1/sagas/${sagaId}/cancel`, { reason: 'customer request' });
    expect(cancel.status).toBe(202);
    const doc = await node().waitForTerminal(sagaId);
    expect(doc.status).toBe('cancelled');
    expect(doc.reason).toBe('cancelled: customer request');
    expect((await payments(db()).findOne({ _id: 'ord-cancel' }))?.status).toBe('refunded');
    expect((await reservations(db()).findOne({ _id: 'ord-cancel' }))?.status).toBe('released');
    expect((await stock(db()).findOne({ _id: 'SKU-4' }))!.available).toBe(before);

    const again = await node().post(`/v1/sagas/${sagaId}/cancel`, {});
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
  });

  it('once shipped, a cancel is too late: the stock is committed and the saga completes', async () => {
    const before = (await stock(db()).findOne({ _id: 'SKU-6' }))!;
    const res = await node().post(
      '/v1/saga-types/order-fulfillment/sagas',
      order({ orderId: 'ord-shipped', items: [{ sku: 'SKU-6', qty: 2, unitPrice: 7 }] }),
    );
    const { sagaId } = (await res.json()) as { sagaId: string };
    await node().waitFor(sagaId, (d) => d.state === 'committingInventory');
    expect(await shipments(db()).countDocuments({ _id: 'ord-shipped', status: 'created' })).toBe(1);

    // Still running, so the API accepts the cancel; the machine ignores it in this state.
    const handled = node().orchestrator!.consumer.stats.processed;
    const cancel = await node().post(`/v1/sagas/${sagaId}/cancel`, { reason: 'too late' });
    expect(cancel.status).toBe(202);
    await expect.poll(() => node().orchestrator!.consumer.stats.processed).toBeGreaterThan(handled);
    expect((await node().store.load(sagaId))!.state).toBe('committingInventory');

    openCommitGate();
    const doc = await node().waitForTerminal(sagaId);
    expect(doc.status).toBe('completed');
    expect(doc.reason).toBeNull();
    expect((await payments(db()).findOne({ _id: 'ord-shipped' }))?.status).toBe('captured');
    expect((await reservations(db()).findOne({ _id: 'ord-shipped' }))?.status).toBe('committed');
    const sku = (await stock(db()).findOne({ _id: 'SKU-6' }))!;
    expect(sku.available).toBe(before.available - 2);
    expect(sku.holds['ord-shipped']).toBeUndefined();
    expect(sku.committed).toBe((before.committed ?? 0) + 2);
    expect((await node().post(`/v1/sagas/${sagaId}/cancel`, {})).status).toBe(409);
  });

  it('cancelling an unknown saga is 404', async () => {
    const res = await node().post('/v1/sagas/nope/cancel', {});
    expect(res.status).toBe(404);
  });
});
