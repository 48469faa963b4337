import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { App } from '../../runtime/app.ts';
import { allRoles } from '../../runtime/node.ts';
import {
  command,
  defineParticipant,
  type ParticipantDefinition,
  type Reply,
} from '../../runtime/participants/index.ts';
import { contract, type Envelope } from '../../runtime/wire/index.ts';
import { appForTests } from '../dist.ts';
import {
  order,
  startTestNode,
  testEnvelope,
  type TestNode,
  useTestNode,
  waitUntil,
  watchEvents,
} from '../harness.ts';

/**
 * Message versions in the running system (real NATS JetStream, a real MongoDB-wire server): a
 * message older than its receiver knows is upcast and handled; a newer one is dead-lettered with a
 * reason saying which version came, which is known and what to deploy.
 */

interface Letter {
  consumer: string;
  sagaId: string | null;
  messageType: string | null;
  subject: string;
  reason: string;
  error: string;
  headers: Record<string, string>;
}

async function letters(node: TestNode, match: (l: Letter) => boolean, n: number): Promise<Letter[]> {
  return waitUntil(
    async () => {
      const res = await node.fetch('/v1/dlq?limit=200');
      const { items } = (await res.json()) as { items: Letter[] };
      const found = items.filter(match);
      return found.length >= n ? found : null;
    },
    `${n} dead letters`,
    15_000,
    50,
  );
}

const byMsgId = (id: string) => (l: Letter) => l.headers['Nats-Msg-Id'] === id;

/** A participant whose command went to v2 (`greeting` added; v1 senders get "hello"), answering a v2 event. */
const greeter = defineParticipant({
  name: 'greeter',
  events: {
    greeted: contract(z.object({ text: z.string() }), { version: 2, upcast: { 1: (d) => d } }),
  },
  commands: {
    greet: command(
      contract(z.object({ name: z.string(), greeting: z.string() }), {
        version: 2,
        upcast: { 1: (d) => ({ ...d, greeting: 'hello' }) },
      }),
      async (d) => ({ type: 'greeted', data: { text: `${d.greeting}, ${d.name}` } }),
    ),
  },
});

/** Shipping that never answers (its events still declared), so an order waits in creatingShipment. */
const silentShipping: ParticipantDefinition = defineParticipant({
  ...appForTests.participants.shipping!,
  commands: {
    ...appForTests.participants.shipping!.commands,
    'create-shipment': { handle: () => new Promise(() => undefined) },
  },
});

