import { randomUUID } from 'node:crypto';
import type { AnyBulkWriteOperation, Db } from 'mongodb';
import { z } from 'zod';
import {
  asStored,
  type CommandContext,
  command,
  contract,
  defineParticipant,
  isDuplicateKey,
  type Logger,
  type Reply,
  replyToStore,
  storedReply,
  TransientError,
  type WithReplies,
} from 'jetsaga';
import { ReceiveData, receive, receiveEvents } from './receive.ts';
import { type StockDoc, stock } from './stock.ts';

export { type ReceiptDoc, receipts, receive } from './receive.ts';
export { type StockDoc, stock } from './stock.ts';

/**
 * Inventory: stock per SKU, one document each. An order's stock goes through three places,
 * always moved by one conditional update of the SKU's document, so a command run twice (or two
 * runs at once) moves it once:
 *
 * - `reserve`: `available` -> `holds.<orderId>` (the hold is in the filter: taken once);
 * - `commit` (the order shipped: the sale is final): `holds.<orderId>` -> `committed`, the
 *   count of units sold; the hold leaves the document, so it stays the size of the orders in
 *   flight, whatever the number of orders it has seen;
 * - `release` (compensation): `holds.<orderId>` -> `available`.
 *
 * Per SKU, `available + sum(holds) + committed` is the stock it started with plus what was
 * received: `receive` (receive.ts) adds a delivered purchase order to `available` once per receipt.
 * The reservation document (one per order) decides between commit and release: each first moves
 * it with a conditional update (`reserved -> committed`, `anything but committed -> released`),
 * and only the winner moves holds. A release after a commit gives nothing back (the goods are
 * gone) and answers `release-refused`; a reserve after a commit takes nothing again. Deterministic
 * failure: `SKU-OUT` (and any SKU not in the catalog) has no stock.
 *
 * Replies are kept in the reservation (`replies.<commandId>`, see `replyToStore`), by the very
 * conditional update that moves it for this command (`pending -> reserved | rejected`,
 * `-> committed`, `-> released`): the host records nothing, one write per command fewer. Every later
 * run of the command (a copy, a crash, a race, also after later commands moved the reservation)
 * returns that reply, and still finishes what a crashed run left (holds to settle or to give back).
 * What no update of this command decided (the reservation moved by another command, a refusal) is
 * answered unstored, recorded by the host as before: the states deciding it only move forward, so
 * no later run of that command stores another answer.
 *
 * Each run of `reserve` tags the holds it takes with a token of its own (`holders.<orderId>`), and
 * the run that moves the reservation to `reserved` records whose hold it counted on for each SKU
 * (`holders.<sku>` in the reservation). A commit settles only those holds. This is what makes a run
 * that was frozen (a GC pause, a stopped host) between its check of the reservation and its holds
 * harmless: woken after another run of the same command reserved the order, and a commit may have
 * settled it, its holds are not the recorded ones; it gives back exactly those, and a commit run
 * again later does not count them as sold. Should such a run die between a hold and its give-back,
 * nothing redelivers its command: `giveBackStrayHolds`, which every replica runs when it starts
 * and one replica runs every `strayHoldSweepMs`, gives that hold back.
 */

export interface ReservationDoc extends WithReplies {
  _id: string;
  status: 'pending' | 'reserved' | 'rejected' | 'released' | 'committed';
  items: Array<{ sku: string; qty: number }>;
  /** Set when reserved: per SKU, the token of the hold this reservation counts on. */
  holders?: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
}

/** Stock put in place on first start; existing stock is never reset. */
export const defaultCatalog: Record<string, number> = {
  ...Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`SKU-${i + 1}`, 1_000_000])),
  'SKU-OUT': 0,
  // Stocked thinly: the demo sells it down until the restock agent refills it.
  'SKU-10': 120,
};

export const reservations = (db: Db) => db.collection<ReservationDoc>('inventory_reservations');

