import type { Db } from 'mongodb';
import { z } from 'zod';
import { command, defineParticipant, type Reply } from '../../runtime/participants/index.ts';

/**
 * Payment: one payment per order, keyed by order id, moved through its states with
 * conditional updates so every command is idempotent. Deterministic test tokens:
 * - `tok_declined`: authorization declined (`card-declined`);
 * - `tok_capture_fails`: authorizes, capture fails (`insufficient-funds`);
 * - any amount over 50,000 is declined (`amount-over-limit`);
 * - any other token is approved.
 * Undoing is safe in any state: void or refund of an unknown payment leaves a tombstone
 * that makes a late authorization decline.
 */

export type PaymentStatus = 'authorized' | 'declined' | 'captured' | 'voided' | 'refunded';

export interface PaymentDoc {
  _id: string;
  status: PaymentStatus;
  customerId: string | null;
  amount: number;
  currency: string;
  token: string | null;
  paymentId: string;
  reason: string | null;
  capturedAmount: number;
  updatedAt: Date;
}

export const paymentLimit = 50_000;
export const payments = (db: Db) => db.collection<PaymentDoc>('payments');

const orderId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const AuthorizeData = z.object({
  orderId,
  customerId: z.string(),
  amount: z.number().nonnegative(),
  currency: z.string().length(3),
  token: z.string().min(1),
});
const ByOrder = z.object({ orderId });

const isDup = (err: unknown) => (err as { code?: number }).code === 11000;

async function authorize(db: Db, d: z.output<typeof AuthorizeData>): Promise<Reply> {
  const reason =
    d.token === 'tok_declined' ? 'card-declined' : d.amount > paymentLimit ? 'amount-over-limit' : null;
  const doc: PaymentDoc = {
    _id: d.orderId,
    status: reason ? 'declined' : 'authorized',
    customerId: d.customerId,
    amount: d.amount,
    currency: d.currency,
    token: d.token,
    paymentId: `pay_${d.orderId}`,
    reason,
    capturedAmount: 0,
    updatedAt: new Date(),
  };
  try {
    await payments(db).insertOne(doc);
    return answerAuthorize(doc);
  } catch (err) {
    if (!isDup(err)) throw err;
    return answerAuthorize((await payments(db).findOne({ _id: d.orderId }))!);
  }
}

function answerAuthorize(p: PaymentDoc): Reply {
  if (p.status === 'authorized' || p.status === 'captured') {
    return { type: 'authorized', data: { orderId: p._id, paymentId: p.paymentId, amount: p.amount } };
  }
  return { type: 'declined', data: { orderId: p._id, reason: p.reason ?? `payment ${p.status}` } };
}

async function capture(db: Db, d: z.output<typeof ByOrder>): Promise<Reply> {
  const p = await payments(db).findOne({ _id: d.orderId });
  if (p?.status === 'authorized' && p.token !== 'tok_capture_fails') {
    await payments(db).updateOne(
      { _id: d.orderId, status: 'authorized' },
      { $set: { status: 'captured', capturedAmount: p.amount, updatedAt: new Date() } },
    );
  }
  const now = await payments(db).findOne({ _id: d.orderId });
  if (now?.status === 'captured')
    return { type: 'captured', data: { orderId: d.orderId, amount: now.capturedAmount } };
  const reason =
    now?.token === 'tok_capture_fails' ? 'insufficient-funds' : `payment ${now?.status ?? 'missing'}`;
  return { type: 'capture-failed', data: { orderId: d.orderId, reason } };
}

/** Undoes whatever the payment is: voids an authorization, refunds a capture, tombstones nothing. */
async function undo(db: Db, d: z.output<typeof ByOrder>): Promise<'voided' | 'refunded' | 'nothing'> {
  const now = new Date();
  const voided = await payments(db).updateOne(
    { _id: d.orderId, status: 'authorized' },
    { $set: { status: 'voided', updatedAt: now } },
  );
  if (voided.modifiedCount === 1) return 'voided';
  const refunded = await payments(db).updateOne(
    { _id: d.orderId, status: 'captured' },
    { $set: { status: 'refunded', updatedAt: now } },
  );
  if (refunded.modifiedCount === 1) return 'refunded';
  const tombstone: PaymentDoc = {
    _id: d.orderId,
    status: 'voided',
    customerId: null,
    amount: 0,
    currency: 'XXX',
    token: null,
    paymentId: `pay_${d.orderId}`,
    reason: 'voided before authorization',
    capturedAmount: 0,
    updatedAt: now,
  };
  try {
    await payments(db).insertOne(tombstone);
    return 'nothing';
  } catch (err) {
    if (!isDup(err)) throw err;
    // It exists now (declined, or undone by an earlier run): nothing left to undo, unless it moved meanwhile.
    const p = await payments(db).findOne({ _id: d.orderId });
    if (p?.status === 'authorized' || p?.status === 'captured') return undo(db, d);
    return 'nothing';
  }
}

export const payment = defineParticipant({
  name: 'payment',
  commands: {
    authorize: command(AuthorizeData, (d, ctx) => authorize(ctx.db, d)),
    capture: command(ByOrder, (d, ctx) => capture(ctx.db, d)),
    void: command(ByOrder, async (d, ctx) => ({
      type: 'voided',
      data: { orderId: d.orderId, outcome: await undo(ctx.db, d) },
    })),
    refund: command(ByOrder, async (d, ctx) => ({
      type: 'refunded',
      data: { orderId: d.orderId, outcome: await undo(ctx.db, d) },
    })),
  },
});
