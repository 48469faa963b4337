import { randomBytes } from 'node:crypto';
import { type CommandStartedEvent, type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransientError } from '../../runtime/errors.ts';
import { type ParticipantDefinition, ParticipantHost, replyKey } from '../../runtime/participants/index.ts';
import type { Envelope } from '../../runtime/wire/index.ts';
import { inventory, reservations } from '../../services/inventory/index.ts';
import { payment, payments } from '../../services/payment/index.ts';
import { shipping } from '../../services/shipping/index.ts';
import { testEnvelope, useTestNode, waitUntil, watchEvents } from '../harness.ts';
import { checkOrderInvariants } from '../invariants.ts';

/** The write commands a MongoDB driver sends (findOneAndUpdate is `findAndModify`). */
const writeCommands = new Set(['insert', 'update', 'delete', 'findAndModify']);

/**
 * Replies kept in the participants' own documents (`replies.<commandId>`, see `replyToStore`): the
 * host records nothing in `<service>_processed`, the reply is published once per delivery, and a
 * copy, a redelivery after a crash, or a re-run after later commands moved the document publishes
 * that same reply. The hosts run on a client of their own with command monitoring, so the test counts
 * the write commands that really went to the MongoDB-wire server. Real NATS and server.
 */
describe('stored replies: the reply kept with the effect, no inbox record', () => {
  const node = useTestNode({ roles: [], config: { retryBaseMs: 20, retryMaxMs: 40 } });
  let client: MongoClient;
  let watched: Awaited<ReturnType<typeof watchEvents>>;
  const hosts: ParticipantHost[] = [];
  /** Collection of every write command sent, in order. */
  const writes: string[] = [];
  const run = randomBytes(3).toString('hex');
  /** Commands whose capture "crashed" after its effect, once each. */
  const crashed = new Set<string>();

  /** The payment, whose capture crashes once after taking effect when its order id says so. */
  const crashingPayment: ParticipantDefinition = {
    ...payment,
    commands: {
      ...payment.commands,
      capture: {
        async handle(data, ctx) {
          const reply = await payment.commands.capture!.handle(data, ctx);
          if ((data as { orderId: string }).orderId.startsWith('crash') && !crashed.has(ctx.commandId)) {
            crashed.add(ctx.commandId);
            throw new TransientError('crashed after the effect, before the publish');
          }
          return reply;
        },
      },
    },
  };

  beforeAll(async () => {
    const { bus, config, log } = node();
    client = new MongoClient(config.mongoUrl, { monitorCommands: true });
    client.on('commandStarted', (e: CommandStartedEvent) => {
      if (writeCommands.has(e.commandName)) writes.push(String(e.command[e.commandName]));
    });
    const db = client.db(config.mongoDb);
    for (const def of [inventory, crashingPayment, shipping])
      hosts.push(new ParticipantHost(def, bus, db, log));
    for (const h of hosts) await h.start();
    watched = await watchEvents(node());
  });
  afterAll(async () => {
    watched?.stop();
    for (const h of hosts) await h.stop();
    await client?.close();
  });
  const db = (): Db => client.db(node().config.mongoDb);
  const host = (name: string) => hosts.find((h) => h.name === name)!;
  const processed = (service: string, ids: string[]) =>
    db()
      .collection<{ _id: string }>(`${service}_processed`)
      .countDocuments({ _id: { $in: ids } });

  const repliesTo = (id: string) => watched.events.filter((e) => e.causationId === id);

  /** Publishes `cmd` under `msgId` and waits for its `n`th reply; returns every reply to it so far. */
  async function deliver(cmd: Envelope, msgId: string, n = 1): Promise<Envelope[]> {
    await node().bus.publish(`cmd.${cmd.type}`, cmd, msgId);
    await waitUntil(() => repliesTo(cmd.id).length >= n, `reply #${n} to ${cmd.type} ${cmd.id}`, 20_000, 10);
    return repliesTo(cmd.id);
  }

  const cmd = (type: string, sagaId: string, step: number, data: Record<string, unknown>) =>
    testEnvelope(type, `${sagaId}:${step}:0`, sagaId, data);

  it('one order, forward: each command writes its effect with its reply and nothing else', async () => {
    const sagaId = `st-${run}-fwd`;
    const orderId = `ord-${run}-fwd`;
    const items = [{ sku: 'SKU-5', qty: 2 }];
    const steps = [
      cmd('inventory.reserve', sagaId, 1, { orderId, items }),
      cmd('payment.authorize', sagaId, 2, {
        orderId,
        customerId: 'c-1',
        amount: 20,
        currency: 'EUR',
        token: 'tok_visa',
      }),
      cmd('payment.capture', sagaId, 3, { orderId, amount: 20 }),
      cmd('shipping.create-shipment', sagaId, 4, { orderId, items, address: { country: 'FR' } }),
      cmd('inventory.commit', sagaId, 5, { orderId }),
    ];
    const perCommand: Record<string, string[]> = {};
    const handledBefore = hosts.map((h) => h.handled);
    for (const step of steps) {
      writes.length = 0;
      const [reply] = await deliver(step, `${step.id}:m1`);
      perCommand[step.type] = [...writes];
      expect(reply!.id).toBe(`${step.id}:reply`);
    }
    expect(repliesTo(steps[4]!.id)[0]!.type).toBe('inventory.committed');
    // No inbox record anywhere: each command's writes are its effect's, the reply in them.
    expect(perCommand).toEqual({
      'inventory.reserve': ['inventory_reservations', 'inventory_stock', 'inventory_reservations'],
      'payment.authorize': ['payments'],
      'payment.capture': ['payments'],
      'shipping.create-shipment': ['shipments'],
      'inventory.commit': ['inventory_reservations', 'inventory_stock'],
    });
    for (const service of ['inventory', 'payment', 'shipping'])
      expect(
        await processed(
          service,
          steps.map((s) => s.id),
        ),
      ).toBe(0);
    expect(hosts.map((h, i) => h.handled - handledBefore[i]!)).toEqual([2, 2, 1]);
    expect(hosts.every((h) => h.recordWrites === 0)).toBe(true);

    // Each reply is the one kept in its document: same type, data, saga and time.
    const kept = await payments(db()).findOne({ _id: orderId });
    const capture = repliesTo(steps[2]!.id)[0]!;
    expect(kept?.replies?.[replyKey(steps[2]!.id)]).toEqual({
      type: 'captured',
      data: capture.data,
      sagaId,
      at: capture.occurredAt,
    });
  });

  it('40 reserves at once and 5 copies: one effect and one reply each, no inbox record, copies replayed', async () => {
    const before = { handled: host('inventory').handled, replayed: host('inventory').replayed };
    const commands = Array.from({ length: 40 }, (_, i) =>
      cmd('inventory.reserve', `st-${run}-b${i}`, 1, {
        orderId: `st-${run}-b${i}`,
        items: [{ sku: 'SKU-6', qty: 1 }],
      }),
    );
    const copied = commands.filter((_, i) => i % 8 === 0);
    writes.length = 0;
    await Promise.all([
      ...commands.map((c) => node().bus.publish(`cmd.${c.type}`, c, `${c.id}:m1`)),
      ...copied.map((c) => node().bus.publish(`cmd.${c.type}`, c, `${c.id}:m2`)),
    ]);
    await waitUntil(
      () => commands.every((c) => repliesTo(c.id).length >= (copied.includes(c) ? 2 : 1)),
      'a reply to every publish',
      30_000,
    );
    for (const c of commands) {
      const sent = repliesTo(c.id);
      expect(sent).toHaveLength(copied.includes(c) ? 2 : 1);
      for (const r of sent) expect(r).toEqual(sent[0]);
      expect(sent[0]).toMatchObject({ id: `${c.id}:reply`, type: 'inventory.reserved' });
    }
    expect(host('inventory').handled - before.handled).toBe(40);
    expect(host('inventory').replayed - before.replayed).toBe(5);
    expect(writes.filter((w) => w === 'inventory_processed')).toEqual([]);
    expect(
      await processed(
        'inventory',
        commands.map((c) => c.id),
      ),
    ).toBe(0);
    const held = await reservations(db())
      .find({ _id: { $in: commands.map((c) => (c.data as { orderId: string }).orderId) } })
      .toArray();
    expect(held.every((r) => r.status === 'reserved' && Object.keys(r.replies ?? {}).length === 1)).toBe(
      true,
    );
  });

  it('a capture that crashed after its effect is redelivered: its kept reply goes out, once, and again after the refund', async () => {
    const sagaId = `st-${run}-crash`;
    const orderId = `crash-${run}`;
    const authorize = cmd('payment.authorize', sagaId, 1, {
      orderId,
      customerId: 'c-1',
      amount: 30,
      currency: 'EUR',
      token: 'tok_visa',
    });
    await deliver(authorize, `${authorize.id}:m1`);
    const before = { handled: host('payment').handled, replayed: host('payment').replayed };
    const capture = cmd('payment.capture', sagaId, 2, { orderId, amount: 30 });
    // First delivery: captured (reply kept), then "crashed"; the redelivery (attempt 2) finds no
    // inbox record, runs the handler again, which answers the kept reply.
    const [captured] = await deliver(capture, `${capture.id}:m1`);
    expect(crashed.has(capture.id)).toBe(true);
    expect(captured).toMatchObject({ type: 'payment.captured', data: { orderId, amount: 30 } });
    await new Promise((r) => setTimeout(r, 200));
    expect(repliesTo(capture.id)).toHaveLength(1);
    expect(host('payment').handled - before.handled).toBe(0);
    expect(host('payment').replayed - before.replayed).toBe(1);
    expect(await payments(db()).findOne({ _id: orderId })).toMatchObject({
      status: 'captured',
      capturedAmount: 30,
    });

    // Refunded, then a copy of the capture: the payment says "refunded", the reply stays the first.
    const refund = cmd('payment.refund', sagaId, 3, { orderId });
    expect((await deliver(refund, `${refund.id}:m1`))[0]).toMatchObject({
      type: 'payment.refunded',
      data: { outcome: 'refunded' },
    });
    const all = await deliver(capture, `${capture.id}:m2`, 2);
    expect(all[1]).toEqual(captured);
    expect(await processed('payment', [authorize.id, capture.id, refund.id])).toBe(0);
  });

  it('a reply with nothing to keep it in is recorded in the inbox, as before', async () => {
    const sagaId = `st-${run}-refused`;
    const commit = cmd('inventory.commit', sagaId, 1, { orderId: `nobody-${run}` });
    const [refused] = await deliver(commit, `${commit.id}:m1`);
    expect(refused).toMatchObject({ type: 'inventory.commit-refused', data: { reason: 'no reservation' } });
    const records = await db()
      .collection<{ _id: string; reply: Envelope }>('inventory_processed')
      .find({ _id: commit.id })
      .toArray();
    expect(records.map((r) => r.reply)).toEqual([refused]);
    const again = await deliver(commit, `${commit.id}:m2`, 2);
    expect(again[1]).toEqual(refused);
  });

  it('test/invariants counts the replies kept in documents: a step answered twice, a command answered twice', async () => {
    const inv = client.db(`${node().config.mongoDb}_inv`);
    try {
      const sagaId = `st-${run}-inv`;
      await inv.collection<{ _id: string }>('sagas').insertOne({
        _id: sagaId,
        type: 'order-fulfillment',
        status: 'failed',
        state: 'failed',
        input: { orderId: sagaId, items: [] },
      } as never);
      const kept = (type: string, data: Record<string, unknown>) => ({ type, data, sagaId, at: 'x' });
      // Two authorize commands both answered `authorized` (the step ran twice), one kept in the
      // payment, one recorded in the inbox; and a third command with a reply in both, differing.
      await payments(inv).insertOne({
        _id: sagaId,
        status: 'voided',
        customerId: null,
        amount: 1,
        currency: 'EUR',
        token: null,
        paymentId: 'p',
        reason: null,
        capturedAmount: 0,
        updatedAt: new Date(),
        replies: {
          [replyKey(`${sagaId}:1:0`)]: kept('authorized', { orderId: sagaId }),
          [replyKey(`${sagaId}:3:0`)]: kept('voided', { orderId: sagaId, outcome: 'voided' }),
        },
      });
      await inv.collection<{ _id: string; reply: unknown }>('payment_processed').insertMany([
        { _id: `${sagaId}:2:0`, reply: { type: 'payment.authorized', sagaId } },
        { _id: `${sagaId}:3:0`, reply: { type: 'payment.declined', sagaId } },
      ]);
      const report = await checkOrderInvariants(inv, { initialStock: {} });
      expect(report.violations).toEqual(
        expect.arrayContaining([
          `saga ${sagaId}: 2 distinct commands answered payment.authorized (the step ran 2 times)`,
          `command ${sagaId}:3:0: two replies, payment.declined (payment_processed) and payment.voided (payments ${sagaId})`,
        ]),
      );
      expect(report.duplicateEffects).toBe(2);
    } finally {
      await inv.dropDatabase().catch(() => undefined);
    }
  });
});