const orderId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const ReserveData = z.object({
  orderId,
  items: z.array(z.object({ sku: z.string().min(1), qty: z.number().int().positive() })).min(1),
});
const ReleaseData = z.object({ orderId });
const CommitData = z.object({ orderId });

type Item = { sku: string; qty: number };

const EventItem = z.object({ sku: z.string(), qty: z.number().int().positive() });
const refusal = (description: string) =>
  contract(z.object({ orderId: z.string().min(1), reason: z.string() }), { description });

/** What inventory answers with (`inventory.<event>`), each at its current version. */
export const inventoryEvents = {
  reserved: contract(z.object({ orderId: z.string().min(1), items: z.array(EventItem) }), {
    description: "the order's stock is held (same SKUs summed into one line each)",
  }),
  'out-of-stock': contract(
    z.object({
      orderId: z.string().min(1),
      sku: z.string().optional().describe('the first SKU short of stock'),
      requested: z.number().optional(),
      available: z.number().optional(),
      reason: z
        .string()
        .optional()
        .describe('instead of sku/requested/available: the reservation was released or rejected'),
    }),
    { description: 'nothing was reserved' },
  ),
  committed: contract(
    z.object({
      orderId: z.string().min(1),
      items: z.array(EventItem),
      levels: z
        .array(z.object({ sku: z.string(), available: z.number() }))
        .optional()
        .describe("each of the order's SKUs' available stock, read once its holds were settled"),
    }),
    { description: "the order's holds became sold stock" },
  ),
  'commit-refused': refusal('no reservation to commit (none, or released)'),
  released: contract(z.object({ orderId: z.string().min(1) }), {
    description: "the order's holds went back to available stock",
  }),
  'release-refused': refusal('the reservation was committed: its stock is sold, nothing given back'),
  ...receiveEvents,
};

/** Same SKU twice in an order is one hold of the summed quantity. */
function merge(items: Item[]): Item[] {
  const bySku = new Map<string, number>();
  for (const { sku, qty } of items) bySku.set(sku, (bySku.get(sku) ?? 0) + qty);
  return [...bySku].map(([sku, qty]) => ({ sku, qty }));
}

/** What a run found on one SKU after taking holds: held or not, and by which run. */
interface Held {
  ok: boolean;
  available: number;
  /** The token of the run whose hold this is (absent on holds taken before tokens existed). */
  holder?: string;
}

/**
 * Takes every hold of an order in one round trip: one unordered bulk write of conditional
 * updates, one per SKU (an order's SKUs are distinct after `merge`), each tagged with this run's
 * token. When every update moved its document, every hold is this run's; otherwise one read of
 * the SKUs says which ones are held (by this run or an earlier run of the same command: both are
 * success, and the read says whose) and which were refused.
 */
async function holdAll(db: Db, order: string, items: Item[], token: string): Promise<Held[]> {
  const key = `holds.${order}`;
  const tag = `holders.${order}`;
  const res = await stock(db).bulkWrite(
    items.map(({ sku, qty }) => ({
      updateOne: {
        filter: { _id: sku, available: { $gte: qty }, [key]: { $exists: false } },
        update: { $inc: { available: -qty }, $set: { [key]: qty, [tag]: token } },
      },
    })),
    { ordered: false },
  );
  if (res.modifiedCount === items.length)
    return items.map(() => ({ ok: true, available: -1, holder: token }));
  const docs = await skuDocs(db, items, { available: 1, [key]: 1, [tag]: 1 });
  return items.map(({ sku }) => {
    const doc = docs.get(sku);
    const holder = doc?.holders?.[order];
    return {
      ok: doc?.holds?.[order] !== undefined,
      available: doc?.available ?? 0,
      ...(holder === undefined ? {} : { holder }),
    };
  });
}

/** The SKU documents of these items, by id (a missing SKU is absent). */
async function skuDocs(db: Db, items: Item[], projection: Record<string, 1>): Promise<Map<string, StockDoc>> {
  const docs = await stock(db)
    .find({ _id: { $in: items.map((i) => i.sku) } }, { projection })
    .toArray();
  return new Map(docs.map((d) => [d._id, d]));
}

