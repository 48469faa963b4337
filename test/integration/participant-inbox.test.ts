import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../runtime/wire/index.ts';
import type { Role } from '../../runtime/node.ts';
import { reservations, stock } from '../../services/inventory/index.ts';
import { payments } from '../../services/payment/index.ts';
import { shipments } from '../../services/shipping/index.ts';
import { replyKey } from '../../runtime/participants/index.ts';
import { testEnvelope, useTestNode, waitUntil, watchEvents } from '../harness.ts';

const services = ['payment', 'shipping', 'inventory'];

/**
 * The participants' inbox without a saga in front: the test sends the commands itself,
 * each one twice under two Nats-Msg-Ids (a resend, or a copy beyond the dedup window: the
 * stream keeps both, and both reach the service as first deliveries). The service runs its
 * handler again for the copy (no inbox read before a first delivery); exactly once must
 * still hold: one effect, and the very reply recorded first published both times, also
 * when a later command for the same order ran in between (authorize again after void).
 * Real NATS and MongoDB-wire server; replies are watched on the plain NATS subjects, where
 * every publish shows, even those the event stream drops as duplicates.
 *
 * The reference services keep their replies in their own documents (`replies.<commandId>`, see
 * `replyToStore`): on these paths nothing goes to `<service>_processed`, the reply kept with the
 * effect is THE reply. Replies with nothing to keep them in (an unserved country) are recorded
 * there as before.
 */
