import { assign, emit, setup } from 'xstate';
import type { OrderInput, OrderItem, ReviewNote } from './schema.ts';

/**
 * Order fulfillment: reserve stock -> authorize payment -> fraud verdict (or a person's review
 * of a grey-zone score) -> capture -> ship -> commit the stock. Until the shipment exists, any failure compensates the steps done,
 * in reverse order. Pure: it asks for work with `emit` and reacts to the replies; every step has
 * a durable timeout.
 */

export type Outcome = 'completed' | 'compensated' | 'failed' | 'cancelled';

/** What the fraud agent says about the payment (`fraud.approved` / `fraud.flagged`). */
export interface FraudVerdictData {
  score: number;
  threshold: number;
  reasons: string[];
  modelVersion: string;
  latencyMs?: number;
  reviewer?: string;
}

/** One of the customer's earlier payments, as the fraud agent saw it (`fraud.review`). */
export interface RecentPayment {
  paymentId: string;
  at: string;
  amountUsd: number;
  sameCard: boolean;
  sameAddress: boolean;
  ipCountry: string | null;
  shippingCountry: string;
}

/** `fraud.review`: a score in the manual review band, with what a person needs to decide. */
export interface FraudReviewData extends FraudVerdictData {
  customerId: string;
  amount: number;
  currency: string;
  reviewBand: [number, number];
  recentPayments: RecentPayment[];
}

/** The fraud step's outcome, kept in the context for the inspector. */
export type FraudOutcome =
  | ({ outcome: 'approved' | 'flagged' | 'review' } & FraudVerdictData)
  | { outcome: 'timeout'; policy: FraudTimeoutPolicy };

export type FraudTimeoutPolicy = 'approve' | 'compensate';

/** What happens to an order nobody reviewed by the review deadline. */
export type ReviewTimeoutPolicy = 'approve' | 'reject';

/** How a manual review ended: a person's signal, or the deadline's policy. */
export type ReviewDecision =
  | { decision: 'approved' | 'rejected'; by: string; note: string }
  | { decision: 'timeout'; policy: ReviewTimeoutPolicy };

/** A case for the Reviews view: what the fraud agent sent, and how it ended. */
export interface ReviewCase {
  score: number;
  threshold: number;
  reasons: string[];
  modelVersion: string;
  customerId: string;
  amount: number;
  currency: string;
  reviewBand: [number, number];
  recentPayments: RecentPayment[];
  outcome: ReviewDecision | null;
}

/** The review deadline when the order does not set one: a working day. */
export const defaultReviewTimeoutMs = 24 * 3_600_000;

/** Signals for the PSP's and the fraud agent's risk checks, sent with the authorization. */
export interface PaymentRisk {
  billingCountry: string;
  shippingAddress: { line1: string; city: string; postalCode: string; country: string };
  ipCountry: string | null;
  customerCreatedAt: string | null;
  email: string | null;
  itemCount: number;
  bin: string | null;
  cardCountry: string | null;
}

export interface OrderContext {
  orderId: string;
  customerId: string;
  currency: string;
  amount: number;
  items: OrderItem[];
  paymentToken: string;
  shippingAddress: OrderInput['shippingAddress'];
  risk: PaymentRisk;
  fraudTimeoutPolicy: FraudTimeoutPolicy;
  /** The verdict, once it came (it may come before the authorization's reply is processed). */
  fraud: FraudOutcome | null;
  /**
   * The manual review, once the fraud agent asked for one. Optional: sagas started before reviews
   * existed have none of the three review fields.
   */
  review?: ReviewCase | null;
  reviewTimeoutMs?: number;
  reviewTimeoutPolicy?: ReviewTimeoutPolicy;
  stepTimeoutMs: number;
  /** Resends of an unanswered compensation (or commit), one per step timeout, before the saga fails. */
  maxCompensationAttempts: number;
  compensationAttempts: number;
  paymentId: string | null;
  trackingNumber: string | null;
  reason: string | null;
  /** Set by a cancel request: compensation then ends `cancelled`, not `compensated`. */
  cancelled: boolean;
  outcome: Outcome | null;
}

type Reply<T extends string, D = Record<string, unknown>> = { type: T; data: D };

