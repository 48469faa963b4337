import { describe, expect, it } from 'vitest';
import { reservations, stock } from '../../services/inventory/index.ts';
import { payments } from '../../services/payment/index.ts';
import { shipments } from '../../services/shipping/index.ts';
import { order, outboxSettled, useTestNode } from '../harness.ts';

/** Real NATS JetStream + a real MongoDB-wire server, every role in one process. */
describe('order-fulfillment end to end', () => {
  const node = useTestNode();
  const db = () => node().mongo.db(node().config.mongoDb);

  async function start(body: unknown): Promise<string> {
    const res = await node().post('/v1/saga-types/order-fulfillment/sagas', body);
    expect(res.status).toBe(202);
    const json = (await res.json()) as { sagaId: string; links: { self: string } };
    expect(res.headers.get('location')).toBe(`/v1/sagas/${json.sagaId}`);
    expect(json.links.self).toBe(`/v1/sagas/${json.sagaId}`);
    return json.sagaId;
  }

  it('completes: stock committed, payment captured, shipment created, exactly one of each', async () => {
    const before = (await stock(db()).findOne({ _id: 'SKU-2' }))!;
    const sagaId = await start(
      order({ orderId: 'ord-ok-1', items: [{ sku: 'SKU-2', qty: 3, unitPrice: 10 }] }),
    );
    const doc = await node().waitForTerminal(sagaId);
    expect(doc.status).toBe('completed');
    expect(doc.state).toBe('completed');

    // The hold became sold stock: taken from available, gone from the document, counted as committed.
    const sku = (await stock(db()).findOne({ _id: 'SKU-2' }))!;
    expect(sku.available).toBe(before.available - 3);
    expect(sku.holds['ord-ok-1']).toBeUndefined();
    expect(sku.committed).toBe((before.committed ?? 0) + 3);
    expect(await payments(db()).find({ _id: 'ord-ok-1' }).toArray()).toEqual([
      expect.objectContaining({ status: 'captured', capturedAmount: 30 }),
    ]);
    expect(await shipments(db()).countDocuments({ _id: 'ord-ok-1', status: 'created' })).toBe(1);
    expect(await reservations(db()).countDocuments({ _id: 'ord-ok-1', status: 'committed' })).toBe(1);
    // One reply per command, kept with its effect: reserve and commit, nothing ran twice.
    const replies = (await reservations(db()).findOne({ _id: 'ord-ok-1' }))!.replies ?? {};
    expect(Object.values(replies).map((r) => r.type)).toEqual(['reserved', 'committed']);
    const history = await node().store.historyOf(sagaId);
    expect(history.flatMap((h) => h.commands.map((c) => c.type))).toEqual([
      'inventory.reserve',
      'payment.authorize',
      'payment.capture',
      'shipping.create-shipment',
      'inventory.commit',
    ]);
    expect(history.map((h) => h.to).slice(-2)).toEqual(['committingInventory', 'completed']);
    // The write that ended it put its saga.ended in the outbox; published, it is cleared at once.
    expect((await node().waitFor(sagaId, outboxSettled)).outbox).toEqual({});
  });

  it('declined payment compensates: stock released, no shipment, inspector shows the compensation', async () => {
    const before = (await stock(db()).findOne({ _id: 'SKU-3' }))!.available;
    const sagaId = await start(
      order({
        orderId: 'ord-declined',
        items: [{ sku: 'SKU-3', qty: 2, unitPrice: 5 }],
        payment: { token: 'tok_declined' },
      }),
    );
    const doc = await node().waitForTerminal(sagaId);
    expect(doc.status).toBe('compensated');
    expect(doc.reason).toBe('payment-declined: card-declined');

    const sku = (await stock(db()).findOne({ _id: 'SKU-3' }))!;
    expect(sku.available).toBe(before);
    expect(sku.holds['ord-declined']).toBeUndefined();
    expect(await shipments(db()).countDocuments({ _id: 'ord-declined' })).toBe(0);
    expect((await payments(db()).findOne({ _id: 'ord-declined' }))?.status).toBe('declined');

    const res = await node().fetch(`/v1/sagas/${sagaId}`);
    expect(res.status).toBe(200);
    const view = (await res.json()) as {
      status: string;
      type: string;
      version: number;
      rev: number;
      history: Array<{ to: string; event: { type: string }; commands: Array<{ type: string }> }>;
    };
    expect(view).toMatchObject({ status: 'compensated', type: 'order-fulfillment', version: 1 });
    expect(view.history.map((h) => h.to)).toContain('compensating.releasingInventory');
    expect(view.history.flatMap((h) => h.commands.map((c) => c.type))).toContain('inventory.release');
    expect(view.history.map((h) => h.event.type)).toEqual([
      'saga.started',
      'inventory.reserved',
      'payment.declined',
      'inventory.released',
    ]);
  });

  it('out of stock compensates without charging', async () => {
    const sagaId = await start(
      order({ orderId: 'ord-oos', items: [{ sku: 'SKU-OUT', qty: 1, unitPrice: 5 }] }),
    );
    const doc = await node().waitForTerminal(sagaId);
    expect(doc.status).toBe('compensated');
    expect(doc.reason).toBe('out-of-stock');
    expect(await payments(db()).countDocuments({ _id: 'ord-oos' })).toBe(0);
    expect(await shipments(db()).countDocuments({ _id: 'ord-oos' })).toBe(0);
  });

  it('a failed capture voids the authorization; no carrier refunds the capture', async () => {
    const a = await start(order({ orderId: 'ord-capture', payment: { token: 'tok_capture_fails' } }));
    const b = await start(
      order({ orderId: 'ord-aq', shippingAddress: { ...order().shippingAddress, country: 'AQ' } }),
    );
    expect((await node().waitForTerminal(a)).status).toBe('compensated');
    expect((await node().waitForTerminal(b)).status).toBe('compensated');
    expect((await payments(db()).findOne({ _id: 'ord-capture' }))?.status).toBe('voided');
    expect((await payments(db()).findOne({ _id: 'ord-aq' }))?.status).toBe('refunded');
    expect(await shipments(db()).countDocuments({ _id: 'ord-aq' })).toBe(0);
  });

  it('invalid input gets 400 problem+json naming the field, and starts nothing', async () => {
    const count = await node().store.sagas.countDocuments({});
    const res = await node().post(
      '/v1/saga-types/order-fulfillment/sagas',
      order({ items: [{ sku: 'SKU-1', qty: 0, unitPrice: 1 }] }),
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await res.json()) as { errors: Array<{ field: string }> };
    expect(problem.errors.map((e) => e.field)).toContain('items.0.qty');
    expect(await node().store.sagas.countDocuments({})).toBe(count);
  });

  it('malformed JSON is 400 and an unknown saga type is 404, both problem+json', async () => {
    const bad = await node().post('/v1/saga-types/order-fulfillment/sagas', '{"customerId": ');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    const unknown = await node().post('/v1/sagas/no-such-saga', order());
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toContain('application/problem+json');
    expect(((await unknown.json()) as { detail: string }).detail).toContain('order-fulfillment');
  });

  it('health and readiness', async () => {
    expect((await node().fetch('/healthz')).status).toBe(200);
    const ready = await node().fetch('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { nats: 'ok', mongo: 'ok' } });
  });
});