describe('participant inbox: a command delivered twice has one effect and one reply', () => {
  const node = useTestNode({
    roles: services.map((name): Role => ({ kind: 'service', name })),
  });
  let watched: Awaited<ReturnType<typeof watchEvents>>;
  const replies = () => watched.events;
  beforeAll(async () => {
    watched = await watchEvents(node());
  });
  afterAll(async () => {
    watched?.stop();
  });
  const db = () => node().mongo.db(node().config.mongoDb);
  const host = (name: string) => node().services.find((s) => s.name === name)!;
  const run = randomBytes(3).toString('hex');

  /** A command envelope as a saga would send it; the same object is sent for every copy. */
  function command(type: string, data: Record<string, unknown>): Envelope {
    const sagaId = `saga-${run}-${data.orderId as string}`;
    return testEnvelope(type, `${sagaId}-${type.replace('.', '-')}`, sagaId, data);
  }

  /** Sends `cmd` under message id `msgId` and waits for the `n`th reply to it; returns every reply so far. */
  async function deliver(cmd: Envelope, msgId: string, n: number): Promise<Envelope[]> {
    await node().bus.publish(`cmd.${cmd.type}`, cmd, msgId);
    const mine = () => replies().filter((r) => r.causationId === cmd.id);
    await waitUntil(() => mine().length >= n, `reply #${n} to ${cmd.type} ${cmd.id}`, 20_000, 20);
    return mine();
  }

  /** Sends the command twice under two message ids: the two replies must be one and the same. */
  async function twice(cmd: Envelope): Promise<Envelope> {
    const [first] = await deliver(cmd, `${cmd.id}:m1`, 1);
    const both = await deliver(cmd, `${cmd.id}:m2`, 2);
    expect(both).toHaveLength(2);
    expect(first!.id).toBe(`${cmd.id}:reply`);
    expect(both[1]).toEqual(first);
    return first!;
  }

  /** Sends a copy of an already answered command: it must get the recorded reply again, unchanged. */
  async function again(cmd: Envelope, recorded: Envelope, copies: number): Promise<void> {
    const all = await deliver(cmd, `${cmd.id}:m${copies + 1}`, copies + 1);
    expect(all).toHaveLength(copies + 1);
    for (const r of all) expect(r).toEqual(recorded);
  }

  async function inboxOf(service: string, cmd: Envelope) {
    return db()
      .collection(`${service}_processed`)
      .find({ _id: cmd.id } as never)
      .toArray();
  }

  /**
   * The reply kept for `cmd` in document `id` of `collection`, as its envelope says it (`data`: the
   * part kept, when the handler adds the rest from the document, as inventory's commit does).
   */
  async function keptFor(
    collection: string,
    id: string,
    cmd: Envelope,
    reply: Envelope,
    data: Envelope['data'] = reply.data,
  ) {
    const doc = await db()
      .collection<{ _id: string; replies?: Record<string, unknown> }>(collection)
      .findOne({ _id: id });
    expect(doc?.replies?.[replyKey(cmd.id)]).toEqual({
      type: reply.type.slice(reply.type.indexOf('.') + 1),
      data,
      sagaId: cmd.sagaId,
      at: reply.occurredAt,
      // A reply of an event at version 2 or later is kept with its version.
      ...(reply.schemaVersion > 1 ? { schemaVersion: reply.schemaVersion } : {}),
    });
  }

  /** The stream stored one reply per command: the second publish was deduplicated by its id. */
  async function storedReplies(cmd: Envelope): Promise<number> {
    const jsm = await jetstreamManager(node().bus.nc);
    const stream = node().bus.topo.streams.evt;
    const info = await jsm.streams.info(stream);
    let n = 0;
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (m?.json<Envelope>().causationId === cmd.id) n++;
    }
    return n;
  }

  it('payment: authorize twice authorizes once; after a void, a third copy still gets "authorized"', async () => {
    const before = { handled: host('payment').handled, replayed: host('payment').replayed };
    const orderId = 'pay-twice';
    const authorize = command('payment.authorize', {
      orderId,
      customerId: 'cust-inbox',
      amount: 42.5,
      currency: 'USD',
      token: 'tok_visa',
    });
    const reply = await twice(authorize);
    expect(reply.type).toBe('payment.authorized');
    expect(reply.data).toMatchObject({ orderId, paymentId: `pay_${orderId}`, amount: 42.5 });
    expect(await payments(db()).find({ _id: orderId }).toArray()).toEqual([
      expect.objectContaining({ status: 'authorized', amount: 42.5, capturedAmount: 0 }),
    ]);
    // Kept in the payment, written by the insert that created it: no inbox record.
    await keptFor('payments', orderId, authorize, reply);
    expect(await inboxOf('payment', authorize)).toEqual([]);
    expect(await storedReplies(authorize)).toBe(1);

    // A later command for the same order, delivered twice too.
    const voiding = command('payment.void', { orderId });
    const voided = await twice(voiding);
    expect(voided).toMatchObject({ type: 'payment.voided', data: { orderId, outcome: 'voided' } });
    const afterVoid = await payments(db()).findOne({ _id: orderId });
    expect(afterVoid).toMatchObject({ status: 'voided', amount: 42.5 });

    // The authorization once more, after the void: its handler runs again and would say
    // "declined: payment voided"; what goes out is the reply recorded first, and the
    // payment stays exactly as the void left it.
    await again(authorize, reply, 2);
    await again(voiding, voided, 2);
    expect(await payments(db()).find({ _id: orderId }).toArray()).toEqual([afterVoid]);
    await keptFor('payments', orderId, voiding, voided);
    expect(await inboxOf('payment', authorize)).toHaveLength(0);
    expect(await inboxOf('payment', voiding)).toHaveLength(0);
    expect(host('payment').handled - before.handled).toBe(2);
    expect(host('payment').replayed - before.replayed).toBe(4);
  });

  it('shipping: create-shipment twice creates one shipment; after a cancel, a copy still gets "shipment-created"', async () => {
    const orderId = 'ship-twice';
    const create = command('shipping.create-shipment', {
      orderId,
      items: [{ sku: 'SKU-1', qty: 1 }],
      address: { country: 'GB', city: 'London' },
    });
    const reply = await twice(create);
    expect(reply.type).toBe('shipping.shipment-created');
    const trackingNumber = (reply.data as { trackingNumber: string }).trackingNumber;
    expect(trackingNumber).toMatch(/^TRK[0-9A-F]{12}$/);
    expect(await shipments(db()).find({ _id: orderId }).toArray()).toEqual([
      expect.objectContaining({ status: 'created', trackingNumber }),
    ]);
    expect(await storedReplies(create)).toBe(1);

    const cancel = command('shipping.cancel-shipment', { orderId });
    expect((await twice(cancel)).type).toBe('shipping.shipment-cancelled');
    await again(create, reply, 2);
    expect(await shipments(db()).find({ _id: orderId }).toArray()).toEqual([
      expect.objectContaining({ status: 'cancelled', trackingNumber }),
    ]);
    await keptFor('shipments', orderId, create, reply);
    expect(await inboxOf('shipping', create)).toHaveLength(0);
  });

  it('shipping: an unserved country has no shipment to keep its reply in: it is recorded in the inbox', async () => {
    const create = command('shipping.create-shipment', {
      orderId: 'ship-aq',
      items: [{ sku: 'SKU-1', qty: 1 }],
      address: { country: 'AQ' },
    });
    const reply = await twice(create);
    expect(reply).toMatchObject({ type: 'shipping.unavailable', data: { reason: 'no carrier serves AQ' } });
    expect((await inboxOf('shipping', create)).map((r) => r.reply)).toEqual([reply]);
    expect(await shipments(db()).countDocuments({ _id: 'ship-aq' })).toBe(0);
  });

  it('payment: a capture copied after the refund still answers "captured" with its first data', async () => {
    const before = { handled: host('payment').handled, replayed: host('payment').replayed };
    const orderId = 'pay-capture-refund';
    const authorize = command('payment.authorize', {
      orderId,
      customerId: 'cust-inbox',
      amount: 12,
      currency: 'EUR',
      token: 'tok_visa',
    });
    await twice(authorize);
    const capture = command('payment.capture', { orderId, amount: 12 });
    const captured = await twice(capture);
    expect(captured).toMatchObject({ type: 'payment.captured', data: { orderId, amount: 12 } });
    const refund = command('payment.refund', { orderId });
    expect(await twice(refund)).toMatchObject({ type: 'payment.refunded', data: { outcome: 'refunded' } });
    // The capture's handler runs again on the refunded payment: it finds its kept reply.
    await again(capture, captured, 2);
    const doc = (await payments(db()).findOne({ _id: orderId }))!;
    expect(doc).toMatchObject({ status: 'refunded', capturedAmount: 12 });
    await keptFor('payments', orderId, capture, captured);
    expect(Object.keys(doc.replies ?? {})).toHaveLength(3);
    for (const cmd of [authorize, capture, refund]) expect(await inboxOf('payment', cmd)).toEqual([]);
    expect(host('payment').handled - before.handled).toBe(3);
    expect(host('payment').replayed - before.replayed).toBe(4);
  });

  it('inventory: reserve twice holds the stock once; after a release, a copy holds nothing again', async () => {
    const orderId = 'inv-twice';
    const initial = (await stock(db()).findOne({ _id: 'SKU-3' }))!.available;
    const reserve = command('inventory.reserve', { orderId, items: [{ sku: 'SKU-3', qty: 4 }] });
    const reply = await twice(reserve);
    expect(reply.type).toBe('inventory.reserved');
    const held = (await stock(db()).findOne({ _id: 'SKU-3' }))!;
    expect(held.available).toBe(initial - 4);
    expect(held.holds[orderId]).toBe(4);

    const release = command('inventory.release', { orderId });
    expect((await twice(release)).type).toBe('inventory.released');
    await again(reserve, reply, 2);
    const after = (await stock(db()).findOne({ _id: 'SKU-3' }))!;
    expect(after.available).toBe(initial);
    expect(after.holds[orderId]).toBeUndefined();
    expect(await reservations(db()).findOne({ _id: orderId })).toMatchObject({ status: 'released' });
    await keptFor('inventory_reservations', orderId, reserve, reply);
    expect(await inboxOf('inventory', reserve)).toHaveLength(0);
  });

  it('inventory: a commit copied after a refused release answers its first reply, nothing moves twice', async () => {
    const orderId = 'inv-commit-twice';
    const initial = (await stock(db()).findOne({ _id: 'SKU-4' }))!;
    const reserve = command('inventory.reserve', { orderId, items: [{ sku: 'SKU-4', qty: 2 }] });
    await twice(reserve);
    const commit = command('inventory.commit', { orderId });
    const committed = await twice(commit);
    expect(committed).toMatchObject({
      type: 'inventory.committed',
      data: { orderId, items: [{ sku: 'SKU-4', qty: 2 }] },
    });
    const release = command('inventory.release', { orderId });
    const refused = await twice(release);
    expect(refused).toMatchObject({ type: 'inventory.release-refused' });
    // Refused: nothing of its own took effect, so it is recorded in the inbox, as before.
    expect((await inboxOf('inventory', release)).map((r) => r.reply)).toEqual([refused]);
    await again(commit, committed, 2);
    await keptFor('inventory_reservations', orderId, commit, committed, { orderId });
    expect(await inboxOf('inventory', commit)).toHaveLength(0);
    const after = (await stock(db()).findOne({ _id: 'SKU-4' }))!;
    expect(after.available).toBe(initial.available - 2);
    expect(after.committed ?? 0).toBe((initial.committed ?? 0) + 2);
    expect(after.holds[orderId]).toBeUndefined();
  });
});