/**
 * The update that gives one hold of `order` on `sku` back to `available`, and only that hold: its
 * quantity is in the filter, and so is its run's token when `holder` is given (`null`: a hold that
 * has none). A give-back run twice, or racing another, moves the stock once.
 */
function giveBack(
  sku: string,
  order: string,
  qty: number,
  holder?: string | null,
): AnyBulkWriteOperation<StockDoc> {
  const key = `holds.${order}`;
  const tag = `holders.${order}`;
  const whose = holder === undefined ? {} : { [tag]: holder ?? { $exists: false } };
  return {
    updateOne: {
      filter: { _id: sku, [key]: qty, ...whose },
      update: { $inc: { available: qty }, $unset: { [key]: '' as const, [tag]: '' as const } },
    },
  };
}

/**
 * Gives back whatever holds this order has on these SKUs, whoever took them (for a reservation
 * that is released or rejected, or never held: nothing of it may stay held): one read for the held
 * quantities, then one bulk write. The hold itself is in each update's filter, so a concurrent or
 * repeated release adds stock once.
 */
async function unholdAll(db: Db, order: string, items: Item[]): Promise<void> {
  if (items.length === 0) return;
  const docs = await skuDocs(db, items, { [`holds.${order}`]: 1 });
  const ops = [...docs.values()].flatMap((doc) => {
    const qty = doc.holds?.[order];
    return qty === undefined ? [] : [giveBack(doc._id, order, qty)];
  });
  if (ops.length > 0) await stock(db).bulkWrite(ops, { ordered: false });
}

/**
 * Gives back the holds this run took that the reservation does not count on: a run that lost the
 * reservation to another run of its command took them (woken from a pause) after the holds that
 * count were settled or given back. The token is in each filter, so the holds that count, and
 * those of any other run, stay where they are. No read: this run knows its token and quantities.
 */
async function unholdStray(
  db: Db,
  order: string,
  items: Item[],
  token: string,
  counted: Record<string, string> | undefined,
): Promise<void> {
  const stray = items.filter(({ sku }) => counted?.[sku] !== token);
  if (stray.length === 0) return;
  await stock(db).bulkWrite(
    stray.map(({ sku, qty }) => giveBack(sku, order, qty, token)),
    { ordered: false },
  );
}

/**
 * The holds become sold stock, in one bulk write: out of the documents, into `committed`;
 * `available` stays as it is. The hold itself, and whose it is, are in each filter, so a
 * concurrent or repeated commit counts it once. No read first: the reservation's items are the
 * very quantities its holds were taken with.
 */
async function settleAll(db: Db, order: string, reservation: ReservationDoc): Promise<void> {
  const { items, holders } = reservation;
  if (items.length === 0) return;
  const key = `holds.${order}`;
  const tag = `holders.${order}`;
  await stock(db).bulkWrite(
    items.map(({ sku, qty }) => {
      // Only the hold the reservation counts on: a stray one taken by a woken run is not sold.
      // A reservation from before tokens counts on whatever hold is there.
      const holder = holders === undefined ? {} : { [tag]: holders[sku] ?? { $exists: false } };
      return {
        updateOne: {
          filter: { _id: sku, [key]: qty, ...holder },
          update: { $inc: { committed: qty }, $unset: { [key]: '' as const, [tag]: '' as const } },
        },
      };
    }),
    { ordered: false },
  );
}

type Ctx = Pick<CommandContext, 'commandId' | 'sagaId' | 'replyPath'>;

/**
 * `beforeHolds` runs between the check of the reservation and the holds: where a frozen run
 * stands when another run of the same command overtakes it (a test stops a run there).
 */