describe('message versions', () => {
  const node = useTestNode({
    dist: {
      ...appForTests,
      participants: { ...appForTests.participants, shipping: silentShipping, greeter },
    },
    config: { maxDeliver: 2, retryBaseMs: 20, retryMaxMs: 40, ackWaitMs: 60_000, shutdownTimeoutMs: 500 },
  });
  let waiting: { sagaId: string; orderId: string } | undefined;

  it('producers stamp the version they declare: payment.authorized is v2 with the card funding', async () => {
    const watch = await watchEvents(node());
    try {
      const res = await node().post('/v1/saga-types/order-fulfillment/sagas', order({ orderId: 'cv-wait' }));
      expect(res.status).toBe(202);
      const { sagaId } = (await res.json()) as { sagaId: string };
      await node().waitFor(sagaId, (d) => d.state === 'creatingShipment');
      waiting = { sagaId, orderId: 'cv-wait' };
      const of = (type: string) =>
        waitUntil(() => watch.events.find((e) => e.sagaId === sagaId && e.type === type), type, 5_000);
      const authorized = await of('payment.authorized');
      expect(authorized.schemaVersion).toBe(2);
      expect(authorized.data.card).toMatchObject({ bin: '424242', funding: 'credit' });
      expect((await of('inventory.reserved')).schemaVersion).toBe(1);
      expect((await of('fraud.approved')).schemaVersion).toBe(1);
      expect((await of('saga.started')).schemaVersion).toBe(1);
    } finally {
      watch.stop();
    }
  });

  it('an event invalid for its contract is dead-lettered as validation, naming the field', async () => {
    const { sagaId, orderId } = waiting!;
    const bad = testEnvelope('shipping.shipment-created', 'cv-bad-shipment', sagaId, {
      orderId,
      trackingNumber: 42,
    });
    await node().bus.publish('evt.shipping.shipment-created', bad, bad.id);
    const [letter] = await letters(node(), byMsgId('cv-bad-shipment'), 1);
    expect(letter).toMatchObject({ consumer: 'orchestrator', reason: 'validation', sagaId });
    expect(letter!.error).toMatch(/^shipping\.shipment-created v1: invalid data: trackingNumber: /);
    // The saga never saw it.
    expect((await node().store.load(sagaId))!.state).toBe('creatingShipment');
  });

  it('an event newer than its receivers know is dead-lettered by each, saying what to deploy', async () => {
    const { sagaId, orderId } = waiting!;
    const newer: Envelope = {
      ...testEnvelope('payment.authorized', 'cv-newer-authorized', sagaId, { orderId, paymentId: 'p' }),
      schemaVersion: 3,
    };
    await node().bus.publish('evt.payment.authorized', newer, newer.id);
    const found = await letters(node(), byMsgId('cv-newer-authorized'), 2);
    const of = (consumer: string) => found.find((l) => l.consumer === consumer)!;
    expect(of('orchestrator')).toMatchObject({ reason: 'contract', messageType: 'payment.authorized' });
    expect(of('orchestrator').error).toBe(
      'payment.authorized v3 is newer than this service knows (v2): deploy a version of the orchestrator that knows payment.authorized v3',
    );
    expect(of('fraud-agent')).toMatchObject({ reason: 'contract' });
    expect(of('fraud-agent').error).toBe(
      'payment.authorized v3 is newer than this service knows (v2): deploy a version of reactor fraud-agent that knows payment.authorized v3',
    );
    console.log(
      `dead letter reason (orchestrator): ${of('orchestrator').reason}: ${of('orchestrator').error}`,
    );
    expect((await node().store.load(sagaId))!.state).toBe('creatingShipment');
  });

  it('a command older than its handler is upcast before it is handled; the reply carries its declared version', async () => {
    const watch = await watchEvents(node());
    try {
      const cmd = testEnvelope('greeter.greet', 'cv-greet-v1', 'cv-greet-saga', { name: 'Ada' });
      await node().bus.publish('cmd.greeter.greet', cmd, cmd.id);
      const reply = await waitUntil(
        () => watch.events.find((e) => e.id === 'cv-greet-v1:reply'),
        'the reply to the v1 command',
        10_000,
      );
      expect(reply).toMatchObject({
        type: 'greeter.greeted',
        schemaVersion: 2,
        data: { text: 'hello, Ada' },
      });
    } finally {
      watch.stop();
    }
  });

  it('a command newer than its handler is dead-lettered without running it, saying what to deploy', async () => {
    const greet: Envelope = {
      ...testEnvelope('greeter.greet', 'cv-greet-v3', 'cv-greet-saga', { name: 'Ada', greeting: 'hi' }),
      schemaVersion: 3,
    };
    const reserve: Envelope = {
      ...testEnvelope('inventory.reserve', 'cv-reserve-v2', 'cv-reserve-saga', {
        orderId: 'cv-reserve',
        items: [{ sku: 'SKU-1', qty: 1 }],
      }),
      schemaVersion: 2,
    };
    await node().bus.publish('cmd.greeter.greet', greet, greet.id);
    await node().bus.publish('cmd.inventory.reserve', reserve, reserve.id);
    const [g] = await letters(node(), byMsgId('cv-greet-v3'), 1);
    const [r] = await letters(node(), byMsgId('cv-reserve-v2'), 1);
    expect(g).toMatchObject({ consumer: 'svc-greeter', reason: 'contract' });
    expect(g!.error).toBe(
      'greeter.greet v3 is newer than this service knows (v2): deploy a version of service greeter that knows greeter.greet v3',
    );
    expect(r).toMatchObject({ consumer: 'svc-inventory', reason: 'contract' });
    expect(r!.error).toBe(
      'inventory.reserve v2 is newer than this service knows (v1): deploy a version of service inventory that knows inventory.reserve v2',
    );
    // Nothing was reserved.
    const db = node().mongo.db(node().config.mongoDb);
    expect(await db.collection('inventory_reservations').findOne({ _id: 'cv-reserve' as never })).toBeNull();
  });

  it('a start may say the version of its input: the current one is taken, a newer one is a 400 naming the header', async () => {
    const ok = await node().post(
      '/v1/saga-types/order-fulfillment/sagas',
      order({ orderId: 'cv-start-v1' }),
      {
        'Schema-Version': '1',
      },
    );
    expect(ok.status).toBe(202);
    const newer = await node().post(
      '/v1/saga-types/order-fulfillment/sagas',
      order({ orderId: 'cv-start-v2' }),
      {
        'Schema-Version': '2',
      },
    );
    expect(newer.status).toBe(400);
    const problem = (await newer.json()) as {
      detail: string;
      errors: Array<{ field: string; message: string }>;
    };
    expect(problem.detail).toBe(
      'order-fulfillment input v2 is newer than this service knows (v1): deploy a version of the app that knows order-fulfillment input v2',
    );
    expect(problem.errors[0]?.field).toBe('Schema-Version');
    const bad = await node().post('/v1/saga-types/order-fulfillment/sagas', order(), {
      'Schema-Version': 'two',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: Array<{ field: string }> }).errors[0]?.field).toBe(
      'Schema-Version',
    );
  });
});