export type OrderEvent =
  | Reply<'inventory.reserved'>
  | Reply<'inventory.out-of-stock', { sku?: string; requested?: number; available?: number }>
  | Reply<'inventory.released'>
  | Reply<'inventory.release-refused', { reason?: string }>
  | Reply<'inventory.committed'>
  | Reply<'inventory.commit-refused', { reason?: string }>
  | Reply<'payment.authorized', { paymentId: string }>
  | Reply<'payment.declined', { reason?: string }>
  | Reply<'payment.captured'>
  | Reply<'payment.capture-failed', { reason?: string }>
  | Reply<'payment.voided'>
  | Reply<'payment.refunded'>
  | Reply<'shipping.shipment-created', { trackingNumber: string }>
  | Reply<'shipping.unavailable', { reason?: string }>
  | Reply<'shipping.shipment-cancelled'>
  | Reply<'fraud.approved', FraudVerdictData>
  | Reply<'fraud.flagged', FraudVerdictData>
  | Reply<'fraud.review', FraudReviewData>
  | Reply<'saga.cancel', { reason?: string }>
  | { type: 'saga.signal.approve-review'; data: ReviewNote; by: string }
  | { type: 'saga.signal.reject-review'; data: ReviewNote; by: string };

export type OrderCommand =
  | { type: 'inventory.reserve'; data: { orderId: string; items: Array<{ sku: string; qty: number }> } }
  | { type: 'inventory.release'; data: { orderId: string } }
  | { type: 'inventory.commit'; data: { orderId: string } }
  | {
      type: 'payment.authorize';
      data: {
        orderId: string;
        customerId: string;
        amount: number;
        currency: string;
        token: string;
        risk: PaymentRisk;
      };
    }
  | { type: 'payment.capture'; data: { orderId: string; amount: number } }
  | { type: 'payment.void'; data: { orderId: string } }
  | { type: 'payment.refund'; data: { orderId: string } }
  | {
      type: 'shipping.create-shipment';
      data: {
        orderId: string;
        items: Array<{ sku: string; qty: number }>;
        address: OrderInput['shippingAddress'];
      };
    }
  | { type: 'shipping.cancel-shipment'; data: { orderId: string } };

/**
 * How an order ended. Public: the runtime publishes it as the `output` of `saga.ended` to every
 * reactor that subscribes (the notifications reactor tells the customer from it), so it holds what
 * the order's readers may know (no card token, no address).
 */
export interface OrderOutput {
  status: Outcome;
  reason: string | null;
  orderId: string;
  customerId: string;
  amount: number;
  currency: string;
  trackingNumber: string | null;
}

export interface OrderMachineInput extends OrderInput {
  sagaId: string;
  stepTimeoutMs?: number;
}

const skuQty = (items: OrderItem[]) => items.map(({ sku, qty }) => ({ sku, qty }));
const because = (reason: string) => ({ type: 'setReason', params: { reason } }) as const;
const reasonFrom = (fallback: string) =>
  ({ type: 'setReasonFromReply', params: { reason: fallback } }) as const;

