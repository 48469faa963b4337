import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentFacts } from '../../services/fraud-agent/facts.ts';
import { VelocityStore } from '../../services/fraud-agent/velocity-store.ts';
import { startTestNode, type TestNode } from '../harness.ts';

/**
 * "Other customers on this card in 24 h", from one document per (card, customer): the payment's own
 * window (after it, before the window and the payment's own customer do not count), and payments
 * recorded before that collection existed. Real MongoDB-wire server.
 */
describe('fraud velocity: other customers on a card', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ roles: [] });
  });
  afterAll(async () => {
    for (const suffix of ['_card', '_backfill', '_batch'])
      await node?.mongo.db(`${node.config.mongoDb}${suffix}`).dropDatabase();
    await node?.destroy();
  });

  const HOUR = 3_600_000;
  const t0 = Date.parse('2026-11-20T12:00:00Z');
  const payment = (paymentId: string, customerId: string, cardKey: string, at: number): PaymentFacts => ({
    paymentId,
    customerId,
    at,
    amount: 10,
    currency: 'USD',
    cardKey,
    bin: null,
    cardCountry: null,
    billingCountry: 'PT',
    shippingCountry: 'PT',
    shippingKey: 'ship',
    ipCountry: null,
    accountCreatedAt: null,
    email: null,
    itemCount: 1,
  });

  it('counts each other customer with a payment on the card within the 24 h before the payment', async () => {
    const store = new VelocityStore(node.mongo.db(`${node.config.mongoDb}_card`));
    await store.setup();
    const card = 'card-shared';
    for (const p of [
      payment('p1', 'alice', card, t0),
      payment('p2', 'bob', card, t0 + HOUR),
      payment('p3', 'bob', card, t0 + 2 * HOUR), // bob twice: one customer
      payment('p4', 'carol', card, t0 - 25 * HOUR), // before the window
      payment('p5', 'dave', card, t0 + 10 * HOUR), // after the payment asked about
      payment('p6', 'erin', 'card-other', t0 + HOUR), // another card
    ])
      await store.record(p);
    await store.record(payment('p2', 'bob', card, t0 + HOUR)); // a redelivery changes nothing

    const asked = payment('p7', 'alice', card, t0 + 3 * HOUR);
    expect((await store.history(asked)).otherCustomersOnCard24h).toBe(1); // bob
    expect((await store.history(payment('p8', 'zoe', card, t0 + 3 * HOUR))).otherCustomersOnCard24h).toBe(2); // alice, bob
    expect((await store.history(payment('p9', 'zoe', card, t0 + 11 * HOUR))).otherCustomersOnCard24h).toBe(3); // + dave
    expect((await store.history(payment('p10', 'zoe', card, t0 - 24 * HOUR))).otherCustomersOnCard24h).toBe(
      1,
    ); // carol
    // One small document per (card, customer), whatever the number of payments.
    expect(await store.cardUses.countDocuments({ cardKey: card })).toBe(4);
  });

  it('payments recorded before the card collection existed are taken into it at setup', async () => {
    const db = node.mongo.db(`${node.config.mongoDb}_backfill`);
    const now = Date.now();
    // As an older fraud agent recorded them: payment events only.
    await db.collection('fraud_customer_events').insertMany([
      {
        _id: 'b1',
        customerId: 'ann',
        at: new Date(now - HOUR),
        amountUsd: 5,
        cardKey: 'k',
        ipCountry: null,
        shippingCountry: 'PT',
        shippingKey: 's',
      },
      {
        _id: 'b2',
        customerId: 'ben',
        at: new Date(now - 2 * HOUR),
        amountUsd: 5,
        cardKey: 'k',
        ipCountry: null,
        shippingCountry: 'PT',
        shippingKey: 's',
      },
      {
        _id: 'b3',
        customerId: 'cid',
        at: new Date(now - 30 * HOUR),
        amountUsd: 5,
        cardKey: 'k',
        ipCountry: null,
        shippingCountry: 'PT',
        shippingKey: 's',
      },
    ] as never[]);
    const store = new VelocityStore(db);
    await store.setup();
    expect((await store.history(payment('b4', 'new', 'k', now))).otherCustomersOnCard24h).toBe(2);
  });

  it('payments recorded at the same time go in one bulk write per collection, each recorded once; a window is one read', async () => {
    const client = new MongoClient(node.config.mongoUrl, { monitorCommands: true });
    const updates: Array<{ collection: string; statements: number }> = [];
    const finds: Array<{ limit: unknown; batchSize: unknown }> = [];
    client.on('commandStarted', (e) => {
      if (e.commandName === 'find') finds.push({ limit: e.command.limit, batchSize: e.command.batchSize });
      if (e.commandName !== 'update') return;
      const statements = (e.command.updates as unknown[] | undefined)?.length ?? -1;
      updates.push({ collection: String(e.command.update), statements });
    });
    try {
      await client.connect();
      const store = new VelocityStore(client.db(`${node.config.mongoDb}_batch`));
      await store.setup();
      updates.length = 0;
      const batch = Array.from({ length: 40 }, (_, i) =>
        payment(`q${i}`, `cust-${i % 4}`, `card-${i % 2}`, t0 + i * 60_000),
      );
      // Every payment, and a redelivery of the first ten, all at once.
      await Promise.all([...batch, ...batch.slice(0, 10)].map((p) => store.record(p)));

      expect(updates.length).toBeLessThanOrEqual(4);
      expect(updates.reduce((n, u) => n + u.statements, 0)).toBe(100);
      expect(await store.events.countDocuments({})).toBe(40);
      // cust-0 pays with card-0 only (i = 0, 4, 8, ...): its ten payment times (a redelivery may add
      // a time twice: the document answers "which customers", not "how many payments").
      const use = await store.cardUses.findOne({ _id: 'card-0|cust-0' });
      expect([...new Set(use?.at.map((d) => d.getTime()))].sort((a, b) => a - b)).toEqual(
        batch.filter((p) => p.customerId === 'cust-0').map((p) => p.at),
      );
      const asked = payment('q99', 'cust-1', 'card-1', t0 + 60 * 60_000);
      const h = await store.history(asked);
      expect(h.customer.map((e) => e.paymentId).sort()).toEqual(
        batch
          .filter((p) => p.customerId === 'cust-1')
          .map((p) => p.paymentId)
          .sort(),
      );
      expect(h.otherCustomersOnCard24h).toBe(1); // cust-3 also pays with card-1
      // Each window in one round trip on mongod too (its default first batch is 101 documents).
      // (The driver asks for one more than the limit, so that the server closes the cursor.)
      expect(finds.slice(-2).map((f) => f.limit)).toEqual([500, 500]);
      for (const f of finds.slice(-2)) expect(Number(f.batchSize)).toBeGreaterThanOrEqual(500);
    } finally {
      await client.close();
    }
  });
});
