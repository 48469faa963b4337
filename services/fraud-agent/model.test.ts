import { describe, expect, it } from 'vitest';
import { DAY, type History, type PastPayment, type PaymentFacts, toUsd } from './facts.ts';
import { featureNames } from './features.ts';
import { loadArtifact, modelVersion, Scorer } from './scorer.ts';

/**
 * The shipped model on hand-built payments shaped like the ones the rest of the project
 * sends: ordinary orders (tests, demo, scale runs) must pass at any hour and at their
 * velocities; the fraud shapes the integration tests and the demo use must be flagged.
 */
const artifact = loadArtifact();
const scorer = new Scorer(artifact);
const now = Date.parse('2026-03-10T12:00:00Z');

const facts = (over: Partial<PaymentFacts> = {}): PaymentFacts => ({
  paymentId: 'pay-1',
  customerId: 'cust-1',
  at: now,
  amount: 20,
  currency: 'USD',
  cardKey: 'card-visa',
  bin: '424242',
  cardCountry: null,
  billingCountry: 'GB',
  shippingCountry: 'GB',
  shippingKey: 'addr-1',
  ipCountry: null,
  accountCreatedAt: null,
  email: null,
  itemCount: 2,
  ...over,
});

/** `n` earlier payments like `p`, `gapMs` apart, the latest `gapMs` before it. */
function repeats(
  p: PaymentFacts,
  n: number,
  gapMs: number,
  over: (i: number) => Partial<PastPayment> = () => ({}),
) {
  return Array.from({ length: n }, (_, i): PastPayment => ({
    paymentId: `prev-${i}`,
    at: p.at - (n - i) * gapMs,
    amountUsd: toUsd(p.amount, p.currency),
    cardKey: p.cardKey,
    ipCountry: p.ipCountry,
    shippingCountry: p.shippingCountry,
    shippingKey: p.shippingKey,
    ...over(i),
  }));
}

const history = (customer: PastPayment[] = [], otherCustomersOnCard24h = 0): History => ({
  customer,
  otherCustomersOnCard24h,
});

describe('fraud model artifact', () => {
  it('is the artifact its version names, on the features this code computes', () => {
    expect(artifact.features).toEqual([...featureNames]);
    expect(modelVersion(artifact.model, artifact.threshold)).toBe(artifact.version);
    expect(artifact.evaluation.auc).toBeGreaterThanOrEqual(0.95);
    expect(artifact.evaluation.precision).toBeGreaterThanOrEqual(0.9);
    expect(artifact.evaluation.recall).toBeGreaterThanOrEqual(0.8);
    expect(artifact.evaluation.heldOut).toBeGreaterThanOrEqual(20_000);
  });

  it('approves the test harness order at every hour and at test-suite velocity', () => {
    for (let hour = 0; hour < 24; hour++) {
      for (const n of [0, 1, 3, 6, 10]) {
        const p = facts({ at: now + hour * 3_600_000, amount: 20 + (n % 3) * 5 });
        const s = scorer.score(p, history(repeats(p, n, 2_000)));
        expect(s.flagged, `hour ${hour}, ${n} earlier: ${s.score.toFixed(3)} ${s.reasons.join('; ')}`).toBe(
          false,
        );
      }
    }
  });

  it('approves the demo and scale-run shapes: many orders on one card, seconds apart', () => {
    for (const n of [0, 2, 5, 15, 30, 60]) {
      for (const amount of [5, 25, 44.97, 120, 600]) {
        const p = facts({ billingCountry: 'PT', shippingCountry: 'PT', amount, customerId: 'cust-3' });
        const past = repeats(p, n, 1_500, (i) => ({ amountUsd: [30, 60, 45, 150][i % 4]! }));
        const s = scorer.score(p, history(past));
        expect(s.flagged, `${n} earlier, ${amount} USD: ${s.score.toFixed(3)} ${s.reasons.join('; ')}`).toBe(
          false,
        );
      }
    }
  });

  it('approves a long-standing customer buying as usual, with risk-lowering reasons', () => {
    const p = facts({
      accountCreatedAt: now - 400 * DAY,
      ipCountry: 'GB',
      email: 'ada@example.com',
      amount: 48,
      cardCountry: 'GB',
    });
    const past = repeats(p, 6, 4 * DAY, () => ({ amountUsd: 45 }));
    const s = scorer.score(p, history(past));
    expect(s.flagged).toBe(false);
    expect(s.reasons.length).toBeGreaterThan(0);
    expect(s.reasons.every((r) => /\(-\d/.test(r))).toBe(true);
  });

  it('flags card testing: a new account trying small amounts over many cards', () => {
    const base = facts({
      customerId: 'tester',
      accountCreatedAt: now - 20 * 60_000,
      email: 'x81234@mailinator.com',
      ipCountry: 'RO',
      billingCountry: 'US',
      shippingCountry: 'US',
      amount: 1.5,
      bin: '404159',
      cardCountry: 'BR',
      cardKey: 'card-5',
      itemCount: 1,
    });
    const past = repeats(base, 5, 60_000, (i) => ({ cardKey: `card-${i}`, amountUsd: 1 + i / 2 }));
    const s = scorer.score(base, history(past));
    expect(s.flagged, `${s.score} ${s.reasons.join('; ')}`).toBe(true);
    expect(s.reasons.length).toBeGreaterThan(0);
    expect(s.reasons.every((r) => /\(\+\d/.test(r))).toBe(true);
  });

  it('flags a high-value first purchase from a brand-new account that ships abroad', () => {
    const p = facts({
      customerId: 'newbie',
      accountCreatedAt: now - 10 * 60_000,
      email: 'deals4829@yopmail.com',
      ipCountry: 'NG',
      billingCountry: 'US',
      shippingCountry: 'GB',
      amount: 1850,
      bin: '426684',
      cardCountry: 'FR',
      itemCount: 3,
    });
    const s = scorer.score(p, history());
    expect(s.flagged, `${s.score}`).toBe(true);
  });
});