export const orderMachine = setup({
  types: {
    context: {} as OrderContext,
    events: {} as OrderEvent,
    emitted: {} as OrderCommand,
    input: {} as OrderMachineInput,
    output: {} as OrderOutput,
  },
  delays: {
    stepTimeout: ({ context }) => context.stepTimeoutMs,
    reviewTimeout: ({ context }) => context.reviewTimeoutMs ?? defaultReviewTimeoutMs,
  },
  guards: {
    compensationAttemptsLeft: ({ context }) => context.compensationAttempts < context.maxCompensationAttempts,
    verdictApproved: ({ context }) => context.fraud?.outcome === 'approved',
    verdictFlagged: ({ context }) => context.fraud?.outcome === 'flagged',
    verdictReview: ({ context }) => context.fraud?.outcome === 'review',
    failOpen: ({ context }) => context.fraudTimeoutPolicy === 'approve',
    reviewFailsOpen: ({ context }) => context.reviewTimeoutPolicy === 'approve',
  },
  actions: {
    keepVerdict: assign({
      fraud: ({ event }) =>
        event.type === 'fraud.approved' || event.type === 'fraud.flagged' || event.type === 'fraud.review'
          ? {
              outcome:
                event.type === 'fraud.flagged'
                  ? ('flagged' as const)
                  : event.type === 'fraud.review'
                    ? ('review' as const)
                    : ('approved' as const),
              score: event.data.score,
              threshold: event.data.threshold,
              reasons: event.data.reasons,
              modelVersion: event.data.modelVersion,
            }
          : null,
      // The case is kept whole: the Reviews view reads it from the saga, not from the agent's store.
      review: ({ event, context }) =>
        event.type === 'fraud.review'
          ? {
              score: event.data.score,
              threshold: event.data.threshold,
              reasons: event.data.reasons,
              modelVersion: event.data.modelVersion,
              customerId: event.data.customerId,
              amount: event.data.amount,
              currency: event.data.currency,
              reviewBand: event.data.reviewBand,
              recentPayments: event.data.recentPayments,
              outcome: null,
            }
          : (context.review ?? null),
    }),
    decideReview: assign({
      review: ({ event, context }) =>
        context.review &&
        (event.type === 'saga.signal.approve-review' || event.type === 'saga.signal.reject-review')
          ? {
              ...context.review,
              outcome: {
                decision:
                  event.type === 'saga.signal.approve-review' ? ('approved' as const) : ('rejected' as const),
                by: event.by,
                note: event.data.note,
              },
            }
          : (context.review ?? null),
    }),
    reviewTimedOut: assign({
      review: ({ context }) =>
        context.review
          ? {
              ...context.review,
              outcome: { decision: 'timeout' as const, policy: context.reviewTimeoutPolicy ?? 'reject' },
            }
          : null,
    }),
    verdictTimedOut: assign({
      fraud: ({ context }) => ({ outcome: 'timeout' as const, policy: context.fraudTimeoutPolicy }),
    }),
    countAttempt: assign({ compensationAttempts: ({ context }) => context.compensationAttempts + 1 }),
    resetAttempts: assign({ compensationAttempts: 0 }),
    setReason: assign({ reason: (_, params: { reason: string }) => params.reason }),
    markCancelled: assign({
      cancelled: true,
      reason: ({ event }) =>
        event.type === 'saga.cancel' && event.data.reason ? `cancelled: ${event.data.reason}` : 'cancelled',
    }),
    /** Keeps the participant's own reason (e.g. `card-declined`) when it gave one. */
    setReasonFromReply: assign({
      reason: ({ event }, params: { reason: string }) =>
        'reason' in event.data && typeof event.data.reason === 'string'
          ? `${params.reason}: ${event.data.reason}`
          : params.reason,
    }),
  },
}).createMachine({
  id: 'order-fulfillment',
  context: ({ input }) => ({
    orderId: input.orderId ?? input.sagaId,
    customerId: input.customerId,
    currency: input.currency,
    amount: Math.round(input.items.reduce((sum, i) => sum + i.qty * i.unitPrice, 0) * 100) / 100,
    items: input.items,
    paymentToken: input.payment.token,
    shippingAddress: input.shippingAddress,
    risk: {
      billingCountry: input.billingCountry ?? input.shippingAddress.country,
      shippingAddress: {
        line1: input.shippingAddress.line1,
        city: input.shippingAddress.city,
        postalCode: input.shippingAddress.postalCode,
        country: input.shippingAddress.country,
      },
      ipCountry: input.customer?.ipCountry ?? null,
      customerCreatedAt: input.customer?.createdAt ?? null,
      email: input.customer?.email ?? null,
      itemCount: input.items.reduce((n, i) => n + i.qty, 0),
      bin: input.payment.bin ?? null,
      cardCountry: input.payment.cardCountry ?? null,
    },
    fraudTimeoutPolicy: input.fraudTimeoutPolicy ?? 'compensate',
    fraud: null,
    review: null,
    reviewTimeoutMs: input.reviewTimeoutMs ?? defaultReviewTimeoutMs,
    reviewTimeoutPolicy: input.reviewTimeoutPolicy ?? 'reject',
    stepTimeoutMs: input.stepTimeoutMs ?? 30_000,
    maxCompensationAttempts: 5,
    compensationAttempts: 0,
    paymentId: null,
    trackingNumber: null,
    reason: null,
    cancelled: false,
    outcome: null,
  }),
  output: ({ context }) => ({
    status: context.outcome ?? 'failed',
    reason: context.reason,
    orderId: context.orderId,
    customerId: context.customerId,
    amount: context.amount,
    currency: context.currency,
    trackingNumber: context.trackingNumber,
  }),
  initial: 'reservingInventory',
  states: {
    reservingInventory: {
      entry: emit(({ context }) => ({
        type: 'inventory.reserve' as const,
        data: { orderId: context.orderId, items: skuQty(context.items) },
      })),
      on: {
        // The step's command may already have taken effect: undo it too.
        'saga.cancel': { target: 'compensating.releasingInventory', actions: 'markCancelled' },
        'inventory.reserved': 'authorizingPayment',
        'inventory.out-of-stock': { target: 'compensated', actions: because('out-of-stock') },
      },
      // The reservation may have happened without its reply: release to be sure.
      after: {
        stepTimeout: { target: 'compensating.releasingInventory', actions: because('inventory-timeout') },
      },
    },
    authorizingPayment: {
      entry: emit(({ context }) => ({
        type: 'payment.authorize' as const,
        data: {
          orderId: context.orderId,
          customerId: context.customerId,
          amount: context.amount,
          currency: context.currency,
          token: context.paymentToken,
          risk: context.risk,
        },
      })),
      on: {
        // The step's command may already have taken effect: undo it too.
        'saga.cancel': { target: 'compensating.voidingPayment', actions: 'markCancelled' },
        'payment.authorized': {
          target: 'screeningPayment',
          actions: assign({ paymentId: ({ event }) => event.data.paymentId }),
        },
        // A verdict overtook the authorization's reply (a redelivery reordered them): keep it.
        'fraud.approved': { actions: 'keepVerdict' },
        'fraud.flagged': { actions: 'keepVerdict' },
        'fraud.review': { actions: 'keepVerdict' },
        'payment.declined': {
          target: 'compensating.releasingInventory',
          actions: reasonFrom('payment-declined'),
        },
      },
      after: { stepTimeout: { target: 'compensating.voidingPayment', actions: because('payment-timeout') } },
    },
    // The fraud agent answers payment.authorized on its own; nothing to ask for here.
    screeningPayment: {
      always: [
        { guard: 'verdictApproved', target: 'capturingPayment' },
        { guard: 'verdictFlagged', target: 'compensating.voidingPayment', actions: because('fraud') },
        { guard: 'verdictReview', target: 'reviewing' },
      ],
      on: {
        'saga.cancel': { target: 'compensating.voidingPayment', actions: 'markCancelled' },
        'fraud.approved': { target: 'capturingPayment', actions: 'keepVerdict' },
        'fraud.flagged': {
          target: 'compensating.voidingPayment',
          actions: ['keepVerdict', because('fraud')],
        },
        'fraud.review': { target: 'reviewing', actions: 'keepVerdict' },
      },
      after: {
        stepTimeout: [
          { guard: 'failOpen', target: 'capturingPayment', actions: 'verdictTimedOut' },
          {
            target: 'compensating.voidingPayment',
            actions: ['verdictTimedOut', because('fraud-timeout')],
          },
        ],
      },
    },
    // A score in the grey zone: a person decides with a signal (the Reviews view sends it), or
    // the deadline's policy does. The authorization holds the money meanwhile; nothing to ask for.
    reviewing: {
      on: {
        'saga.cancel': { target: 'compensating.voidingPayment', actions: 'markCancelled' },
        'saga.signal.approve-review': { target: 'capturingPayment', actions: 'decideReview' },
        'saga.signal.reject-review': {
          target: 'compensating.voidingPayment',
          actions: ['decideReview', because('fraud-review-rejected')],
        },
      },
      after: {
        reviewTimeout: [
          { guard: 'reviewFailsOpen', target: 'capturingPayment', actions: 'reviewTimedOut' },
          {
            target: 'compensating.voidingPayment',
            actions: ['reviewTimedOut', because('fraud-review-timeout')],
          },
        ],
      },
    },
    capturingPayment: {
      entry: emit(({ context }) => ({
        type: 'payment.capture' as const,
        data: { orderId: context.orderId, amount: context.amount },
      })),
      on: {
        // The step's command may already have taken effect: undo it too.
        'saga.cancel': { target: 'compensating.refundingPayment', actions: 'markCancelled' },
        'payment.captured': 'creatingShipment',
        'payment.capture-failed': {
          target: 'compensating.voidingPayment',
          actions: reasonFrom('capture-failed'),
        },
      },
      after: {
        stepTimeout: { target: 'compensating.refundingPayment', actions: because('capture-timeout') },
      },
    },
    creatingShipment: {
      entry: emit(({ context }) => ({
        type: 'shipping.create-shipment' as const,
        data: { orderId: context.orderId, items: skuQty(context.items), address: context.shippingAddress },
      })),
      on: {
        // The step's command may already have taken effect: undo it too.
        'saga.cancel': { target: 'compensating.cancellingShipment', actions: 'markCancelled' },
        'shipping.shipment-created': {
          target: 'committingInventory',
          actions: assign({ trackingNumber: ({ event }) => event.data.trackingNumber }),
        },
        'shipping.unavailable': {
          target: 'compensating.refundingPayment',
          actions: reasonFrom('shipping-unavailable'),
        },
      },
      after: {
        stepTimeout: { target: 'compensating.cancellingShipment', actions: because('shipping-timeout') },
      },
    },
    // Shipped: the sale is final. The reservation's holds become sold stock, which keeps the
    // inventory's documents small. Nothing is undone from here on: a cancel is too late (ignored,
    // as during compensation), and an unanswered commit is sent again, like a compensation.
    committingInventory: {
      entry: emit(({ context }) => ({
        type: 'inventory.commit' as const,
        data: { orderId: context.orderId },
      })),
      on: {
        'inventory.committed': 'completed',
        // The reservation was released or never made (another saga for the same order id?).
        'inventory.commit-refused': { target: 'failed', actions: reasonFrom('commit-refused') },
      },
      after: {
        stepTimeout: [
          {
            guard: 'compensationAttemptsLeft',
            target: 'committingInventory',
            reenter: true,
            actions: 'countAttempt',
          },
          { target: 'failed', actions: because('commit-timeout: inventory') },
        ],
      },
    },
    compensating: {
      tags: ['compensating'],
      initial: 'releasingInventory',
      states: {
        cancellingShipment: {
          entry: emit(({ context }) => ({
            type: 'shipping.cancel-shipment' as const,
            data: { orderId: context.orderId },
          })),
          on: { 'shipping.shipment-cancelled': { target: 'refundingPayment', actions: 'resetAttempts' } },
          after: {
            stepTimeout: [
              {
                guard: 'compensationAttemptsLeft',
                target: 'cancellingShipment',
                reenter: true,
                actions: 'countAttempt',
              },
              {
                target: '#order-fulfillment.failed',
                actions: because('compensation-timeout: cancel shipment'),
              },
            ],
          },
        },
        refundingPayment: {
          entry: emit(({ context }) => ({
            type: 'payment.refund' as const,
            data: { orderId: context.orderId },
          })),
          on: { 'payment.refunded': { target: 'releasingInventory', actions: 'resetAttempts' } },
          after: {
            stepTimeout: [
              {
                guard: 'compensationAttemptsLeft',
                target: 'refundingPayment',
                reenter: true,
                actions: 'countAttempt',
              },
              {
                target: '#order-fulfillment.failed',
                actions: because('compensation-timeout: refund payment'),
              },
            ],
          },
        },
        voidingPayment: {
          entry: emit(({ context }) => ({
            type: 'payment.void' as const,
            data: { orderId: context.orderId },
          })),
          on: { 'payment.voided': { target: 'releasingInventory', actions: 'resetAttempts' } },
          after: {
            stepTimeout: [
              {
                guard: 'compensationAttemptsLeft',
                target: 'voidingPayment',
                reenter: true,
                actions: 'countAttempt',
              },
              { target: '#order-fulfillment.failed', actions: because('compensation-timeout: void payment') },
            ],
          },
        },
        releasingInventory: {
          entry: emit(({ context }) => ({
            type: 'inventory.release' as const,
            data: { orderId: context.orderId },
          })),
          on: {
            'inventory.released': '#order-fulfillment.compensated',
            // The order's stock was committed (sold): nothing can give it back.
            'inventory.release-refused': {
              target: '#order-fulfillment.failed',
              actions: reasonFrom('release-refused'),
            },
          },
          after: {
            stepTimeout: [
              {
                guard: 'compensationAttemptsLeft',
                target: 'releasingInventory',
                reenter: true,
                actions: 'countAttempt',
              },
              {
                target: '#order-fulfillment.failed',
                actions: because('compensation-timeout: release inventory'),
              },
            ],
          },
        },
      },
    },
    completed: { type: 'final', entry: assign({ outcome: 'completed' as const }) },
    compensated: {
      type: 'final',
      entry: assign({ outcome: ({ context }) => (context.cancelled ? 'cancelled' : 'compensated') }),
    },
    failed: { type: 'final', entry: assign({ outcome: 'failed' as const }) },
  },
});
