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
  keepReply,
  type Reply,
  replyKey,
  replyToStore,
  storedReply,
  type WithReplies,
} from 'jetsaga';
import { activeCardBlock } from '../payment-blocking/blocks.ts';

/**
 * Payment: one payment per order, keyed by order id, moved through its states with
 * conditional updates so every command is idempotent. Deterministic test tokens:
 * - `tok_declined`: authorization declined (`card-declined`);
 * - `tok_capture_fails`: authorizes, capture fails (`insufficient-funds`);
 * - any amount over 50,000 is declined (`amount-over-limit`);
 * - a card blocked by the payment-blocking reactor (after a fraud flag) is declined (`card-blocked`);
 * - any other token is approved.
 * The authorization's reply carries what the fraud agent scores: the customer, a card
 * fingerprint (never the token), BIN and card country, and the order's risk signals.
 * Undoing is safe in any state: void or refund of an unknown payment leaves a tombstone
 * that makes a late authorization decline.
 *
 * Each command's reply is kept in the payment itself (`replies.<commandId>`, see `replyToStore`),
 * written by the very insert or update that takes effect, so the host records nothing: one write
 * per command. A run that finds this command's reply (a copy, a crash, a race, also after later
 * commands moved the payment) returns it unchanged. What no write of this command made (capture of
 * a payment another command captured or voided, an undo of one already undone, a refusal) is
 * answered unstored, and the host records it as before; the states deciding it only move forward,
 * so no later run of that command stores another answer.
 */

export type PaymentStatus = 'authorized' | 'declined' | 'captured' | 'voided' | 'refunded';

export interface PaymentDoc extends WithReplies {
  _id: string;
  status: PaymentStatus;
  customerId: string | null;
  amount: number;
  currency: string;
  token: string | null;
  paymentId: string;
  reason: string | null;
  capturedAmount: number;
  /** The risk signals the authorization came with; null for tombstones and older payments. */
  risk?: RiskData | null;
  updatedAt: Date;
}

export const paymentLimit = 50_000;
export const payments = (db: Db) => db.collection<PaymentDoc>('payments');

const orderId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const RiskData = z.object({
  billingCountry: z.string().length(2),
  shippingAddress: z.object({
    line1: z.string(),
    city: z.string(),
    postalCode: z.string(),
    country: z.string(),
  }),
  ipCountry: z.string().length(2).nullable(),
  customerCreatedAt: z.string().nullable(),
  email: z.string().nullable(),
  itemCount: z.number().int().nonnegative(),
  bin: z.string().nullable(),
  cardCountry: z.string().length(2).nullable(),
});
type RiskData = z.output<typeof RiskData>;

const AuthorizeData = z.object({
  orderId,
  customerId: z.string(),
  amount: z.number().nonnegative(),
  currency: z.string().length(3),
  token: z.string().min(1),
  /** Optional so that older callers keep working. */
  risk: RiskData.optional(),
});

/** BINs the PSP reports for its test tokens. */
const testTokenBins: Record<string, string> = {
  tok_visa: '424242',
  tok_mastercard: '555555',
  tok_amex: '378282',
  tok_capture_fails: '400005',
};
const fingerprint = (prefix: string, value: string) =>
  `${prefix}_${createHash('sha256').update(value).digest('hex').slice(0, 16)}`;
/** The card fingerprint of a PSP token, as payment.authorized carries it and card blocks are keyed. */
export const cardFingerprintOf = (token: string): string => fingerprint('card', token);
const ByOrder = z.object({ orderId });
/**
 * `amount` (optional, for older callers): the amount authorized for the order, as the saga knows
 * it. With it the usual capture is one conditional update, without reading the payment first; a
 * different amount than the authorized one is refused (`amount-mismatch`): this service captures
 * in full or not at all.
 */
const CaptureData = ByOrder.extend({ amount: z.number().nonnegative().optional() });

type Ctx = Pick<CommandContext, 'commandId' | 'sagaId' | 'replyPath' | 'replyVersions'>;

/** How a card is funded, as the PSP reports it with the authorization (by BIN). */
export type CardFunding = 'credit' | 'debit' | 'prepaid' | 'unknown';
const fundingByBin: Record<string, CardFunding> = {
  '424242': 'credit',
  '555555': 'credit',
  '378282': 'credit',
  '400005': 'debit',
};
/** A card's funding from its BIN: the PSP's table of the test BINs here; `unknown` for any other. */
export function fundingOf(bin: string | null | undefined): CardFunding {
  return (bin ? fundingByBin[bin] : undefined) ?? 'unknown';
}

/**
 * `payment.authorized` v1 -> v2: v2 added `card.funding`; a v1 event (from a payment service older
 * than v2) gets it from its card's BIN, as v2 producers do. Kept when it is there already.
 */
export function authorizedV1toV2(d: Record<string, unknown>): Record<string, unknown> {
  const card = (typeof d.card === 'object' && d.card !== null ? d.card : {}) as Record<string, unknown>;
  if (typeof card.funding === 'string') return d;
  return { ...d, card: { ...card, funding: fundingOf(typeof card.bin === 'string' ? card.bin : null) } };
}

