import { describe, expect, it } from 'vitest';
import { SagaTestKit } from 'jetsaga/testing';
import { orderFulfillment, type OrderContext } from './index.ts';
import type { OrderInput } from './schema.ts';

const order = (over: Partial<OrderInput> = {}): OrderInput => ({
  orderId: 'o-1',
  customerId: 'c-1',
  currency: 'USD',
  items: [{ sku: 'SKU-1', qty: 2, unitPrice: 10 }],
  payment: { token: 'tok_visa' },
  shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Paris', postalCode: '75001', country: 'FR' },
  ...over,
});

const verdict = (score: number) => ({
  score,
  threshold: 0.41,
  reasons: score >= 0.41 ? ['5 different cards used by this customer in 24 h (+2.10)'] : [],
  modelVersion: 'gbdt-1.test',
  latencyMs: 1.2,
});
const authorized = { type: 'payment.authorized', data: { paymentId: 'pay_o-1' } };
const approved = { type: 'fraud.approved', data: verdict(0.02) };
const flagged = { type: 'fraud.flagged', data: verdict(0.93) };

/** Participants that all succeed, and a fraud agent that approves; a test overrides one to fail. */
function happyKit() {
  return (
    new SagaTestKit(orderFulfillment)
      .on('inventory.reserve', () => ({ type: 'inventory.reserved', data: {} }))
      // The fraud agent reacts to the authorization: its verdict follows the reply.
      .on('payment.authorize', () => [authorized, approved])
      .on('payment.capture', () => ({ type: 'payment.captured', data: {} }))
      .on('shipping.create-shipment', () => ({
        type: 'shipping.shipment-created',
        data: { trackingNumber: 'TRK1' },
      }))
      .on('shipping.cancel-shipment', () => ({ type: 'shipping.shipment-cancelled', data: {} }))
      .on('payment.void', () => ({ type: 'payment.voided', data: {} }))
      .on('payment.refund', () => ({ type: 'payment.refunded', data: {} }))
      .on('inventory.release', () => ({ type: 'inventory.released', data: {} }))
      .on('inventory.commit', () => ({ type: 'inventory.committed', data: {} }))
  );
}