export async function reserve(
  db: Db,
  data: z.output<typeof ReserveData>,
  ctx: Ctx,
  beforeHolds?: () => Promise<void>,
): Promise<Reply> {
  const items = merge(data.items);
  const now = new Date();
  try {
    await reservations(db).insertOne({
      _id: data.orderId,
      status: 'pending',
      items,
      createdAt: now,
      updatedAt: now,
    });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const existing = await reservations(db).findOne({ _id: data.orderId });
    // Moved by this command already: its reply (nothing to finish: the holds were taken before it).
    const mine = storedReply(existing, ctx);
    if (mine) return mine;
    // Committed: this order's stock was taken and sold; it is not taken again.
    if (existing?.status === 'reserved' || existing?.status === 'committed')
      return { type: 'reserved', data: { orderId: data.orderId, items } };
    if (existing?.status === 'released' || existing?.status === 'rejected') {
      // Nothing may stay held for it: a run that crashed after a late hold left one.
      await unholdAll(db, data.orderId, existing.items.length > 0 ? existing.items : items);
      return {
        type: 'out-of-stock',
        data: { orderId: data.orderId, reason: `reservation ${existing.status}` },
      };
    }
    // 'pending': an earlier run crashed midway; finish it (holds are idempotent).
  }
  await beforeHolds?.();
  // One SKU document each: the holds are independent, so they are taken in one bulk write (a
  // round trip per order instead of one per SKU); any refused one gives all of them back.
  const token = randomUUID();
  const held = await holdAll(db, data.orderId, items, token);
  const refused = held.findIndex((r) => !r.ok);
  if (refused >= 0) {
    const item = items[refused]!;
    const answer = {
      type: 'out-of-stock',
      data: {
        orderId: data.orderId,
        sku: item.sku,
        requested: item.qty,
        available: held[refused]!.available,
      },
    };
    // Decided first, then given back: a run that reserves the order meanwhile keeps its holds.
    const value = replyToStore(answer, ctx);
    const rejected = await reservations(db).updateOne(
      { _id: data.orderId, status: 'pending' },
      { $set: { status: 'rejected', updatedAt: new Date(), [ctx.replyPath]: value } },
    );
    if (rejected.modifiedCount === 1) {
      await unholdAll(db, data.orderId, items);
      return asStored(value);
    }
    // Moved meanwhile: by another run of this command (its reply), or by a release (unstored).
    return settleLoser(db, data.orderId, items, token, ctx);
  }
  const counted: Record<string, string> = {};
  items.forEach(({ sku }, i) => {
    const holder = held[i]!.holder;
    if (holder !== undefined) counted[sku] = holder;
  });
  const value = replyToStore({ type: 'reserved', data: { orderId: data.orderId, items } }, ctx);
  const done = await reservations(db).updateOne(
    { _id: data.orderId, status: 'pending' },
    {
      $set: { status: 'reserved', updatedAt: new Date(), holders: counted, [ctx.replyPath]: value },
    },
  );
  if (done.matchedCount === 0) return settleLoser(db, data.orderId, items, token, ctx);
  return asStored(value);
}

/**
 * A run of `reserve` that took holds and then found the reservation decided by someone else:
 * reserved or committed by another run of the command (this run gives back the holds of its own
 * that the reservation does not count on, a commit may be settling the others right now), or
 * released or rejected (nothing of the order may stay held). It answers what the command answered
 * first when that is stored, else what the reservation says.
 */
async function settleLoser(db: Db, order: string, items: Item[], token: string, ctx: Ctx): Promise<Reply> {
  const current = await reservations(db).findOne({ _id: order });
  const mine = storedReply(current, ctx);
  if (current?.status === 'reserved' || current?.status === 'committed') {
    await unholdStray(db, order, items, token, current.holders);
    return mine ?? { type: 'reserved', data: { orderId: order, items } };
  }
  await unholdAll(db, order, items);
  return (
    mine ?? {
      type: 'out-of-stock',
      data: { orderId: order, reason: `reservation ${current?.status ?? 'released'}` },
    }
  );
}