const byOrderEvent = (description: string) =>
  contract(z.object({ orderId: z.string().min(1), reason: z.string() }), { description });
const undone = (description: string) =>
  contract(z.object({ orderId: z.string().min(1), outcome: z.enum(['voided', 'refunded', 'nothing']) }), {
    description,
  });

/** `payment.authorized`: the authorization, with what the fraud agent scores. */
export const PaymentAuthorized = z.object({
  orderId: z.string().min(1),
  paymentId: z.string().min(1),
  amount: z.number().nonnegative(),
  currency: z.string().length(3),
  customerId: z.string().optional(),
  card: z.object({
    fingerprint: z.string().describe('a hash of the PSP token, never the token'),
    bin: z.string().nullable(),
    country: z.string().length(2).nullable(),
    funding: z
      .enum(['credit', 'debit', 'prepaid', 'unknown'])
      .describe('how the card is funded, as the PSP reports it (v2; from the BIN for a v1 event)'),
  }),
  // The order's risk signals, when the authorization came with them.
  billingCountry: z.string().length(2).optional(),
  shippingCountry: z.string().optional(),
  shippingAddressKey: z.string().optional().describe('a hash of the shipping address'),
  ipCountry: z.string().length(2).nullable().optional(),
  customerCreatedAt: z.string().nullable().optional(),
  email: z.string().nullable().optional(),
  itemCount: z.number().int().nonnegative().optional(),
});

/** What payment answers with (`payment.<event>`), each at its current version. */
export const paymentEvents = {
  authorized: contract(PaymentAuthorized, {
    version: 2,
    upcast: { 1: authorizedV1toV2 },
    description: 'the amount is authorized on the card; the fraud agent scores it (v2: card.funding)',
  }),
  declined: byOrderEvent('the authorization was refused (card-declined, amount-over-limit, ...)'),
  captured: contract(z.object({ orderId: z.string().min(1), amount: z.number().nonnegative() }), {
    description: 'the authorized amount was captured',
  }),
  'capture-failed': contract(
    z.object({ orderId: z.string().min(1), reason: z.string(), detail: z.string().optional() }),
    { description: 'nothing was captured' },
  ),
  voided: undone('the authorization was undone (or there was nothing to undo)'),
  refunded: undone('the capture was refunded (or there was nothing to undo)'),
};

/**
 * The insert that creates the payment carries its reply. A duplicate (the payment exists: an earlier
 * run of this command, another authorization, a tombstone) answers this command's stored reply, or
 * else the answer the payment gives, stored alone if no run stored one meanwhile: every run of an
 * authorization stores, none answers unstored.
 */
async function authorize(db: Db, d: z.output<typeof AuthorizeData>, ctx: Ctx): Promise<Reply> {
  const reason =
    d.token === 'tok_declined'
      ? 'card-declined'
      : d.amount > paymentLimit
        ? 'amount-over-limit'
        : // Blocks are payment-blocking's (card_blocks): read here, never written. One indexed read.
          (await activeCardBlock(db, cardFingerprintOf(d.token), new Date()))
          ? 'card-blocked'
          : null;
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
    risk: d.risk ?? null,
    updatedAt: new Date(),
  };
  const value = replyToStore(answerAuthorize(doc), ctx);
  try {
    await payments(db).insertOne({ ...doc, replies: { [replyKey(ctx.commandId)]: value } });
    return asStored(value);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const p = (await payments(db).findOne({ _id: d.orderId }))!;
    return storedReply(p, ctx) ?? keepReply(payments(db), d.orderId, answerAuthorize(p), ctx);
  }
}

function answerAuthorize(p: PaymentDoc): Reply {
  if (p.status === 'authorized' || p.status === 'captured') {
    const r = p.risk ?? null;
    const a = r?.shippingAddress;
    const bin = r?.bin ?? (p.token ? (testTokenBins[p.token] ?? null) : null);
    return {
      type: 'authorized',
      data: {
        orderId: p._id,
        paymentId: p.paymentId,
        amount: p.amount,
        currency: p.currency,
        ...(p.customerId ? { customerId: p.customerId } : {}),
        card: {
          fingerprint: cardFingerprintOf(p.token ?? p._id),
          bin,
          country: r?.cardCountry ?? null,
          funding: fundingOf(bin),
        },
        ...(r && a
          ? {
              billingCountry: r.billingCountry,
              shippingCountry: a.country,
              shippingAddressKey: fingerprint(
                'addr',
                [a.line1, a.city, a.postalCode, a.country].map((x) => x.trim().toLowerCase()).join('|'),
              ),
              ipCountry: r.ipCountry,
              customerCreatedAt: r.customerCreatedAt,
              email: r.email,
              itemCount: r.itemCount,
            }
          : {}),
      },
    };
  }
  return { type: 'declined', data: { orderId: p._id, reason: p.reason ?? `payment ${p.status}` } };
}

/**
 * The update that captures carries the reply: captured by this command, it answers `captured`
 * on every run (also after a refund). Anything else (captured by another command, voided, declined,
 * a refusal) is answered unstored: no run of this command can capture any more.
 */