describe('order-fulfillment machine', () => {
  it('completes: reserve, authorize, capture, ship, commit the stock, in that order', () => {
    const kit = happyKit().start(order());
    expect(kit.commandTypes()).toEqual([
      'inventory.reserve',
      'payment.authorize',
      'payment.capture',
      'shipping.create-shipment',
      'inventory.commit',
    ]);
    expect(kit.commands[4]!.data).toEqual({ orderId: 'o-1' });
    expect(kit.status).toBe('completed');
    expect(kit.armedTimers).toEqual([]);
    expect(kit.commands[1]!.data).toMatchObject({
      orderId: 'o-1',
      amount: 20,
      currency: 'USD',
      token: 'tok_visa',
    });
  });

  it('sends the risk signals with the authorization, with defaults for callers that send none', () => {
    const kit = happyKit().start(order());
    expect(kit.commands[1]!.data.risk).toEqual({
      billingCountry: 'FR',
      shippingAddress: { line1: '1 Main St', city: 'Paris', postalCode: '75001', country: 'FR' },
      ipCountry: null,
      customerCreatedAt: null,
      email: null,
      itemCount: 2,
      bin: null,
      cardCountry: null,
    });
    const full = happyKit().start(
      order({
        billingCountry: 'DE',
        customer: { createdAt: '2025-01-01T00:00:00Z', email: 'ada@example.com', ipCountry: 'PT' },
        payment: { token: 'tok_x', bin: '424242', cardCountry: 'DE' },
      }),
    );
    expect(full.commands[1]!.data.risk).toMatchObject({
      billingCountry: 'DE',
      ipCountry: 'PT',
      customerCreatedAt: '2025-01-01T00:00:00Z',
      email: 'ada@example.com',
      bin: '424242',
      cardCountry: 'DE',
    });
  });

  it('waits for the fraud verdict after authorization, and keeps it for the inspector', () => {
    const kit = happyKit()
      .on('payment.authorize', () => authorized)
      .start(order());
    expect(kit.state).toBe('screeningPayment');
    expect(kit.status).toBe('running');
    expect(kit.commandTypes()).toEqual(['inventory.reserve', 'payment.authorize']);
    expect(kit.armedTimers).toHaveLength(1);
    kit.send(approved);
    expect(kit.status).toBe('completed');
    expect((kit.context as OrderContext).fraud).toMatchObject({ outcome: 'approved', score: 0.02 });
  });

  it('flagged: voids the authorization, releases stock, ends compensated with reason fraud', () => {
    const kit = happyKit()
      .on('payment.authorize', () => [authorized, flagged])
      .start(order());
    expect(kit.commandTypes()).toEqual([
      'inventory.reserve',
      'payment.authorize',
      'payment.void',
      'inventory.release',
    ]);
    expect(kit.status).toBe('compensated');
    expect(kit.reason).toBe('fraud');
    expect((kit.context as OrderContext).fraud).toMatchObject({
      outcome: 'flagged',
      score: 0.93,
      modelVersion: 'gbdt-1.test',
      reasons: ['5 different cards used by this customer in 24 h (+2.10)'],
    });
  });

  it('no verdict in time: compensates by default (fail closed), reason fraud-timeout', () => {
    const kit = happyKit()
      .on('payment.authorize', () => authorized)
      .start(order());
    kit.advance(30_000);
    expect(kit.commandTypes().slice(2)).toEqual(['payment.void', 'inventory.release']);
    expect(kit.status).toBe('compensated');
    expect(kit.reason).toBe('fraud-timeout');
    expect((kit.context as OrderContext).fraud).toEqual({ outcome: 'timeout', policy: 'compensate' });
    // A verdict that comes too late changes nothing.
    kit.send(approved);
    expect(kit.status).toBe('compensated');
  });

  it('no verdict in time with fraudTimeoutPolicy approve: captures and ships (fail open)', () => {
    const kit = happyKit()
      .on('payment.authorize', () => authorized)
      .start(order({ fraudTimeoutPolicy: 'approve' }));
    kit.advance(30_000);
    expect(kit.commandTypes().slice(2)).toEqual([
      'payment.capture',
      'shipping.create-shipment',
      'inventory.commit',
    ]);
    expect(kit.status).toBe('completed');
    expect((kit.context as OrderContext).fraud).toEqual({ outcome: 'timeout', policy: 'approve' });
  });

  it('a verdict that overtakes the authorization reply is kept and applied on arrival', () => {
    const ok = happyKit()
      .on('payment.authorize', () => [approved, authorized])
      .start(order());
    expect(ok.status).toBe('completed');
    const bad = happyKit()
      .on('payment.authorize', () => [flagged, authorized])
      .start(order());
    expect(bad.commandTypes().slice(2)).toEqual(['payment.void', 'inventory.release']);
    expect(bad.reason).toBe('fraud');
  });

  it('cancel while screening voids the authorization, releases stock, ends cancelled', () => {
    const kit = happyKit()
      .on('payment.authorize', () => authorized)
      .start(order());
    kit.send({ type: 'saga.cancel', data: { reason: 'changed mind' } });
    expect(kit.commandTypes().slice(2)).toEqual(['payment.void', 'inventory.release']);
    expect(kit.status).toBe('cancelled');
    expect(kit.reason).toBe('cancelled: changed mind');
  });

  it('uses the saga id as order id when none is given', () => {
    const kit = happyKit().start(order({ orderId: undefined }));
    expect(kit.commands[0]!.data.orderId).toBe(kit.sagaId);
  });

  it('out of stock ends compensated without touching payment', () => {
    const kit = happyKit()
      .on('inventory.reserve', () => ({ type: 'inventory.out-of-stock', data: { sku: 'SKU-OUT' } }))
      .start(order());
    expect(kit.commandTypes()).toEqual(['inventory.reserve']);
    expect(kit.status).toBe('compensated');
    expect(kit.reason).toBe('out-of-stock');
  });

  it('declined payment releases the stock', () => {
    const kit = happyKit()
      .on('payment.authorize', () => ({ type: 'payment.declined', data: { reason: 'card-declined' } }))
      .start(order());
    expect(kit.commandTypes()).toEqual(['inventory.reserve', 'payment.authorize', 'inventory.release']);
    expect(kit.status).toBe('compensated');
    expect(kit.reason).toBe('payment-declined: card-declined');
  });

  it('failed capture voids the authorization, then releases stock', () => {
    const kit = happyKit()
      .on('payment.capture', () => ({ type: 'payment.capture-failed', data: {} }))
      .start(order());
    expect(kit.commandTypes().slice(2)).toEqual(['payment.capture', 'payment.void', 'inventory.release']);
    expect(kit.status).toBe('compensated');
  });

  it('no carrier: refunds the capture, then releases stock, in reverse order', () => {
    const kit = happyKit()
      .on('shipping.create-shipment', () => ({
        type: 'shipping.unavailable',
        data: { reason: 'no carrier serves AQ' },
      }))
      .start(order());
    expect(kit.commandTypes().slice(3)).toEqual([
      'shipping.create-shipment',
      'payment.refund',
      'inventory.release',
    ]);
    expect(kit.status).toBe('compensated');
    expect(kit.reason).toBe('shipping-unavailable: no carrier serves AQ');
  });

  it('a step that never answers times out into compensation (durable timer)', () => {
    const kit = happyKit();
    kit.on('shipping.create-shipment', () => undefined).start(order());
    expect(kit.state).toBe('creatingShipment');
    expect(kit.armedTimers).toHaveLength(1);
    kit.advance(29_999);
    expect(kit.state).toBe('creatingShipment');
    kit.advance(1);
    expect(kit.commandTypes().slice(4)).toEqual([
      'shipping.cancel-shipment',
      'payment.refund',
      'inventory.release',
    ]);
    expect(kit.status).toBe('compensated');
    expect(kit.reason).toBe('shipping-timeout');
  });

  it('a compensation that never answers is resent, then the saga fails visibly', () => {
    const kit = happyKit()
      .on('payment.authorize', () => ({ type: 'payment.declined', data: {} }))
      .on('inventory.release', () => undefined)
      .start(order());
    expect(kit.status).toBe('compensating');
    kit.advance(5 * 30_000);
    expect(kit.commandTypes().filter((t) => t === 'inventory.release')).toHaveLength(6);
    expect(kit.status).toBe('compensating');
    kit.advance(30_000);
    expect(kit.status).toBe('failed');
    expect(kit.reason).toBe('compensation-timeout: release inventory');
  });

  it('cancel mid-flight compensates the steps done, including the one in flight, and ends cancelled', () => {
    const kit = happyKit();
    kit.on('payment.capture', () => undefined).start(order());
    expect(kit.state).toBe('capturingPayment');
    kit.send({ type: 'saga.cancel', data: { reason: 'customer changed their mind' } });
    expect(kit.commandTypes().slice(3)).toEqual(['payment.refund', 'inventory.release']);
    expect(kit.status).toBe('cancelled');
    expect(kit.reason).toBe('cancelled: customer changed their mind');
  });

  it('waits for the commit: completed only once the stock is committed', () => {
    const kit = happyKit()
      .on('inventory.commit', () => undefined)
      .start(order());
    expect(kit.state).toBe('committingInventory');
    expect(kit.status).toBe('running');
    expect((kit.context as OrderContext).trackingNumber).toBe('TRK1');
    expect(kit.armedTimers).toHaveLength(1);
    kit.send({ type: 'inventory.committed', data: {} });
    expect(kit.status).toBe('completed');
    expect(kit.armedTimers).toEqual([]);
  });

  it('an unanswered commit is sent again, then the saga fails visibly; it never compensates', () => {
    const kit = happyKit()
      .on('inventory.commit', () => undefined)
      .start(order());
    kit.advance(5 * 30_000);
    expect(kit.commandTypes().slice(4)).toEqual(Array(6).fill('inventory.commit'));
    expect(kit.state).toBe('committingInventory');
    kit.advance(30_000);
    expect(kit.status).toBe('failed');
    expect(kit.reason).toBe('commit-timeout: inventory');
    expect(kit.commandTypes().slice(4)).toEqual(Array(6).fill('inventory.commit'));
  });

  it('a late commit reply after a resend completes the saga', () => {
    const kit = happyKit()
      .on('inventory.commit', () => undefined)
      .start(order());
    kit.advance(30_000);
    kit.send({ type: 'inventory.committed', data: {} });
    expect(kit.status).toBe('completed');
    expect(kit.reason).toBeNull();
  });

  it('a refused commit fails the saga with the inventory reason', () => {
    const kit = happyKit()
      .on('inventory.commit', () => ({
        type: 'inventory.commit-refused',
        data: { reason: 'reservation released' },
      }))
      .start(order());
    expect(kit.status).toBe('failed');
    expect(kit.reason).toBe('commit-refused: reservation released');
  });

  it('a cancel once shipped is too late: the commit goes on and the saga completes', () => {
    const kit = happyKit()
      .on('inventory.commit', () => undefined)
      .start(order());
    kit.send({ type: 'saga.cancel', data: { reason: 'too late' } });
    expect(kit.state).toBe('committingInventory');
    expect(kit.commandTypes().slice(4)).toEqual(['inventory.commit']);
    kit.send({ type: 'inventory.committed', data: {} });
    expect(kit.status).toBe('completed');
    expect(kit.reason).toBeNull();
  });

  it('a release the inventory refuses (stock already committed) fails the saga at once', () => {
    const kit = happyKit()
      .on('payment.authorize', () => ({ type: 'payment.declined', data: {} }))
      .on('inventory.release', () => ({
        type: 'inventory.release-refused',
        data: { reason: 'reservation committed' },
      }))
      .start(order());
    expect(kit.commandTypes()).toEqual(['inventory.reserve', 'payment.authorize', 'inventory.release']);
    expect(kit.status).toBe('failed');
    expect(kit.reason).toBe('release-refused: reservation committed');
  });

  it('a cancel during compensation changes nothing', () => {
    const kit = happyKit()
      .on('payment.authorize', () => ({ type: 'payment.declined', data: {} }))
      .on('inventory.release', () => undefined)
      .start(order());
    kit.send({ type: 'saga.cancel', data: {} });
    expect(kit.status).toBe('compensating');
    expect(kit.reason).toBe('payment-declined');
  });

  it('ignores a reply that does not belong to the current step', () => {
    const kit = new SagaTestKit(orderFulfillment).start(order());
    kit.send({ type: 'payment.captured', data: {} });
    expect(kit.state).toBe('reservingInventory');
    expect(kit.commandTypes()).toEqual(['inventory.reserve']);
  });

  it('rejects invalid input naming the field', () => {
    const kit = new SagaTestKit(orderFulfillment);
    expect(() => kit.start(order({ items: [] }))).toThrow(/items/);
  });
});
