import { assign, emit, setup } from 'xstate';
import type { ApprovalNote, RestockInput } from './schema.ts';

/**
 * Restock: (approval, above a value threshold) -> place a purchase order with a supplier -> wait
 * for its delivery within the lead time -> receive the goods into inventory. A refused order, a
 * delivery the lead time does not see, or a cancel, cancels the purchase order; once the goods are
 * delivered nothing is undone, and the receipt is sent again until inventory answers. Pure: it
 * asks for work with `emit` and reacts to the replies; every wait is a durable timer.
 *
 * The lead time runs from the moment the order is placed, across confirmation and delivery. A
 * supplier only answers commands, so the saga asks for the delivery (`suppliers.deliver`) and asks
 * again, now and then, while the supplier answers `delivery-delayed`.
 */

export type Outcome = 'completed' | 'compensated' | 'failed' | 'cancelled';

/** What happens to a purchase nobody approved or rejected by the approval deadline. */
export type ApprovalTimeoutPolicy = 'approve' | 'reject';

/** Whether the purchase needed approval, and how that ended: a person's signal, or the deadline's policy. */
export type ApprovalDecision =
  | { decision: 'approved' | 'rejected'; by: string; note: string }
  | { decision: 'timeout'; policy: ApprovalTimeoutPolicy };

/** The approval deadline when the input does not set one: a working day. */
export const defaultApprovalTimeoutMs = 24 * 3_600_000;

export interface RestockContext {
  purchaseOrderId: string;
  recommendationId: string | null;
  sku: string;
  qty: number;
  unitCost: number;
  currency: string;
  supplier: string;
  /** qty × unitCost, in cents: what the threshold is compared with. */
  amount: number;
  leadTimeMs: number;
  approvalThreshold: number;
  approvalTimeoutMs: number;
  approvalTimeoutPolicy: ApprovalTimeoutPolicy;
  /** Null while none is needed or none was made. */
  approval: ApprovalDecision | null;
  stepTimeoutMs: number;
  /** Resends of an unanswered receipt or cancellation, one per step timeout, before the saga fails. */
  maxAttempts: number;
  attempts: number;
  /** How many times the supplier answered `delivery-delayed`. */
  delays: number;
  delivered: boolean;
  reason: string | null;
  cancelled: boolean;
  outcome: Outcome | null;
}

type Reply<T extends string, D = Record<string, unknown>> = { type: T; data: D };
type Refusal = { purchaseOrderId?: string; reason?: string };

export type RestockEvent =
  | Reply<'suppliers.order-confirmed', { purchaseOrderId: string }>
  | Reply<'suppliers.order-refused', Refusal>
  | Reply<'suppliers.order-delivered', { purchaseOrderId: string; sku: string; qty: number }>
  | Reply<'suppliers.delivery-delayed', Refusal>
  | Reply<'suppliers.delivery-refused', Refusal>
  | Reply<'suppliers.order-cancelled', { purchaseOrderId: string }>
  | Reply<'inventory.received', { receiptId: string; sku: string; qty: number }>
  | Reply<'inventory.receive-refused', { receiptId?: string; reason?: string }>
  | Reply<'saga.cancel', { reason?: string }>
  | { type: 'saga.signal.approve-restock'; data: ApprovalNote; by: string }
  | { type: 'saga.signal.reject-restock'; data: ApprovalNote; by: string };

export type RestockCommand =
  | {
      type: 'suppliers.place-order';
      data: { purchaseOrderId: string; supplier: string; sku: string; qty: number; unitCost: number };
    }
  | { type: 'suppliers.deliver'; data: { purchaseOrderId: string } }
  | { type: 'suppliers.cancel-order'; data: { purchaseOrderId: string } }
  | { type: 'inventory.receive'; data: { receiptId: string; sku: string; qty: number } };

/**
 * How a restock ended: the `output` of its `saga.ended`, which the restock agent reads to close
 * its recommendation (`recommendationId`) or to reopen the SKU.
 */
export interface RestockOutput {
  status: Outcome;
  reason: string | null;
  purchaseOrderId: string;
  recommendationId: string | null;
  sku: string;
  qty: number;
  supplier: string;
  amount: number;
  currency: string;
}

