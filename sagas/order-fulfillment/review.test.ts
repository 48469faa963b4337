import { describe, expect, it } from 'vitest';
import { SagaTestKit } from 'jetsaga/testing';
import { defaultReviewTimeoutMs, orderFulfillment, type OrderContext } from './index.ts';
import type { OrderInput } from './schema.ts';

/** The manual review of a grey-zone fraud score: the `reviewing` state, its signals and deadline. */

const order = (over: Partial<OrderInput> = {}): OrderInput => ({
  orderId: 'o-1',
  customerId: 'c-1',
  currency: 'USD',
  items: [{ sku: 'SKU-1', qty: 2, unitPrice: 10 }],
  payment: { token: 'tok_visa' },
  shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Paris', postalCode: '75001', country: 'FR' },
  ...over,
});

const review = {
  type: 'fraud.review',
  data: {
    orderId: 'o-1',
    paymentId: 'pay_o-1',
    score: 0.33,
    threshold: 0.41,
    reasons: ['new account (+0.8)', 'score in the manual review band [0.25, 0.41): a person decides'],
    modelVersion: 'gbdt-1.test',
    latencyMs: 1.1,
    reviewer: 'model',
    customerId: 'c-1',
    amount: 20,
    currency: 'USD',
    reviewBand: [0.25, 0.41],
    recentPayments: [
      {
        paymentId: 'pay_old',
        at: '2026-01-01T00:00:00.000Z',
        amountUsd: 12,
        sameCard: true,
        sameAddress: true,
        ipCountry: 'FR',
        shippingCountry: 'FR',
      },
    ],
  },
};
const authorized = { type: 'payment.authorized', data: { paymentId: 'pay_o-1' } };

function kit(verdictFirst = false) {
  return new SagaTestKit(orderFulfillment)
    .on('inventory.reserve', () => ({ type: 'inventory.reserved', data: {} }))
    .on('payment.authorize', () => (verdictFirst ? [review, authorized] : [authorized, review]))
    .on('payment.capture', () => ({ type: 'payment.captured', data: {} }))
    .on('shipping.create-shipment', () => ({
      type: 'shipping.shipment-created',
      data: { trackingNumber: 'T' },
    }))
    .on('payment.void', () => ({ type: 'payment.voided', data: {} }))
    .on('inventory.release', () => ({ type: 'inventory.released', data: {} }))
    .on('inventory.commit', () => ({ type: 'inventory.committed', data: {} }));
}

const ctx = (k: SagaTestKit<unknown>) => k.context as OrderContext;

describe('order-fulfillment manual review', () => {
  it('a fraud.review waits in reviewing with the case and a deadline, and asks for nothing', () => {
    const k = kit().start(order());
    expect(k.state).toBe('reviewing');
    expect(k.status).toBe('running');
    expect(k.commandTypes()).toEqual(['inventory.reserve', 'payment.authorize']);
    expect(ctx(k).fraud).toMatchObject({ outcome: 'review', score: 0.33 });
    expect(ctx(k).review).toMatchObject({
      amount: 20,
      score: 0.33,
      threshold: 0.41,
      recentPayments: [{ paymentId: 'pay_old' }],
      outcome: null,
    });
    expect(k.armedTimers.map((t) => t.dueAt.getTime() - k.now.getTime())).toEqual([defaultReviewTimeoutMs]);
  });

  it('a review that overtook the authorization reply still waits in reviewing', () => {
    const k = kit(true).start(order());
    expect(k.state).toBe('reviewing');
  });

  it('approve-review captures and completes, keeping who decided and the note', () => {
    const k = kit().start(order()).signal('approve-review', { note: 'known customer' }, 'alice');
    expect(k.status).toBe('completed');
    expect(k.commandTypes()).toContain('payment.capture');
    expect(ctx(k).review!.outcome).toEqual({ decision: 'approved', by: 'alice', note: 'known customer' });
    expect(k.armedTimers).toEqual([]);
  });

  it('reject-review voids and releases: compensated, reason fraud-review-rejected', () => {
    const k = kit().start(order()).signal('reject-review', { note: 'stolen card' }, 'bob');
    expect(k.status).toBe('compensated');
    expect(k.reason).toBe('fraud-review-rejected');
    expect(k.commandTypes()).toEqual([
      'inventory.reserve',
      'payment.authorize',
      'payment.void',
      'inventory.release',
    ]);
    expect(ctx(k).review!.outcome).toEqual({ decision: 'rejected', by: 'bob', note: 'stolen card' });
  });

  it('at the deadline the policy decides: reject by default, approve when the order says so', () => {
    const rejected = kit().start(order({ reviewTimeoutMs: 60_000 }));
    rejected.advance(59_999);
    expect(rejected.state).toBe('reviewing');
    rejected.advance(1);
    expect(rejected.status).toBe('compensated');
    expect(rejected.reason).toBe('fraud-review-timeout');
    expect(ctx(rejected).review!.outcome).toEqual({ decision: 'timeout', policy: 'reject' });

    const approved = kit().start(order({ reviewTimeoutMs: 60_000, reviewTimeoutPolicy: 'approve' }));
    approved.advance(60_000);
    expect(approved.status).toBe('completed');
    expect(ctx(approved).review!.outcome).toEqual({ decision: 'timeout', policy: 'approve' });
  });

  it('a review signal outside reviewing is refused, and a long note is refused naming the field', () => {
    const k = new SagaTestKit(orderFulfillment)
      .on('inventory.reserve', () => ({ type: 'inventory.reserved', data: {} }))
      .start(order());
    expect(() => k.signal('approve-review', { note: 'x' })).toThrow(/states that accept it: reviewing/);
    const waiting = kit().start(order());
    expect(() => waiting.signal('approve-review', { note: 'x'.repeat(501) })).toThrow(/note/);
    expect(waiting.state).toBe('reviewing');
  });

  it('a cancel while reviewing voids the authorization and ends cancelled', () => {
    const k = kit().start(order());
    k.send({ type: 'saga.cancel', data: { reason: 'customer called' } });
    expect(k.status).toBe('cancelled');
    expect(k.commandTypes().slice(-2)).toEqual(['payment.void', 'inventory.release']);
  });
});
