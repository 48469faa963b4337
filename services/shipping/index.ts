import { createHash } from 'node:crypto';
import type { Db } from 'mongodb';
import { z } from 'zod';
import {
  asStored,
  type CommandContext,
  command,
  contract,
  defineParticipant,
  isDuplicateKey,
  type Reply,
  replyKey,
  replyToStore,
  storedReply,
  upsertWithReply,
  type WithReplies,
} from 'jetsaga';

/**
 * Shipping: one shipment per order, keyed by order id. Deterministic failure: no carrier
 * serves Antarctica, so a shipping address in country `AQ` answers `unavailable`.
 *
 * Replies are kept in the shipment (`replies.<commandId>`, see `replyToStore`), written by the
 * insert that creates it or the upsert that cancels it: the host records nothing. A later run of the
 * command finds that reply and answers it unchanged. An `unavailable` without a shipment (AQ: decided
 * by the command's own data, the same on every run) and a create that meets a shipment another
 * command made are answered unstored, recorded by the host as before. services/shipping-py does the
 * same, with the same documents.
 */

export interface ShipmentDoc extends WithReplies {
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

/** What shipping answers with (`shipping.<event>`), each at its current version (services/shipping-py too). */
export const shippingEvents = {
  'shipment-created': contract(
    z.object({ orderId: z.string().min(1), trackingNumber: z.string().nullable() }),
    { description: 'the shipment exists' },
  ),
  unavailable: contract(z.object({ orderId: z.string().min(1), reason: z.string() }), {
    description: 'no shipment: no carrier serves the country, or it was cancelled first',
  }),
  'shipment-cancelled': contract(z.object({ orderId: z.string().min(1) }), {
    description: 'the shipment is cancelled (or a tombstone stops a later create)',
  }),
};

const tracking = (order: string) =>
  `TRK${createHash('sha256').update(order).digest('hex').slice(0, 12).toUpperCase()}`;

type Ctx = Pick<CommandContext, 'commandId' | 'sagaId' | 'replyPath'>;

async function create(db: Db, d: z.output<typeof CreateData>, ctx: Ctx): Promise<Reply> {
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
  const value = replyToStore(
    { type: 'shipment-created', data: { orderId: d.orderId, trackingNumber: doc.trackingNumber } },
    ctx,
  );
  try {
    await shipments(db).insertOne({ ...doc, replies: { [replyKey(ctx.commandId)]: value } });
    return asStored(value);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  // It exists already: created by an earlier run of this command (its reply), by another one, or
  // cancelled before it.
  const s = await shipments(db).findOne({ _id: d.orderId });
  const mine = storedReply(s, ctx);
  if (mine) return mine;
  if (s?.status === 'created')
    return { type: 'shipment-created', data: { orderId: d.orderId, trackingNumber: s.trackingNumber } };
  return { type: 'unavailable', data: { orderId: d.orderId, reason: 'shipment cancelled' } };
}

async function cancel(db: Db, d: z.output<typeof ByOrder>, ctx: Ctx): Promise<Reply> {
  // A cancel that overtakes its create leaves a tombstone the create respects.
  return upsertWithReply(
    shipments(db),
    d.orderId,
    {
      set: { status: 'cancelled', updatedAt: new Date() },
      insert: { trackingNumber: null, country: null, items: [] },
    },
    { type: 'shipment-cancelled', data: { orderId: d.orderId } },
    ctx,
  );
}

export const shipping = defineParticipant({
  name: 'shipping',
  events: shippingEvents,
  commands: {
    'create-shipment': command(CreateData, (d, ctx) => create(ctx.db, d, ctx)),
    'cancel-shipment': command(ByOrder, (d, ctx) => cancel(ctx.db, d, ctx)),
  },
});