export interface RestockMachineInput extends RestockInput {
  sagaId: string;
  stepTimeoutMs?: number;
}

const because = (reason: string) => ({ type: 'setReason', params: { reason } }) as const;
const reasonFrom = (fallback: string) =>
  ({ type: 'setReasonFromReply', params: { reason: fallback } }) as const;
const byId = (context: RestockContext) => ({ purchaseOrderId: context.purchaseOrderId });

export const restockMachine = setup({
  types: {
    context: {} as RestockContext,
    events: {} as RestockEvent,
    emitted: {} as RestockCommand,
    input: {} as RestockMachineInput,
    output: {} as RestockOutput,
  },
  delays: {
    stepTimeout: ({ context }) => context.stepTimeoutMs,
    leadTime: ({ context }) => context.leadTimeMs,
    approvalTimeout: ({ context }) => context.approvalTimeoutMs,
    // A delayed delivery is asked for again a few times within the lead time, at most hourly.
    deliveryCheck: ({ context }) => Math.min(3_600_000, Math.max(1_000, Math.round(context.leadTimeMs / 4))),
  },
  guards: {
    needsApproval: ({ context }) => context.amount > context.approvalThreshold,
    approvalFailsOpen: ({ context }) => context.approvalTimeoutPolicy === 'approve',
    attemptsLeft: ({ context }) => context.attempts < context.maxAttempts,
  },
  actions: {
    decide: assign({
      approval: ({ event }) =>
        event.type === 'saga.signal.approve-restock' || event.type === 'saga.signal.reject-restock'
          ? {
              decision:
                event.type === 'saga.signal.approve-restock' ? ('approved' as const) : ('rejected' as const),
              by: event.by,
              note: event.data.note,
            }
          : null,
    }),
    approvalTimedOut: assign({
      approval: ({ context }) => ({ decision: 'timeout' as const, policy: context.approvalTimeoutPolicy }),
    }),
    countAttempt: assign({ attempts: ({ context }) => context.attempts + 1 }),
    resetAttempts: assign({ attempts: 0 }),
    setReason: assign({ reason: (_, params: { reason: string }) => params.reason }),
    /** Keeps the participant's own reason (e.g. `acme does not supply SKU-X`) when it gave one. */
    setReasonFromReply: assign({
      reason: ({ event }, params: { reason: string }) =>
        'reason' in event.data && typeof event.data.reason === 'string'
          ? `${params.reason}: ${event.data.reason}`
          : params.reason,
    }),
    markCancelled: assign({
      cancelled: true,
      reason: ({ event }) =>
        event.type === 'saga.cancel' && event.data.reason ? `cancelled: ${event.data.reason}` : 'cancelled',
    }),
  },
}).createMachine({
  id: 'restock',
  context: ({ input }) => ({
    purchaseOrderId: input.purchaseOrderId ?? input.sagaId,
    recommendationId: input.recommendationId ?? null,
    sku: input.sku,
    qty: input.qty,
    unitCost: input.unitCost,
    currency: input.currency,
    supplier: input.supplier,
    amount: Math.round(input.qty * input.unitCost * 100) / 100,
    leadTimeMs: input.leadTimeMs,
    approvalThreshold: input.approvalThreshold,
    approvalTimeoutMs: input.approvalTimeoutMs ?? defaultApprovalTimeoutMs,
    approvalTimeoutPolicy: input.approvalTimeoutPolicy ?? 'reject',
    approval: null,
    stepTimeoutMs: input.stepTimeoutMs ?? 30_000,
    maxAttempts: 5,
    attempts: 0,
    delays: 0,
    delivered: false,
    reason: null,
    cancelled: false,
    outcome: null,
  }),
  output: ({ context }) => ({
    status: context.outcome ?? 'failed',
    reason: context.reason,
    purchaseOrderId: context.purchaseOrderId,
    recommendationId: context.recommendationId,
    sku: context.sku,
    qty: context.qty,
    supplier: context.supplier,
    amount: context.amount,
    currency: context.currency,
  }),
  initial: 'checkingValue',
  states: {
    checkingValue: {
      always: [{ guard: 'needsApproval', target: 'awaitingApproval' }, { target: 'ordering' }],
    },
    // A large purchase: a person decides with a signal, or the deadline's policy does. Nothing
    // was asked of anyone yet, so a rejection or a cancel has nothing to undo.
    awaitingApproval: {
      on: {
        'saga.signal.approve-restock': { target: 'ordering', actions: 'decide' },
        'saga.signal.reject-restock': {
          target: 'compensated',
          actions: ['decide', because('approval-rejected')],
        },
        'saga.cancel': { target: 'compensated', actions: 'markCancelled' },
      },
      after: {
        approvalTimeout: [
          { guard: 'approvalFailsOpen', target: 'ordering', actions: 'approvalTimedOut' },
          { target: 'compensated', actions: ['approvalTimedOut', because('approval-timeout')] },
        ],
      },
    },
    // The lead time covers confirmation and delivery, whatever step the order is in.
    ordering: {
      after: { leadTime: { target: 'cancellingPurchase', actions: because('delivery-late') } },
      on: { 'saga.cancel': { target: 'cancellingPurchase', actions: 'markCancelled' } },
      initial: 'placing',
      states: {
        placing: {
          entry: emit(({ context }) => ({
            type: 'suppliers.place-order' as const,
            data: {
              purchaseOrderId: context.purchaseOrderId,
              supplier: context.supplier,
              sku: context.sku,
              qty: context.qty,
              unitCost: context.unitCost,
            },
          })),
          on: {
            'suppliers.order-confirmed': 'awaitingDelivery',
            // Refused: no order exists, nothing to cancel.
            'suppliers.order-refused': {
              target: '#restock.compensated',
              actions: reasonFrom('supplier-refused'),
            },
          },
          // The order may exist without its reply: cancel it to be sure.
          after: {
            stepTimeout: { target: '#restock.cancellingPurchase', actions: because('supplier-timeout') },
          },
        },
        awaitingDelivery: {
          entry: emit(({ context }) => ({ type: 'suppliers.deliver' as const, data: byId(context) })),
          on: {
            'suppliers.order-delivered': {
              target: '#restock.receiving',
              actions: assign({ delivered: true }),
            },
            'suppliers.delivery-delayed': {
              target: 'delayed',
              actions: assign({ delays: ({ context }) => context.delays + 1 }),
            },
            'suppliers.delivery-refused': {
              target: '#restock.cancellingPurchase',
              actions: reasonFrom('delivery-refused'),
            },
          },
        },
        // Not at the dock yet: ask again later, until the lead time runs out.
        delayed: {
          after: { deliveryCheck: 'awaitingDelivery' },
          on: {
            // An answer to an earlier ask may still come.
            'suppliers.order-delivered': {
              target: '#restock.receiving',
              actions: assign({ delivered: true }),
            },
          },
        },
      },
    },
    // Delivered: the goods are ours. Nothing is undone from here on (a cancel is ignored); an
    // unanswered receipt is sent again (inventory adds it once, whatever the number of runs).
    receiving: {
      entry: emit(({ context }) => ({
        type: 'inventory.receive' as const,
        data: { receiptId: context.purchaseOrderId, sku: context.sku, qty: context.qty },
      })),
      on: {
        'inventory.received': 'completed',
        'inventory.receive-refused': { target: 'failed', actions: reasonFrom('receive-refused') },
      },
      after: {
        stepTimeout: [
          { guard: 'attemptsLeft', target: 'receiving', reenter: true, actions: 'countAttempt' },
          { target: 'failed', actions: because('receive-timeout: inventory') },
        ],
      },
    },
    cancellingPurchase: {
      tags: ['compensating'],
      entry: emit(({ context }) => ({ type: 'suppliers.cancel-order' as const, data: byId(context) })),
      on: { 'suppliers.order-cancelled': { target: 'compensated', actions: 'resetAttempts' } },
      after: {
        stepTimeout: [
          { guard: 'attemptsLeft', target: 'cancellingPurchase', reenter: true, actions: 'countAttempt' },
          { target: 'failed', actions: because('compensation-timeout: cancel purchase order') },
        ],
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