/**
 * Marking it committed first stops a release from giving this stock back; a run that finds it
 * committed already (a crash midway, a resend) settles whatever holds are left. One conditional
 * update marks it committed and keeps the reply, only where no reply of this command is yet: a
 * later run of it (also after the holds were settled) finds that reply and answers it, the very
 * first one. The reply's items are the reservation's, which never change once it exists: they are
 * added to the stored reply from the document on every run rather than read before the update.
 */
async function commit(db: Db, data: z.output<typeof CommitData>, log: Logger, ctx: Ctx): Promise<Reply> {
  const value = replyToStore({ type: 'committed', data: { orderId: data.orderId } }, ctx);
  const doc = await reservations(db).findOneAndUpdate(
    { _id: data.orderId, status: { $in: ['reserved', 'committed'] }, [ctx.replyPath]: { $exists: false } },
    { $set: { status: 'committed', updatedAt: new Date(), [ctx.replyPath]: value } },
    { returnDocument: 'after' },
  );
  if (doc) {
    await settleAll(db, data.orderId, doc);
    return withItems(asStored(value), doc, await levelsOf(db, doc.items));
  }
  // Answered before (a copy, a crash after the update), or not reserved.
  const existing = await reservations(db).findOne({ _id: data.orderId });
  const mine = storedReply(existing, ctx);
  if (existing && mine) {
    if (mine.type !== 'committed') return mine;
    await settleAll(db, data.orderId, existing);
    return withItems(mine, existing, await levelsOf(db, existing.items));
  }
  // A reply stored meanwhile by a concurrent run is found by the next attempt.
  if (existing?.status === 'reserved' || existing?.status === 'committed')
    throw new TransientError(`commit of ${data.orderId}: the reservation moved meanwhile; retried`);
  const reason = existing ? `reservation ${existing.status}` : 'no reservation';
  log.warn({ orderId: data.orderId, reason }, 'commit refused');
  return { type: 'commit-refused', data: { orderId: data.orderId, reason } };
}

/**
 * A `committed` reply with the reservation's items and the SKUs' stock levels (in place: a
 * read-back reply stays one). The levels are a reading taken when the reply is made, not part of
 * the stored reply: what stock-watching consumers (the restock agent) need, for one read of the
 * order's SKU documents, rather than a read of inventory's collections by another service.
 */
function withItems(
  reply: Reply,
  doc: ReservationDoc,
  levels: Array<{ sku: string; available: number }>,
): Reply {
  reply.data = { ...reply.data, items: doc.items, levels };
  return reply;
}

/** The available stock of these items' SKUs, in the items' order (a missing SKU is left out). */
async function levelsOf(db: Db, items: Item[]): Promise<Array<{ sku: string; available: number }>> {
  if (items.length === 0) return [];
  const docs = await skuDocs(db, items, { available: 1 });
  return items.flatMap(({ sku }) => {
    const doc = docs.get(sku);
    return doc ? [{ sku, available: doc.available }] : [];
  });
}

async function release(db: Db, data: z.output<typeof ReleaseData>, ctx: Ctx): Promise<Reply> {
  // Marking it released first also stops a late reserve for the same order; a committed one
  // is not released (its stock is sold), and an unknown one is recorded released. The update
  // carries the reply, only where this command has none yet: a later run meets the document (a
  // duplicate key), answers that reply and gives back the holds still there (none, unless a run
  // crashed before it gave them back).
  for (let attempt = 1; ; attempt++) {
    try {
      const value = replyToStore({ type: 'released', data: { orderId: data.orderId } }, ctx);
      const doc = await reservations(db).findOneAndUpdate(
        { _id: data.orderId, status: { $ne: 'committed' }, [ctx.replyPath]: { $exists: false } },
        {
          $set: { status: 'released', updatedAt: new Date(), [ctx.replyPath]: value },
          $setOnInsert: { items: [], createdAt: new Date() },
        },
        { upsert: true, returnDocument: 'after' },
      );
      await unholdAll(db, data.orderId, doc?.items ?? []);
      return asStored(value);
    } catch (err) {
      // The upsert met an existing document: this command's reply is there, or it is a committed
      // one, or one a reserve inserted meanwhile (then the next attempt updates it).
      if (!isDuplicateKey(err) || attempt >= 3) throw err;
      const existing = await reservations(db).findOne({ _id: data.orderId });
      const mine = storedReply(existing, ctx);
      if (existing && mine) {
        await unholdAll(db, data.orderId, existing.items);
        return mine;
      }
      if (existing?.status === 'committed') {
        return { type: 'release-refused', data: { orderId: data.orderId, reason: 'reservation committed' } };
      }
    }
  }
}

