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
 * Suppliers: the purchase orders a restock saga places, one document each in `purchase_orders`,
 * keyed by purchase order id. A participant only answers commands, so delivery is asked for:
 * once the order is confirmed the saga sends `deliver`, and the supplier answers
 * `order-delivered` when the goods are at the dock. The saga waits for that under a durable
 * timer of the lead time; a supplier that answers `delivery-delayed` (or nothing) is late when
 * it fires, and the saga cancels the order.
 *
 * Deterministic failures, for demos and tests:
 * - SKU `SKU-REFUSED` is refused (`order-refused`: the supplier does not carry it), and so is an
 *   order of more than 100,000 units (over the supplier's limit);
 * - a supplier whose id starts with `late-` confirms every order, then answers every `deliver`
 *   with `delivery-delayed`: the saga's lead time runs out.
 *
 * Replies are kept in the purchase order (`replies.<commandId>`, see `replyToStore`), written by
 * the insert that places it, the update that delivers it or the upsert that cancels it. A refusal
 * decided by the command's own data and a delay (nothing moves) are answered unstored: no run of
 * those commands ever stores. A cancel that overtakes its place-order leaves a tombstone the
 * place-order respects (it answers `order-refused`).
 */

export interface PurchaseOrderDoc extends WithReplies {
  _id: string;
  status: 'confirmed' | 'delivered' | 'cancelled';
  supplier: string | null;
  sku: string | null;
  qty: number;
  unitCost: number;
  /** When the goods reached the dock; kept on a cancelled order: they go back to the supplier. */
  deliveredAt?: Date;
  updatedAt: Date;
}

export const refusedSkus = new Set(['SKU-REFUSED']);
export const maxOrderQty = 100_000;
/** Suppliers that never deliver within a lead time: the id says so, so tests and demos can choose. */
export const isLateSupplier = (supplier: string) => supplier.startsWith('late-');

export const purchaseOrders = (db: Db) => db.collection<PurchaseOrderDoc>('purchase_orders');

const purchaseOrderId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const PlaceData = z.object({
  purchaseOrderId,
  supplier: z.string().min(1).max(64),
  sku: z.string().min(1).max(64),
  qty: z.number().int().positive(),
  unitCost: z.number().nonnegative(),
});
const ByOrder = z.object({ purchaseOrderId });

const Refusal = z.object({ purchaseOrderId: z.string().min(1), reason: z.string() });

/** What suppliers answer with (`suppliers.<event>`). */
export const suppliersEvents = {
  'order-confirmed': contract(
    z.object({
      purchaseOrderId: z.string().min(1),
      supplier: z.string(),
      sku: z.string(),
      qty: z.number().int().positive(),
    }),
    { description: 'the supplier accepted the purchase order' },
  ),
  'order-refused': contract(Refusal, {
    description:
      'no purchase order: the SKU is not supplied, the quantity is over the limit, or it was cancelled first',
  }),
  'order-delivered': contract(
    z.object({ purchaseOrderId: z.string().min(1), sku: z.string(), qty: z.number().int().positive() }),
    { description: "the order's goods are at the dock, to be received into inventory" },
  ),
  'delivery-delayed': contract(Refusal, {
    description: 'not delivered yet: the saga waits until its lead time runs out',
  }),
  'delivery-refused': contract(Refusal, {
    description: 'nothing to deliver: the order was cancelled or never placed',
  }),
  'order-cancelled': contract(z.object({ purchaseOrderId: z.string().min(1) }), {
    description: 'the purchase order is cancelled (or a tombstone stops a later place-order)',
  }),
};

type Ctx = Pick<CommandContext, 'commandId' | 'sagaId' | 'replyPath'>;

async function place(db: Db, d: z.output<typeof PlaceData>, ctx: Ctx): Promise<Reply> {
  const refused = (reason: string) => ({
    type: 'order-refused',
    data: { purchaseOrderId: d.purchaseOrderId, reason },
  });
  if (refusedSkus.has(d.sku)) return refused(`${d.supplier} does not supply ${d.sku}`);
  if (d.qty > maxOrderQty) return refused(`over ${d.supplier}'s limit of ${maxOrderQty} units`);
  const confirmed = {
    type: 'order-confirmed',
    data: { purchaseOrderId: d.purchaseOrderId, supplier: d.supplier, sku: d.sku, qty: d.qty },
  };
  const value = replyToStore(confirmed, ctx);
  try {
    await purchaseOrders(db).insertOne({
      _id: d.purchaseOrderId,
      status: 'confirmed',
      supplier: d.supplier,
      sku: d.sku,
      qty: d.qty,
      unitCost: d.unitCost,
      updatedAt: new Date(),
      replies: { [replyKey(ctx.commandId)]: value },
    });
    return asStored(value);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  // It exists already: placed by an earlier run of this command (its reply), by another one, or
  // cancelled before it.
  const po = await purchaseOrders(db).findOne({ _id: d.purchaseOrderId });
  const mine = storedReply(po, ctx);
  if (mine) return mine;
  if (po?.status === 'cancelled') return refused('order cancelled');
  // One purchase order id, one order: the same id for other goods is not that order confirmed.
  if (po && (po.sku !== d.sku || po.qty !== d.qty || po.supplier !== d.supplier))
    return refused(`purchase order ${d.purchaseOrderId} is for ${po.qty} x ${po.sku} from ${po.supplier}`);
  return confirmed;
}

async function deliver(db: Db, d: z.output<typeof ByOrder>, ctx: Ctx): Promise<Reply> {
  const po = await purchaseOrders(db).findOne({ _id: d.purchaseOrderId });
  const mine = storedReply(po, ctx);
  if (mine) return mine;
  const refused = (reason: string) => ({
    type: 'delivery-refused',
    data: { purchaseOrderId: d.purchaseOrderId, reason },
  });
  if (!po || po.sku === null || po.supplier === null) return refused('no such order');
  if (po.status === 'cancelled') return refused('order cancelled');
  if (isLateSupplier(po.supplier))
    return {
      type: 'delivery-delayed',
      data: { purchaseOrderId: d.purchaseOrderId, reason: `${po.supplier} is behind schedule` },
    };
  const value = replyToStore(
    { type: 'order-delivered', data: { purchaseOrderId: d.purchaseOrderId, sku: po.sku, qty: po.qty } },
    ctx,
  );
  const done = await purchaseOrders(db).updateOne(
    {
      _id: d.purchaseOrderId,
      status: { $in: ['confirmed', 'delivered'] },
      [ctx.replyPath]: { $exists: false },
    },
    {
      $set: { status: 'delivered', updatedAt: new Date(), [ctx.replyPath]: value },
      $min: { deliveredAt: new Date() },
    },
  );
  if (done.modifiedCount === 1) return asStored(value);
  // Moved meanwhile: delivered by another run of this command (its reply), or cancelled (final).
  const now = await purchaseOrders(db).findOne({ _id: d.purchaseOrderId });
  return storedReply(now, ctx) ?? refused('order cancelled');
}

async function cancel(db: Db, d: z.output<typeof ByOrder>, ctx: Ctx): Promise<Reply> {
  // A cancel that overtakes its place-order leaves a tombstone the place-order respects.
  return upsertWithReply(
    purchaseOrders(db),
    d.purchaseOrderId,
    {
      set: { status: 'cancelled', updatedAt: new Date() },
      insert: { supplier: null, sku: null, qty: 0, unitCost: 0 },
    },
    { type: 'order-cancelled', data: { purchaseOrderId: d.purchaseOrderId } },
    ctx,
  );
}

export const suppliers = defineParticipant({
  name: 'suppliers',
  events: suppliersEvents,
  commands: {
    'place-order': command(PlaceData, (d, ctx) => place(ctx.db, d, ctx)),
    deliver: command(ByOrder, (d, ctx) => deliver(ctx.db, d, ctx)),
    'cancel-order': command(ByOrder, (d, ctx) => cancel(ctx.db, d, ctx)),
  },
});
