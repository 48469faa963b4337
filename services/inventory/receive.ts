import type { Db } from 'mongodb';
import { z } from 'zod';
import {
  asStored,
  type CommandContext,
  contract,
  isDuplicateKey,
  keepReply,
  type Reply,
  replyKey,
  replyToStore,
  storedReply,
  TransientError,
  type WithReplies,
} from 'jetsaga';
import { stock } from './stock.ts';

/**
 * `inventory.receive`: goods that arrived (a purchase order delivered) become available stock,
 * once per receipt, however often the command runs and however many runs race.
 *
 * Two documents move: the receipt (one per purchase order, in `inventory_receipts`, which keeps
 * the reply) and the SKU's stock document. Without a transaction across them, a run can crash
 * between the two writes, and a run frozen after its reads can wake after another run did it all.
 * So the stock update is keyed twice:
 *
 * - on `received`, the SKU's running total of units received (it only grows: each receipt adds a
 *   positive quantity). A run adds its quantity only where `received` is still the value it read,
 *   and it read the stock BEFORE it saw the receipt pending: a receipt applied before that read is
 *   marked on the stock (below), one applied after it moved `received`. A stale run's update
 *   therefore matches nothing, and it reads again.
 * - on `receipts.<receiptId>`, a marker set by the same update that adds the stock, and removed
 *   once the receipt is marked `applied`. While the receipt is `pending` the marker says "already
 *   added": a run that crashed after the stock update is finished by marking the receipt.
 *
 * The stock document keeps no per-receipt record: a marker lives only between the two writes of
 * one receipt (a crash may leave one until the command's next run clears it). Per SKU,
 * `available + holds + committed == initial + received`, and `received` is the sum of the applied
 * receipts (plus those whose marker is on the document, applied but not yet marked).
 */

export interface ReceiptDoc extends WithReplies {
  _id: string;
  /** `refused` (an unknown SKU) is final too: a receipt's answer never changes. */
  status: 'pending' | 'applied' | 'refused';
  sku: string;
  qty: number;
  createdAt: Date;
  updatedAt: Date;
}

export const receipts = (db: Db) => db.collection<ReceiptDoc>('inventory_receipts');

export const ReceiveData = z.object({
  receiptId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  sku: z.string().min(1),
  qty: z.number().int().positive(),
});

export const receiveEvents = {
  received: contract(
    z.object({ receiptId: z.string().min(1), sku: z.string(), qty: z.number().int().positive() }),
    { description: "the receipt's goods are available stock (added once per receipt)" },
  ),
  'receive-refused': contract(z.object({ receiptId: z.string().min(1), reason: z.string() }), {
    description: 'nothing received: an unknown SKU, or the receipt id was used for other goods',
  }),
};

type Ctx = Pick<CommandContext, 'commandId' | 'sagaId' | 'replyPath'>;

/** Reads again when another receipt of the same SKU moved `received` meanwhile, this many times. */
const maxRounds = 20;

/**
 * `beforeApply` runs after the reads and before the stock update: where a frozen run stands when
 * another run of the same receipt overtakes it (a test stops a run there).
 */
export async function receive(
  db: Db,
  data: z.output<typeof ReceiveData>,
  ctx: Ctx,
  beforeApply?: () => Promise<void>,
): Promise<Reply> {
  const { receiptId, sku, qty } = data;
  const marker = `receipts.${receiptId}`;
  for (let round = 1; round <= maxRounds; round++) {
    // The stock first, then the receipt: the order the header's argument rests on.
    const doc = await stock(db).findOne({ _id: sku }, { projection: { received: 1, [marker]: 1 } });
    const receipt = await receipts(db).findOne({ _id: receiptId });
    if (!receipt) {
      const now = new Date();
      if (!doc) {
        // Refused for good, in a document: a later run answers the same, whatever it finds.
        const value = replyToStore(
          { type: 'receive-refused', data: { receiptId, reason: `unknown SKU ${sku}` } },
          ctx,
        );
        const inserted = await insertReceipt(db, {
          _id: receiptId,
          status: 'refused',
          sku,
          qty,
          createdAt: now,
          updatedAt: now,
          replies: { [replyKey(ctx.commandId)]: value },
        });
        if (inserted) return asStored(value);
      } else {
        await insertReceipt(db, {
          _id: receiptId,
          status: 'pending',
          sku,
          qty,
          createdAt: now,
          updatedAt: now,
        });
      }
      continue;
    }
    const mine = storedReply(receipt, ctx);
    if (mine) {
      if (doc?.receipts?.[receiptId] !== undefined) await clearMarker(db, receipt);
      return mine;
    }
    if (receipt.sku !== sku || receipt.qty !== qty) {
      const reason = `receipt ${receiptId} is for ${receipt.qty} x ${receipt.sku}`;
      return keepReply(
        receipts(db),
        receiptId,
        { type: 'receive-refused', data: { receiptId, reason } },
        ctx,
      );
    }
    if (receipt.status === 'refused') return keepReply(receipts(db), receiptId, refusedReply(receipt), ctx);
    if (receipt.status === 'applied') {
      if (doc?.receipts?.[receiptId] !== undefined) await clearMarker(db, receipt);
      return keepReply(receipts(db), receiptId, receivedReply(receipt), ctx);
    }
    // Pending. Not yet added to the stock (no marker): add it, keyed on the total read.
    if (!doc || doc.receipts?.[receiptId] === undefined) {
      await beforeApply?.();
      const added = await stock(db).updateOne(
        {
          _id: sku,
          received: doc?.received ?? { $exists: false },
          [marker]: { $exists: false },
        },
        { $inc: { available: qty, received: qty }, $set: { [marker]: qty } },
      );
      // Another receipt of this SKU, or another run of this one, moved it: read both again.
      if (added.matchedCount === 0) continue;
    }
    const value = replyToStore(receivedReply(receipt), ctx);
    const applied = await receipts(db).updateOne(
      { _id: receiptId, status: 'pending' },
      { $set: { status: 'applied', updatedAt: new Date(), [ctx.replyPath]: value } },
    );
    // Marked by another run meanwhile: the next round answers from the receipt.
    if (applied.modifiedCount === 0) continue;
    await clearMarker(db, receipt);
    return asStored(value);
  }
  throw new TransientError(`receive ${receiptId}: ${sku} kept moving under it; retried`);
}

const receivedReply = (r: ReceiptDoc) => ({
  type: 'received',
  data: { receiptId: r._id, sku: r.sku, qty: r.qty },
});

const refusedReply = (r: ReceiptDoc) => ({
  type: 'receive-refused',
  data: { receiptId: r._id, reason: `unknown SKU ${r.sku}` },
});

/** False when the receipt exists already (another run inserted it): the caller reads it. */
async function insertReceipt(db: Db, doc: ReceiptDoc): Promise<boolean> {
  try {
    await receipts(db).insertOne(doc);
    return true;
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    return false;
  }
}

/** The receipt is marked applied: its marker has said all it had to, and leaves the stock document. */
async function clearMarker(db: Db, receipt: ReceiptDoc): Promise<void> {
  const marker = `receipts.${receipt._id}`;
  await stock(db).updateOne({ _id: receipt.sku, [marker]: { $exists: true } }, { $unset: { [marker]: '' } });
}