/**
 * Gives back the holds no run will settle or give back any more, and returns how many. A run of
 * `reserve` that lost its reservation gives back the holds it took itself (`settleLoser`); but a
 * run frozen past the ack wait, whose command the other replica finished, may take a fresh hold
 * after the order settled and then die (or lose the store) before giving it back, and nothing
 * redelivers that command. Such a hold belongs to a decided reservation: released or rejected, or
 * committed counting another run's token. Holds of reservations still pending or reserved, and the
 * counted hold of a committed one (its commit may be settling it now), stay. Each give-back has the
 * hold and its token in its filter, so it races safely with the run's own and with a release.
 */
export async function giveBackStrayHolds(db: Db): Promise<number> {
  const docs = await stock(db)
    .find({}, { projection: { holds: 1, holders: 1 } })
    .toArray();
  const held = docs.flatMap((doc) =>
    Object.entries(doc.holds ?? {}).map(([order, qty]) => ({
      sku: doc._id,
      order,
      qty,
      token: doc.holders?.[order],
    })),
  );
  if (held.length === 0) return 0;
  const decided = new Map(
    (
      await reservations(db)
        .find(
          { _id: { $in: [...new Set(held.map((h) => h.order))] } },
          { projection: { status: 1, holders: 1 } },
        )
        .toArray()
    ).map((r) => [r._id, r]),
  );
  const stray = held.filter(({ sku, order, token }) => {
    const r = decided.get(order);
    if (r?.status === 'released' || r?.status === 'rejected') return true;
    return (
      r?.status === 'committed' && r.holders !== undefined && token !== undefined && r.holders[sku] !== token
    );
  });
  if (stray.length === 0) return 0;
  const res = await stock(db).bulkWrite(
    stray.map(({ sku, order, qty, token }) => giveBack(sku, order, qty, token ?? null)),
    { ordered: false },
  );
  return res.modifiedCount;
}

/**
 * How often one replica looks for stray holds. A stray is rare (a frozen run that then died) and
 * holds back only its own units; a replica that starts gives back at once, so this bounds how long
 * one stays while every replica keeps running. Each sweep reads every SKU's holds.
 */
export const strayHoldSweepMs = 5 * 60_000;

export const inventory = defineParticipant({
  name: 'inventory',
  events: inventoryEvents,
  async setup(db) {
    for (const [sku, qty] of Object.entries(defaultCatalog)) {
      await stock(db).updateOne(
        { _id: sku },
        { $setOnInsert: { available: qty, holds: {}, holders: {} } },
        { upsert: true },
      );
    }
    // A replica that starts puts back what a stale run of a replica that died left held.
    await giveBackStrayHolds(db);
  },
  schedules: [
    {
      name: 'give-back-stray-holds',
      everyMs: strayHoldSweepMs,
      async run({ db, log }) {
        const given = await giveBackStrayHolds(db);
        if (given > 0) log.warn({ holds: given }, 'gave back stray holds');
      },
    },
  ],
  commands: {
    reserve: command(ReserveData, (data, ctx) => reserve(ctx.db, data, ctx)),
    commit: command(CommitData, (data, ctx) => commit(ctx.db, data, ctx.log, ctx)),
    release: command(ReleaseData, (data, ctx) => release(ctx.db, data, ctx)),
    receive: command(ReceiveData, (data, ctx) => receive(ctx.db, data, ctx)),
  },
});
