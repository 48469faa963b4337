import { createHash } from 'node:crypto';
import type { Db } from 'mongodb';
import { z } from 'zod';
import { command, defineParticipant, isDuplicateKey, type Reply } from 'jetsaga';

/**
 * Shipping: one shipment per order, keyed by order id. Deterministic failure: no carrier
 * serves Antarctica, so a shipping address in country `AQ` answers `unavailable`.
 */

export interface ShipmentDoc {
  _id: string;
  status: 'created' | 'cancelled';
  trackingNumber: string | null;
  country: string | null;
  items: Array<{ sku: string; qty: number }>;
  updatedAt: Date;
}

export const unservedCountries = new Set(['AQ']);
export const shipments = (db: Db) => db.collection<ShipmentDoc>('shipments');

const orderId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const CreateData = z.object({
  orderId,
  items: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })),
  address: z.object({ country: z.string().length(2) }).passthrough(),
});
const ByOrder = z.object({ orderId });

const tracking = (order: string) =>
  `TRK${createHash('sha256').update(order).digest('hex').slice(0, 12).toUpperCase()}`;

async function create(db: Db, d: z.output<typeof CreateData>): Promise<Reply> {
  if (unservedCountries.has(d.address.country)) {
    return {
      type: 'unavailable',
      data: { orderId: d.orderId, reason: `no carrier serves ${d.address.country}` },
    };
  }
  const doc: ShipmentDoc = {
    _id: d.orderId,
    status: 'created',
    trackingNumber: tracking(d.orderId),
    country: d.address.country,
    items: d.items,
    updatedAt: new Date(),
  };
  try {
    await shipments(db).insertOne(doc);
    return { type: 'shipment-created', data: { orderId: d.orderId, trackingNumber: doc.trackingNumber } };
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  // It exists already: created by an earlier run of this step, or cancelled before it.
  const s = await shipments(db).findOne({ _id: d.orderId });
  if (s?.status === 'created')
    return { type: 'shipment-created', data: { orderId: d.orderId, trackingNumber: s.trackingNumber } };
  return { type: 'unavailable', data: { orderId: d.orderId, reason: 'shipment cancelled' } };
}

async function cancel(db: Db, d: z.output<typeof ByOrder>): Promise<Reply> {
  // Upsert: a cancel that overtakes its create leaves a tombstone the create respects.
  await shipments(db).updateOne(
    { _id: d.orderId },
    {
      $set: { status: 'cancelled', updatedAt: new Date() },
      $setOnInsert: { trackingNumber: null, country: null, items: [] },
    },
    { upsert: true },
  );
  return { type: 'shipment-cancelled', data: { orderId: d.orderId } };
}

export const shipping = defineParticipant({
  name: 'shipping',
  commands: {
    'create-shipment': command(CreateData, (d, ctx) => create(ctx.db, d)),
    'cancel-shipment': command(ByOrder, (d, ctx) => cancel(ctx.db, d)),
  },
});
