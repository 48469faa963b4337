import type { Db } from 'mongodb';
import { z } from 'zod';
import { command, defineParticipant, type Reply } from '../../runtime/participants/index.ts';

/**
 * Inventory: holds stock per SKU. A reservation is a hold keyed by order id inside the
 * SKU's document, taken with one conditional update, so taking or releasing it twice
 * has no effect. Deterministic failure: `SKU-OUT` (and any SKU not in the catalog) has
 * no stock.
 */

export interface StockDoc {
  _id: string;
  available: number;
  /** Live holds: order id -> quantity. */
  holds: Record<string, number>;
}

export interface ReservationDoc {
  _id: string;
  status: 'pending' | 'reserved' | 'rejected' | 'released';
  items: Array<{ sku: string; qty: number }>;
  createdAt: Date;
  updatedAt: Date;
}

/** Stock put in place on first start; existing stock is never reset. */
export const defaultCatalog: Record<string, number> = {
  ...Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`SKU-${i + 1}`, 1_000_000])),
  'SKU-OUT': 0,
};

export const stock = (db: Db) => db.collection<StockDoc>('inventory_stock');
export const reservations = (db: Db) => db.collection<ReservationDoc>('inventory_reservations');

const orderId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const ReserveData = z.object({
  orderId,
  items: z.array(z.object({ sku: z.string().min(1), qty: z.number().int().positive() })).min(1),
});
const ReleaseData = z.object({ orderId });

/** Same SKU twice in an order is one hold of the summed quantity. */
function merge(items: Array<{ sku: string; qty: number }>): Array<{ sku: string; qty: number }> {
  const bySku = new Map<string, number>();
  for (const { sku, qty } of items) bySku.set(sku, (bySku.get(sku) ?? 0) + qty);
  return [...bySku].map(([sku, qty]) => ({ sku, qty }));
}

async function hold(
  db: Db,
  order: string,
  sku: string,
  qty: number,
): Promise<{ ok: boolean; available: number }> {
  const key = `holds.${order}`;
  const res = await stock(db).updateOne(
    { _id: sku, available: { $gte: qty }, [key]: { $exists: false } },
    { $inc: { available: -qty }, $set: { [key]: qty } },
  );
  if (res.modifiedCount === 1) return { ok: true, available: -1 };
  const doc = await stock(db).findOne({ _id: sku });
  // Already held by an earlier run of this very command: that is success.
  if (doc?.holds?.[order] !== undefined) return { ok: true, available: doc.available };
  return { ok: false, available: doc?.available ?? 0 };
}

async function unhold(db: Db, order: string, sku: string): Promise<void> {
  const key = `holds.${order}`;
  const doc = await stock(db).findOne({ _id: sku }, { projection: { [key]: 1 } });
  const qty = doc?.holds?.[order];
  if (qty === undefined) return;
  // The hold itself is in the filter, so a concurrent or repeated release adds stock once.
  await stock(db).updateOne({ _id: sku, [key]: qty }, { $inc: { available: qty }, $unset: { [key]: '' } });
}

async function reserve(db: Db, data: z.output<typeof ReserveData>): Promise<Reply> {
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
    if ((err as { code?: number }).code !== 11000) throw err;
    const existing = await reservations(db).findOne({ _id: data.orderId });
    if (existing?.status === 'reserved') return { type: 'reserved', data: { orderId: data.orderId, items } };
    if (existing?.status === 'released' || existing?.status === 'rejected') {
      return {
        type: 'out-of-stock',
        data: { orderId: data.orderId, reason: `reservation ${existing.status}` },
      };
    }
    // 'pending': an earlier run crashed midway; finish it (holds are idempotent).
  }
  for (const item of items) {
    const r = await hold(db, data.orderId, item.sku, item.qty);
    if (!r.ok) {
      for (const undo of items) await unhold(db, data.orderId, undo.sku);
      await reservations(db).updateOne(
        { _id: data.orderId },
        { $set: { status: 'rejected', updatedAt: new Date() } },
      );
      return {
        type: 'out-of-stock',
        data: { orderId: data.orderId, sku: item.sku, requested: item.qty, available: r.available },
      };
    }
  }
  const done = await reservations(db).updateOne(
    { _id: data.orderId, status: 'pending' },
    { $set: { status: 'reserved', updatedAt: new Date() } },
  );
  if (done.matchedCount === 0) {
    // Released while we were holding: give the stock back.
    for (const undo of items) await unhold(db, data.orderId, undo.sku);
    return { type: 'out-of-stock', data: { orderId: data.orderId, reason: 'reservation released' } };
  }
  return { type: 'reserved', data: { orderId: data.orderId, items } };
}

async function release(db: Db, data: z.output<typeof ReleaseData>): Promise<Reply> {
  // Marking it released first also stops a late reserve for the same order.
  await reservations(db).updateOne(
    { _id: data.orderId },
    {
      $set: { status: 'released', updatedAt: new Date() },
      $setOnInsert: { items: [], createdAt: new Date() },
    },
    { upsert: true },
  );
  const doc = await reservations(db).findOne({ _id: data.orderId });
  for (const item of doc?.items ?? []) await unhold(db, data.orderId, item.sku);
  return { type: 'released', data: { orderId: data.orderId } };
}

export const inventory = defineParticipant({
  name: 'inventory',
  async setup(db) {
    for (const [sku, qty] of Object.entries(defaultCatalog)) {
      await stock(db).updateOne(
        { _id: sku },
        { $setOnInsert: { available: qty, holds: {} } },
        { upsert: true },
      );
    }
  },
  commands: {
    reserve: command(ReserveData, (data, ctx) => reserve(ctx.db, data)),
    release: command(ReleaseData, (data, ctx) => release(ctx.db, data)),
  },
});