/**
 * An older payment service, as it ran before `payment.authorized` v2: the same handlers, answering
 * the authorization without the card's funding, and declaring no event versions (so stamped v1).
 */
const v2Payment = appForTests.participants.payment!;
const olderPayment: ParticipantDefinition = defineParticipant({
  name: 'payment',
  commands: {
    ...v2Payment.commands,
    authorize: {
      async handle(data, ctx): Promise<Reply> {
        const reply = await v2Payment.commands.authorize!.handle(data, { ...ctx, replyVersions: {} });
        if (reply.type !== 'authorized') return reply;
        const { funding: _funding, ...card } = reply.data.card as Record<string, unknown>;
        const { schemaVersion: _version, ...rest } = reply;
        return { ...rest, data: { ...reply.data, card } };
      },
    },
  },
});

describe('an older payment service publishing payment.authorized v1', () => {
  // Every role of the current app but payment; the older payment service runs in a process of its
  // own (here a second node on the same streams and database), with its own (older) app.
  const node = useTestNode({
    roles: allRoles(appForTests).filter((r) => !(r.kind === 'service' && r.name === 'payment')),
  });
  const olderApp: App = {
    ...appForTests,
    participants: { ...appForTests.participants, payment: olderPayment },
  };
  let older: TestNode | undefined;
  beforeAll(async () => {
    older = await startTestNode({
      dist: olderApp,
      roles: [{ kind: 'service', name: 'payment' }],
      config: { namespace: node().config.namespace, mongoDb: node().config.mongoDb },
    });
  });
  afterAll(async () => {
    await older?.stop();
  });

  it('is upcast to v2 by the orchestrator and the fraud agent, and the order completes', async () => {
    const watch = await watchEvents(node());
    try {
      const res = await node().post(
        '/v1/saga-types/order-fulfillment/sagas',
        order({ orderId: 'cv-old-pay' }),
      );
      expect(res.status).toBe(202);
      const { sagaId } = (await res.json()) as { sagaId: string };
      const doc = await node().waitForTerminal(sagaId);
      expect(doc.status).toBe('completed');
      // On the wire: v1, no funding, as the older service wrote it.
      const wire = watch.events.find((e) => e.sagaId === sagaId && e.type === 'payment.authorized')!;
      expect(wire.schemaVersion).toBe(1);
      expect(wire.data.card).not.toHaveProperty('funding');
      // The saga handled it at v2: its history holds the upcast data.
      const history = await waitUntil(async () => {
        const h = await node().store.historyOf(sagaId);
        return h.length >= doc.rev ? h : null;
      }, 'the whole history');
      const step = history.find((h) => h.event.type === 'payment.authorized')!;
      expect(step.event.data).toMatchObject({ card: { bin: '424242', funding: 'credit' } });
      expect(history.map((h) => h.event.type)).toContain('fraud.approved');
      // The fraud agent read the upcast field.
      const verdict = await node()
        .mongo.db(node().config.mongoDb)
        .collection('fraud_verdicts')
        .findOne({ _id: wire.id as never });
      expect(verdict).toMatchObject({ outcome: 'approved', cardFunding: 'credit' });
    } finally {
      watch.stop();
    }
  });
});
