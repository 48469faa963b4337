import { randomBytes } from 'node:crypto';
import { register } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { FraudOutcome } from '../../sagas/order-fulfillment/index.ts';
import { payments } from '../../services/payment/index.ts';
import { shipments } from '../../services/shipping/index.ts';
import { order, useTestNode } from '../harness.ts';
import { fullHistory } from './fraud-support.ts';

/** The fraud agent in the running system: real NATS, a real MongoDB-wire server, every role. */
describe('fraud agent end to end', () => {
  const node = useTestNode();
  const db = () => node().mongo.db(node().config.mongoDb);

  async function run(body: unknown) {
    const res = await node().post('/v1/saga-types/order-fulfillment/sagas', body);
    expect(res.status).toBe(202);
    const { sagaId } = (await res.json()) as { sagaId: string };
    const doc = await node().waitForTerminal(sagaId);
    const history = await fullHistory(node(), sagaId, doc.rev);
    return { sagaId, doc, history, fraud: (doc.context as { fraud: FraudOutcome | null }).fraud };
  }

  it('an ordinary order completes with an approved verdict in its history', async () => {
    const { doc, history, fraud } = await run(order({ orderId: 'fr-ok-1' }));
    expect(doc.status).toBe('completed');
    expect(history.map((h) => h.event.type)).toEqual([
      'saga.started',
      'inventory.reserved',
      'payment.authorized',
      'fraud.approved',
      'payment.captured',
      'shipping.shipment-created',
      'inventory.committed',
    ]);
    const verdict = history.find((h) => h.event.type === 'fraud.approved')!;
    expect(verdict.from).toBe('screeningPayment');
    expect(verdict.to).toBe('capturingPayment');
    expect(verdict.event.data).toMatchObject({
      orderId: 'fr-ok-1',
      paymentId: 'pay_fr-ok-1',
      modelVersion: expect.stringMatching(/^gbdt-1\./),
      reviewer: 'model',
    });
    const data = verdict.event.data as {
      score: number;
      threshold: number;
      reasons: string[];
      latencyMs: number;
    };
    expect(data.score).toBeLessThan(data.threshold);
    expect(data.reasons.length).toBeGreaterThan(0);
    expect(data.latencyMs).toBeGreaterThanOrEqual(0);
    expect(fraud).toMatchObject({ outcome: 'approved', score: data.score });
    // The verdict is recorded once, keyed by the authorization event it answers.
    const authorizedId = history.find((h) => h.event.type === 'payment.authorized')!.event.id;
    const records = await db().collection('fraud_verdicts').find({ orderId: 'fr-ok-1' }).toArray();
    expect(records.map((r) => r._id)).toEqual([authorizedId]);
    expect(verdict.event.id).toBe(`${authorizedId}:verdict`);
    // Its velocity window now holds the payment.
    expect(
      await db()
        .collection('fraud_customer_events')
        .countDocuments({ _id: 'pay_fr-ok-1' } as never),
    ).toBe(1);
  });

  it('card testing is flagged: the authorization is voided, stock released, reason fraud, no capture', async () => {
    const customerId = `ct-${randomBytes(3).toString('hex')}`;
    const createdAt = new Date(Date.now() - 20 * 60_000).toISOString();
    // A new account trying one small amount after another, each time on another card.
    const attempt = (i: number) =>
      order({
        orderId: `${customerId}-${i}`,
        customerId,
        customer: { createdAt, email: `x8123${i}@mailinator.com`, ipCountry: 'RO' },
        billingCountry: 'US',
        items: [{ sku: 'SKU-5', qty: 1, unitPrice: 1 + i * 0.25 }],
        payment: { token: `tok_ct_${customerId}_${i}`, bin: '404159', cardCountry: 'BR' },
        shippingAddress: {
          name: 'J Doe',
          line1: '1 Elm St',
          city: 'Austin',
          postalCode: '73301',
          country: 'US',
        },
      });
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await run(attempt(i)));
    const last = results.at(-1)!;
    expect(last.doc.status).toBe('compensated');
    expect(last.doc.reason).toBe('fraud');
    expect(last.fraud).toMatchObject({ outcome: 'flagged' });
    const flagged = last.fraud as { score: number; threshold: number; reasons: string[] };
    expect(flagged.score).toBeGreaterThanOrEqual(flagged.threshold);
    expect(flagged.reasons.length).toBeGreaterThan(0);
    expect(flagged.reasons.every((r) => /\(\+\d/.test(r))).toBe(true);
    expect(last.history.flatMap((h) => h.commands.map((c) => c.type))).toEqual([
      'inventory.reserve',
      'payment.authorize',
      'payment.void',
      'inventory.release',
    ]);
    const paymentDoc = await payments(db()).findOne({ _id: `${customerId}-5` });
    expect(paymentDoc).toMatchObject({ status: 'voided', capturedAmount: 0 });
    expect(await shipments(db()).countDocuments({ _id: `${customerId}-5` })).toBe(0);
    // Whatever the first tries got, every flagged one ended without a capture.
    for (const r of results.filter((x) => x.doc.reason === 'fraud')) {
      expect(r.history.flatMap((h) => h.commands.map((c) => c.type))).not.toContain('payment.capture');
    }

    // The inspector shows the verdict and its reasons.
    const view = (await (await node().fetch(`/v1/sagas/${last.sagaId}`)).json()) as {
      reason: string;
      context: { fraud: { reasons: string[] } };
    };
    expect(view.reason).toBe('fraud');
    expect(view.context.fraud.reasons).toEqual(flagged.reasons);
  });

  it('counts verdicts, scores, inference time in the default metrics registry', async () => {
    const text = await register.metrics();
    expect(text).toMatch(/jetsaga_fraud_verdicts_total\{outcome="approved",reviewer="model"\} \d+/);
    expect(text).toMatch(/jetsaga_fraud_verdicts_total\{outcome="flagged",reviewer="model"\} \d+/);
    expect(text).toMatch(/jetsaga_fraud_score_count \d+/);
    expect(text).toMatch(/jetsaga_fraud_inference_seconds_count \d+/);
  });
});