async function capture(db: Db, d: z.output<typeof CaptureData>, ctx: Ctx): Promise<Reply> {
  if (d.amount !== undefined) {
    const value = replyToStore(
      answerCapture(d.orderId, { status: 'captured', capturedAmount: d.amount, token: null }),
      ctx,
    );
    const done = await payments(db).updateOne(
      { _id: d.orderId, status: 'authorized', amount: d.amount, token: { $ne: 'tok_capture_fails' } },
      {
        $set: { status: 'captured', capturedAmount: d.amount, updatedAt: new Date(), [ctx.replyPath]: value },
      },
    );
    // Captured now, by this update: nothing to read.
    if (done.modifiedCount === 1) return asStored(value);
  }
  const p = await payments(db).findOne({ _id: d.orderId });
  const mine = storedReply(p, ctx);
  if (mine) return mine;
  if (p?.status === 'authorized' && d.amount !== undefined && p.amount !== d.amount) {
    return {
      type: 'capture-failed',
      data: {
        orderId: d.orderId,
        reason: 'amount-mismatch',
        detail: `capture of ${d.amount} asked for, ${p.amount} ${p.currency} authorized`,
      },
    };
  }
  if (p?.status === 'authorized' && p.token !== 'tok_capture_fails') {
    const value = replyToStore(
      answerCapture(d.orderId, { ...p, status: 'captured', capturedAmount: p.amount }),
      ctx,
    );
    const done = await payments(db).updateOne(
      { _id: d.orderId, status: 'authorized' },
      {
        $set: { status: 'captured', capturedAmount: p.amount, updatedAt: new Date(), [ctx.replyPath]: value },
      },
    );
    // Captured now, by this update: nothing to read again.
    if (done.modifiedCount === 1) return asStored(value);
    // It moved meanwhile (a concurrent run of this command, or another capture or void): answer what it is now.
    const now = await payments(db).findOne({ _id: d.orderId });
    return storedReply(now, ctx) ?? answerCapture(d.orderId, now);
  }
  return answerCapture(d.orderId, p);
}

function answerCapture(
  orderId: string,
  p: Pick<PaymentDoc, 'status' | 'capturedAmount' | 'token'> | null,
): Reply {
  if (p?.status === 'captured') return { type: 'captured', data: { orderId, amount: p.capturedAmount } };
  const reason =
    p?.token === 'tok_capture_fails' ? 'insufficient-funds' : `payment ${p?.status ?? 'missing'}`;
  return { type: 'capture-failed', data: { orderId, reason } };
}

/**
 * Undoes whatever the payment is: voids an authorization, refunds a capture, tombstones nothing.
 * `expect` is what the command expects to undo, tried first: one update in the usual case.
 */
async function undo(
  db: Db,
  d: z.output<typeof ByOrder>,
  expect: 'authorized' | 'captured',
  ctx: Ctx,
  // `voided` for a void, `refunded` for a refund, whatever the outcome.
  type: 'voided' | 'refunded' = expect === 'authorized' ? 'voided' : 'refunded',
): Promise<Reply> {
  const now = new Date();
  const to = { authorized: 'voided', captured: 'refunded' } as const;
  const answer = (outcome: 'voided' | 'refunded' | 'nothing') => ({
    type,
    data: { orderId: d.orderId, outcome },
  });
  const order =
    expect === 'authorized' ? (['authorized', 'captured'] as const) : (['captured', 'authorized'] as const);
  for (const from of order) {
    const value = replyToStore(answer(to[from]), ctx);
    const moved = await payments(db).updateOne(
      { _id: d.orderId, status: from },
      { $set: { status: to[from], updatedAt: now, [ctx.replyPath]: value } },
    );
    if (moved.modifiedCount === 1) return asStored(value);
  }
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
  const value = replyToStore(answer('nothing'), ctx);
  try {
    await payments(db).insertOne({ ...tombstone, replies: { [replyKey(ctx.commandId)]: value } });
    return asStored(value);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    // It exists now (declined, or undone by an earlier run): nothing left to undo, unless it moved
    // meanwhile. Undone by this command: its stored reply; by another (or declined): unstored, as no
    // run of this command can move it any more.
    const p = await payments(db).findOne({ _id: d.orderId });
    const mine = storedReply(p, ctx);
    if (mine) return mine;
    if (p?.status === 'authorized' || p?.status === 'captured') return undo(db, d, p.status, ctx, type);
    return answer('nothing');
  }
}

export const payment = defineParticipant({
  name: 'payment',
  events: paymentEvents,
  commands: {
    authorize: command(AuthorizeData, (d, ctx) => authorize(ctx.db, d, ctx)),
    capture: command(CaptureData, (d, ctx) => capture(ctx.db, d, ctx)),
    void: command(ByOrder, (d, ctx) => undo(ctx.db, d, 'authorized', ctx)),
    refund: command(ByOrder, (d, ctx) => undo(ctx.db, d, 'captured', ctx)),
  },
});
