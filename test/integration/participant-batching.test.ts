import { randomBytes } from 'node:crypto';
import { type CommandStartedEvent, type Db, MongoClient, MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../runtime/wire/index.ts';
import {
  EventReactorHost,
  type ParticipantDefinition,
  ParticipantHost,
  type ReactionRecord,
  type ReactorDefinition,
} from '../../runtime/participants/index.ts';
import { InsertBatcher } from '../../runtime/store/insert-batcher.ts';
import { inventory, reservations, stock } from '../../services/inventory/index.ts';
import { testEnvelope, useTestNode, waitUntil, watchEvents } from '../harness.ts';

/**
 * Inbox records in batches: many commands handled at once share `insertMany` round trips, and
 * each record still gets its own answer from the unique key. The hosts run here on a client of
 * their own with command monitoring, so the test counts the `insert` commands that really went
 * to the MongoDB-wire server. Real NATS and server; replies are watched on the plain NATS
 * subjects, where every publish shows, even those the event stream drops as duplicates.
 */

/**
 * The inventory with its replies handed to the host unstored, as a handler that keeps no reply in
 * its documents answers: every reply goes through the inbox, the path under test here (the real
 * one keeps them in the reservation: test/integration/stored-replies.test.ts).
 */
const inboxInventory: ParticipantDefinition = {
  ...inventory,
  commands: Object.fromEntries(
    Object.entries(inventory.commands).map(([name, handler]) => [
      name,
      {
        async handle(data, ctx) {
          const { type, data: answer } = await handler.handle(data, ctx);
          return { type, data: answer };
        },
      },
    ]),
  ),
};

describe('participant inbox in batches', () => {
  const node = useTestNode({ roles: [] });
  let client: MongoClient;
  let watched: Awaited<ReturnType<typeof watchEvents>>;
  let host: ParticipantHost;
  let reactorHost: EventReactorHost;
  const replies = () => watched.events;
  /** Collection and number of records of every `insert` command sent. */
  const inserts: Array<{ collection: string; records: number }> = [];
  const run = randomBytes(3).toString('hex');
  const reactor: ReactorDefinition = {
    name: 'batch-probe',
    source: 'probe',
    on: 'payment.authorized',
    inbox: 'probe_reactions',
    idSuffix: 'probe',
    async react(event) {
      const orderId = (event.data as { orderId: string }).orderId;
      return { type: 'seen', data: { orderId }, record: { orderId } };
    },
  };

  beforeAll(async () => {
    const { bus, config, log } = node();
    client = new MongoClient(config.mongoUrl, { monitorCommands: true });
    client.on('commandStarted', (e: CommandStartedEvent) => {
      if (e.commandName !== 'insert') return;
      const docs = (e.command as { documents?: unknown[] }).documents;
      inserts.push({ collection: String(e.command.insert), records: docs?.length ?? -1 });
    });
    const db = client.db(config.mongoDb);
    host = new ParticipantHost(inboxInventory, bus, db, log);
    reactorHost = new EventReactorHost(reactor, {
      bus,
      db,
      log,
      config,
      startSaga: () => Promise.reject(new Error('this reactor starts no saga')),
    });
    await host.start();
    await reactorHost.start();
    watched = await watchEvents(node());
  });
  afterAll(async () => {
    watched?.stop();
    await host?.stop();
    await reactorHost?.stop();
    await client?.close();
  });
  const db = (): Db => client.db(node().config.mongoDb);

  const envelope = (type: string, id: string, data: Record<string, unknown>): Envelope =>
    testEnvelope(type, id, `saga-${id}`, data);

  /** Every reply to `causes` so far, by cause, once each has `want(cause)` of them. */
  async function repliesTo(causes: string[], want: (id: string) => number): Promise<Map<string, Envelope[]>> {
    let missing: string[] = [];
    return waitUntil(
      () => {
        const by = new Map<string, Envelope[]>(causes.map((id) => [id, []]));
        for (const r of replies()) if (r.causationId) by.get(r.causationId)?.push(r);
        missing = causes.filter((id) => by.get(id)!.length < want(id));
        return missing.length === 0 ? by : null;
      },
      () => `a reply to each of them; none yet to ${missing.length}, e.g. ${missing[0]}`,
    );
  }

  /**
   * Publishes every message, and those `copy` picks a second time under another message id
   * (the stream keeps both); waits for one answer per publish.
   */
  async function sendWithCopies(kind: 'cmd' | 'evt', messages: Envelope[], copy: (i: number) => boolean) {
    const copies = messages.filter((_, i) => copy(i));
    await Promise.all([
      ...messages.map((m) => node().bus.publish(`${kind}.${m.type}`, m, `${m.id}:m1`)),
      ...copies.map((m) => node().bus.publish(`${kind}.${m.type}`, m, `${m.id}:m2`)),
    ]);
    const ids = messages.map((m) => m.id);
    const copied = new Set(copies.map((m) => m.id));
    const by = await repliesTo(ids, (id) => (copied.has(id) ? 2 : 1));
    return { ids, copied, by };
  }

  const insertsInto = (collection: string) => inserts.filter((i) => i.collection === collection);

  it('40 commands at once and 5 copies: one record and one effect each, the recorded reply every time, fewer round trips', async () => {
    const sku = 'SKU-7';
    const before = (await stock(db()).findOne({ _id: sku }))!;
    const writesBefore = host.recordWrites;
    const orders = Array.from({ length: 40 }, (_, i) => ({ orderId: `bat-${run}-${i}`, qty: 1 + (i % 3) }));
    const commands = orders.map(({ orderId, qty }) =>
      envelope('inventory.reserve', `cmd-${orderId}-reserve`, { orderId, items: [{ sku, qty }] }),
    );
    // The same command again under another message id (a step policy's resend, a republish
    // beyond the dedup window): the stream keeps both, each is a first delivery.
    const { ids, copied, by } = await sendWithCopies('cmd', commands, (i) => i % 8 === 0);

    // One record per command, and every reply to it, copy or not, is the recorded one.
    const records = await db()
      .collection<{ _id: string; reply: Envelope }>('inventory_processed')
      .find({ _id: { $in: ids } })
      .toArray();
    expect(records.map((r) => r._id).sort()).toEqual([...ids].sort());
    for (const record of records) {
      const sent = by.get(record._id)!;
      expect(sent).toHaveLength(copied.has(record._id) ? 2 : 1);
      for (const reply of sent) expect(reply).toEqual(record.reply);
      expect(record.reply).toMatchObject({ id: `${record._id}:reply`, type: 'inventory.reserved' });
    }

    // One effect each: one reservation, one hold of its quantity, the stock taken once.
    const held = await reservations(db())
      .find({ _id: { $in: orders.map((o) => o.orderId) } })
      .toArray();
    expect(held).toHaveLength(40);
    expect(held.every((r) => r.status === 'reserved')).toBe(true);
    const after = (await stock(db()).findOne({ _id: sku }))!;
    for (const { orderId, qty } of orders) expect(after.holds[orderId]).toBe(qty);
    const total = orders.reduce((n, o) => n + o.qty, 0);
    expect(after.available).toBe(before.available - total);

    // Each command handled once; each copy answered with the record (its handler ran, its insert was a duplicate).
    expect(host.handled).toBe(40);
    expect(host.replayed).toBe(5);

    // The 45 records went to the server in fewer `insert` commands than there were commands.
    const sentInserts = insertsInto('inventory_processed');
    expect(sentInserts).toHaveLength(host.recordWrites - writesBefore);
    expect(sentInserts.length).toBeLessThan(40);
    expect(sentInserts.reduce((n, i) => n + i.records, 0)).toBe(45);
    expect(Math.max(...sentInserts.map((i) => i.records))).toBeGreaterThan(1);
  });

  it('the reactor host batches its records the same way', async () => {
    const events = Array.from({ length: 30 }, (_, i) =>
      envelope('payment.authorized', `evt-rx-${run}-${i}`, { orderId: `rx-${run}-${i}` }),
    );
    // Replies here are the reactions (caused by the events); the events themselves have no cause.
    const { ids, copied, by } = await sendWithCopies('evt', events, (i) => i % 10 === 3);
    const records = await db()
      .collection<ReactionRecord>('probe_reactions')
      .find({ _id: { $in: ids } })
      .toArray();
    expect(records.map((r) => r._id).sort()).toEqual([...ids].sort());
    for (const record of records) {
      const sent = by.get(record._id)!;
      expect(sent).toHaveLength(copied.has(record._id) ? 2 : 1);
      for (const reaction of sent) expect(reaction).toEqual(record.reaction);
      expect(record.orderId).toBe((record.reaction!.data as { orderId: string }).orderId);
    }
    expect(reactorHost.reacted).toBe(30);
    expect(reactorHost.replayed).toBe(3);
    const sentInserts = insertsInto('probe_reactions');
    expect(sentInserts).toHaveLength(reactorHost.recordWrites);
    expect(sentInserts.length).toBeLessThan(30);
    expect(sentInserts.reduce((n, i) => n + i.records, 0)).toBe(33);
  });

  describe('InsertBatcher against the server', () => {
    interface Rec {
      _id: string;
      v: number;
    }

    it('records submitted together go in one insertMany, and each gets its own outcome', async () => {
      const coll = db().collection<Rec>(`writer_mixed_${run}`);
      await coll.insertOne({ _id: 'old', v: 0 });
      const writer = new InsertBatcher(coll);
      const bad = { _id: ['not', 'a', 'key'], v: 4 } as unknown as Rec;
      const results = await Promise.allSettled([
        writer.insert({ _id: 'a', v: 1 }),
        writer.insert({ _id: 'old', v: 2 }),
        writer.insert({ _id: 'b', v: 3 }),
        writer.insert(bad),
        writer.insert({ _id: 'a', v: 5 }),
        writer.insert({ _id: 'c', v: 6 }),
      ]);
      expect(results.slice(0, 3)).toEqual([
        { status: 'fulfilled', value: 'inserted' },
        { status: 'fulfilled', value: 'duplicate' },
        { status: 'fulfilled', value: 'inserted' },
      ]);
      // Refused for itself (not a duplicate): that record alone fails, with the server's error.
      expect(results[3]!.status).toBe('rejected');
      const refused = (results[3] as PromiseRejectedResult).reason as MongoServerError;
      expect(refused).toBeInstanceOf(MongoServerError);
      expect(refused.code).toBe(53);
      expect(results.slice(4)).toEqual([
        { status: 'fulfilled', value: 'duplicate' },
        { status: 'fulfilled', value: 'inserted' },
      ]);
      expect(writer.writes).toBe(1);
      expect(insertsInto(coll.collectionName)).toEqual([
        { collection: coll.collectionName, records: 1 },
        { collection: coll.collectionName, records: 6 },
      ]);
      expect(await coll.find().sort({ _id: 1 }).toArray()).toEqual([
        { _id: 'a', v: 1 },
        { _id: 'b', v: 3 },
        { _id: 'c', v: 6 },
        { _id: 'old', v: 0 },
      ]);
    });

    it('a failure of the whole insert fails every record of it', async () => {
      // Refused as a whole: MongoDB fails the command; mongo-java-server answers ok with one
      // write error for record 0 and counts all three, which proves nothing of the others.
      const coll = db().collection<Rec>(`system.writer_${run}`);
      const writer = new InsertBatcher(coll);
      const results = await Promise.allSettled([
        writer.insert({ _id: 'x', v: 1 }),
        writer.insert({ _id: 'y', v: 2 }),
        writer.insert({ _id: 'z', v: 3 }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
      expect(writer.writes).toBe(1);
    });

    it('a batch beyond the byte budget of one insert goes in several, each record inserted', async () => {
      const coll = db().collection<Rec & { pad: string }>(`writer_big_${run}`);
      const writer = new InsertBatcher(coll);
      const pad = 'x'.repeat(1_500_000);
      const results = await Promise.all(['p', 'q', 'r'].map((id, v) => writer.insert({ _id: id, v, pad })));
      expect(results).toEqual(['inserted', 'inserted', 'inserted']);
      expect(writer.writes).toBe(2);
      expect(insertsInto(coll.collectionName).map((i) => i.records)).toEqual([2, 1]);
      expect(await coll.countDocuments()).toBe(3);
    });
  });
});
