import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ParticipantDefinition, defineParticipant } from '../../runtime/participants/index.ts';
import { reservations, stock } from '../../services/inventory/index.ts';
import { payments } from '../../services/payment/index.ts';
import { participants } from '../../services/index.ts';
import { distributionForTests } from '../dist.ts';
import { order, startTestNode, type TestNode } from '../harness.ts';

/** A shipping service that never answers create-shipment: the saga waits there until cancelled. */
const stalledShipping: ParticipantDefinition = defineParticipant({
  name: 'shipping',
  commands: {
    ...participants.shipping!.commands,
    'create-shipment': { handle: () => new Promise(() => undefined) },
  },
});

describe('cancel', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({
      dist: { ...distributionForTests, participants: { ...participants, shipping: stalledShipping } },
      config: { ackWaitMs: 60_000, shutdownTimeoutMs: 500 },
    });
  });
  afterAll(async () => {
    await node?.destroy();
  });
  const db = () => node.mongo.db(node.config.mongoDb);

  it('a running saga cancels: effects undone, status cancelled, 409 once it ended', async () => {
    const before = (await stock(db()).findOne({ _id: 'SKU-4' }))!.available;
    const res = await node.post(
      '/v1/sagas/order-fulfillment',
      order({ orderId: 'ord-cancel', items: [{ sku: 'SKU-4', qty: 1, unitPrice: 7 }] }),
    );
    const { sagaId } = (await res.json()) as { sagaId: string };
    await node.waitFor(sagaId, (d) => d.state === 'creatingShipment');
    expect((await payments(db()).findOne({ _id: 'ord-cancel' }))?.status).toBe('captured');

    const cancel = await node.post(`/v1/sagas/${sagaId}/cancel`, { reason: 'customer request' });
    expect(cancel.status).toBe(202);
    const doc = await node.waitForTerminal(sagaId);
    expect(doc.status).toBe('cancelled');
    expect(doc.reason).toBe('cancelled: customer request');
    expect((await payments(db()).findOne({ _id: 'ord-cancel' }))?.status).toBe('refunded');
    expect((await reservations(db()).findOne({ _id: 'ord-cancel' }))?.status).toBe('released');
    expect((await stock(db()).findOne({ _id: 'SKU-4' }))!.available).toBe(before);

    const again = await node.post(`/v1/sagas/${sagaId}/cancel`, {});
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
  });

  it('cancelling an unknown saga is 404', async () => {
    const res = await node.post('/v1/sagas/nope/cancel', {});
    expect(res.status).toBe(404);
  });
});
