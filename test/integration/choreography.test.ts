import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal } from '../../runtime/store/index.ts';
import type { Envelope } from '../../runtime/wire/index.ts';
import { cardBlocksCollection, type CardBlockDoc } from '../../services/payment-blocking/index.ts';
import { notificationDocs } from '../../services/notifications/index.ts';
import { cardFingerprintOf } from '../../services/payment/index.ts';
import { order, outboxSettled, testEnvelope, useTestNode, waitUntil, watchEvents } from '../harness.ts';

/**
 * Choreography in the running system (real NATS, a real MongoDB-wire server, every role of the
 * reference app): the runtime announces each saga's end on `evt.saga.ended`, and two reactors no
 * saga knows act on the events: notifications tells the customer, payment-blocking blocks the card
 * of a fraud flag, which the payment service then declines (`card-blocked`).
 */
describe('choreography', () => {
  const node = useTestNode();
  const db = () => node().mongo.db(node().config.mongoDb);
  let watched: Awaited<ReturnType<typeof watchEvents>>;

  beforeAll(async () => {
    watched = await watchEvents(node());
  });
  afterAll(() => watched?.stop());

  async function run(body: unknown) {
    const res = await node().post('/v1/saga-types/order-fulfillment/sagas', body);
    expect(res.status).toBe(202);
    const { sagaId } = (await res.json()) as { sagaId: string };
    // Ended, and its last step's outbox (saga.ended with it) published and cleared.
    const doc = await node().waitFor(sagaId, (d) => isTerminal(d.status) && outboxSettled(d));
    return { sagaId, doc };
  }

  /** The events on the event stream's subject `evt.<type>`, read back from the stream itself. */
  async function streamCount(type: string): Promise<number> {
    const jsm = await jetstreamManager(node().bus.nc);
    const subject = node().bus.topo.evtSubject(type);
    const info = await jsm.streams.info(node().bus.topo.streams.evt, { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  }

  /** Publishes a copy of `env` under a new message id, and waits until `durable` has acked it. */
  async function redeliver(env: Envelope, durable: string): Promise<void> {
    const ack = await node().bus.publish(
      `evt.${env.type}`,
      env,
      `${env.id}:copy-${randomBytes(3).toString('hex')}`,
    );
    expect(ack.duplicate).toBe(false);
    const jsm = await jetstreamManager(node().bus.nc);
    await waitUntil(async () => {
      const info = await jsm.consumers.info(node().bus.topo.streams.evt, durable);
      return info.ack_floor.stream_seq >= ack.seq && info.num_ack_pending === 0;
    }, `${durable} to ack the copy of ${env.id}`);
  }

  const endedOf = (sagaId: string) =>
    watched.events.filter((e) => e.type === 'saga.ended' && e.sagaId === sagaId);

  /** The saga's saga.ended as NATS delivered it, once it has. */
  const endOf = (sagaId: string) => waitUntil(() => endedOf(sagaId)[0], `saga.ended of ${sagaId}`);

  const ended: string[] = [];
  /** Copies of saga.ended the tests published themselves. */
  let copies = 0;

  it('announces each ended saga once on evt.saga.ended, with its status, reason and output', async () => {
    const done = await run(
      order({ orderId: `ch-ok-${randomBytes(3).toString('hex')}`, customerId: 'cust-ok' }),
    );
    const gone = await run(
      order({ items: [{ sku: 'SKU-OUT', qty: 1, unitPrice: 5 }], customerId: 'cust-oos' }),
    );
    const declined = await run(order({ payment: { token: 'tok_declined' }, customerId: 'cust-dec' }));
    ended.push(done.sagaId, gone.sagaId, declined.sagaId);
    expect([done.doc.status, gone.doc.status, declined.doc.status]).toEqual([
      'completed',
      'compensated',
      'compensated',
    ]);

    const completed = await endOf(done.sagaId);
    expect(completed).toMatchObject({
      id: `${done.sagaId}:ended`,
      sagaType: 'order-fulfillment',
      correlationId: done.doc.correlationId,
      data: {
        sagaType: 'order-fulfillment',
        version: 1,
        status: 'completed',
        reason: null,
        state: 'completed',
        output: { status: 'completed', customerId: 'cust-ok', orderId: expect.any(String) },
      },
    });
    expect((completed.data.output as { trackingNumber: string }).trackingNumber).toMatch(/./);
    // Caused by the event that ended it: the last entry of its history.
    const history = await node().store.historyOf(done.sagaId);
    expect(completed.causationId).toBe(history.at(-1)!.event.id);

    const outOfStock = await endOf(gone.sagaId);
    expect(outOfStock.data).toMatchObject({ status: 'compensated', reason: 'out-of-stock' });
    const refused = await endOf(declined.sagaId);
    expect(refused.data).toMatchObject({ status: 'compensated', reason: 'payment-declined: card-declined' });

    // The orchestrator acks its own announcements unread: no saga stepped on one.
    for (const id of ended) {
      const steps = await node().store.historyOf(id);
      expect(steps.map((h) => h.event.type)).not.toContain('saga.ended');
      expect((await node().store.load(id))!.inbox.some((m) => m.endsWith(':ended'))).toBe(false);
    }
  });

  it('an ended order yields exactly one notification, also when saga.ended is delivered again', async () => {
    const { sagaId, doc } = await run(order({ customerId: 'cust-note' }));
    const orderId = (doc.context as { orderId: string }).orderId;
    ended.push(sagaId);
    const note = await waitUntil(
      () => notificationDocs(db()).findOne({ orderId, kind: 'order-completed' }),
      `the notification of order ${orderId}`,
    );
    expect(note).toMatchObject({
      _id: `${sagaId}:ended`,
      sagaId,
      customerId: 'cust-note',
      subject: `Order ${orderId} is on its way`,
      delivery: { via: 'record' },
    });
    expect(note.text).toContain(orderId);

    await redeliver(await endOf(sagaId), 'notifications');
    copies++;
    expect(await notificationDocs(db()).countDocuments({ orderId })).toBe(1);
  });

  it('a fraud flag leads to one notification and one blocked card; the next order on that card compensates with card-blocked', async () => {
    const customerId = `new-${randomBytes(3).toString('hex')}`;
    const token = `tok_ch_${customerId}`;
    // A brand-new account buying big with a card from another country (the demo's fraud order).
    const risky = order({
      customerId,
      customer: {
        createdAt: new Date(Date.now() - 10 * 60_000).toISOString(),
        email: 'deals4829@yopmail.com',
        ipCountry: 'NG',
      },
      billingCountry: 'US',
      items: [{ sku: 'SKU-7', qty: 2, unitPrice: 925 }],
      payment: { token, bin: '426684', cardCountry: 'FR' },
      shippingAddress: {
        name: 'J Doe',
        line1: '1 Brick Lane',
        city: 'London',
        postalCode: 'E1 6AN',
        country: 'GB',
      },
    });
    const flagged = await run(risky);
    ended.push(flagged.sagaId);
    expect(flagged.doc).toMatchObject({ status: 'compensated', reason: 'fraud' });
    const orderId = (flagged.doc.context as { orderId: string }).orderId;
    const flag = watched.events.find((e) => e.type === 'fraud.flagged' && e.sagaId === flagged.sagaId)!;
    expect(flag.data).toMatchObject({ customerId, cardFingerprint: cardFingerprintOf(token) });

    const blocks = db().collection<CardBlockDoc>(cardBlocksCollection);
    const block = await waitUntil(() => blocks.findOne({ _id: cardFingerprintOf(token) }), 'the card block');
    expect(block).toMatchObject({ reason: 'fraud', customerId, flag: { eventId: flag.id, orderId } });
    // Counted from the flag: 24 hours by default.
    expect(block.until.getTime() - Date.parse(flag.occurredAt)).toBe(24 * 3_600_000);
    const warning = await waitUntil(
      () => notificationDocs(db()).findOne({ _id: flag.id }),
      'the fraud notification',
    );
    expect(warning).toMatchObject({ kind: 'fraud-flagged', customerId, orderId });

    // Delivered again (a copy under another message id) to both reactors: nothing more.
    await redeliver(flag, 'notifications');
    await redeliver(flag, 'payment-blocking');
    expect(await notificationDocs(db()).countDocuments({ kind: 'fraud-flagged', orderId })).toBe(1);
    expect(await blocks.countDocuments({ _id: cardFingerprintOf(token) })).toBe(1);
    expect((await blocks.findOne({ _id: cardFingerprintOf(token) }))!.until).toEqual(block.until);
    // The order's own end is told once too.
    await waitUntil(() => notificationDocs(db()).findOne({ orderId, kind: 'order-compensated' }), 'its end');
    expect(await notificationDocs(db()).countDocuments({ orderId })).toBe(2);

    // The next order on that card, an ordinary one by another customer: declined, compensated.
    const next = await run(order({ customerId: 'cust-next', payment: { token } }));
    ended.push(next.sagaId);
    expect(next.doc).toMatchObject({ status: 'compensated', reason: 'payment-declined: card-blocked' });
    const told = await waitUntil(
      () => notificationDocs(db()).findOne({ sagaId: next.sagaId, kind: 'order-compensated' }),
      'the blocked order notification',
    );
    expect(told.text).toContain('the card is blocked');
    // Another card is not affected.
    const other = await run(
      order({ customerId: 'cust-next', payment: { token: `tok_other_${customerId}` } }),
    );
    ended.push(other.sagaId);
    expect(other.doc.status).toBe('completed');
  });

  it('a fraud.flagged that breaks its contract is dead-lettered by each reactor, naming the field', async () => {
    const bad = testEnvelope('fraud.flagged', `bad-flag-${randomBytes(3).toString('hex')}`, 'no-saga', {
      orderId: 'o-bad',
    });
    await node().bus.publish('evt.fraud.flagged', bad, bad.id);
    type Letter = { consumer: string; reason: string; error: string; subject: string };
    const letters = async (consumer: string) =>
      (
        (await (await node().fetch(`/v1/dlq?consumer=${consumer}`)).json()) as { items: Letter[] }
      ).items.filter((l) => l.subject === 'evt.fraud.flagged');
    for (const consumer of ['notifications', 'payment-blocking']) {
      const letter = await waitUntil(
        async () => (await letters(consumer))[0],
        `the dead letter of ${consumer}`,
      );
      expect(letter).toMatchObject({ consumer, reason: 'validation' });
      expect(letter.error).toContain('score');
    }
    expect(await notificationDocs(db()).countDocuments({ _id: bad.id })).toBe(0);
  });

  it('a verdict that names no card (an older fraud agent) is told, and blocks nothing', async () => {
    const blocks = db().collection<CardBlockDoc>(cardBlocksCollection);
    const before = await blocks.countDocuments();
    const flag = testEnvelope('fraud.flagged', `old-flag-${randomBytes(3).toString('hex')}`, 'old-saga', {
      orderId: 'o-old',
      paymentId: 'pay_o-old',
      score: 0.9,
      threshold: 0.4,
      reasons: ['r'],
      modelVersion: 'gbdt-0',
      latencyMs: 1,
      reviewer: 'model',
      customerId: 'cust-old',
    });
    await node().bus.publish('evt.fraud.flagged', flag, flag.id);
    const seen = db().collection('payment_blocking_flags');
    expect(await waitUntil(() => seen.findOne({ _id: flag.id } as never), 'the flag recorded')).toMatchObject(
      {
        blocked: null,
        orderId: 'o-old',
      },
    );
    await waitUntil(() => notificationDocs(db()).findOne({ _id: flag.id }), 'the customer told');
    expect(await blocks.countDocuments()).toBe(before);
  });

  it('the stream holds exactly one saga.ended per ended saga', async () => {
    const expected = ended.length + copies;
    await waitUntil(async () => (await streamCount('saga.ended')) >= expected, 'every end on the stream');
    expect(await streamCount('saga.ended')).toBe(expected);
    for (const id of ended) expect(new Set(endedOf(id).map((e) => e.id)).size).toBe(1);
  });
});
