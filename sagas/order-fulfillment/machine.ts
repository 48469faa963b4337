import { assign, emit, setup } from 'xstate';
import type { OrderInput, OrderItem } from './schema.ts';

/**
 * Order fulfillment: reserve stock -> authorize payment -> capture -> ship. Any failure
 * compensates the steps done, in reverse order. Pure: it asks for work with `emit` and
 * reacts to the replies; every step has a durable timeout.
 */

export type Outcome = 'completed' | 'compensated' | 'failed' | 'cancelled';

export interface OrderContext {
  orderId: string;
  customerId: string;
  currency: string;
  amount: number;
  items: OrderItem[];
  paymentToken: string;
  shippingAddress: OrderInput['shippingAddress'];
  stepTimeoutMs: number;
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
  | Reply<'payment.authorized', { paymentId: string }>
  | Reply<'payment.declined', { reason?: string }>
  | Reply<'payment.captured'>
  | Reply<'payment.capture-failed', { reason?: string }>
  | Reply<'payment.voided'>
  | Reply<'payment.refunded'>
  | Reply<'shipping.shipment-created', { trackingNumber: string }>
  | Reply<'shipping.unavailable', { reason?: string }>
  | Reply<'shipping.shipment-cancelled'>
  | Reply<'saga.cancel', { reason?: string }>;

export type OrderCommand =
  | { type: 'inventory.reserve'; data: { orderId: string; items: Array<{ sku: string; qty: number }> } }
  | { type: 'inventory.release'; data: { orderId: string } }
  | {
      type: 'payment.authorize';
      data: { orderId: string; customerId: string; amount: number; currency: string; token: string };
    }
  | { type: 'payment.capture'; data: { orderId: string } }
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
    output: {} as { status: Outcome; reason: string | null },
  },
  delays: {
    stepTimeout: ({ context }) => context.stepTimeoutMs,
  },
  guards: {
    compensationAttemptsLeft: ({ context }) => context.compensationAttempts < context.maxCompensationAttempts,
  },
  actions: {
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
    stepTimeoutMs: input.stepTimeoutMs ?? 30_000,
    maxCompensationAttempts: 5,
    compensationAttempts: 0,
    paymentId: null,
    trackingNumber: null,
    reason: null,
    cancelled: false,
    outcome: null,
  }),
  output: ({ context }) => ({ status: context.outcome ?? 'failed', reason: context.reason }),
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
        },
      })),
      on: {
        // The step's command may already have taken effect: undo it too.
        'saga.cancel': { target: 'compensating.voidingPayment', actions: 'markCancelled' },
        'payment.authorized': {
          target: 'capturingPayment',
          actions: assign({ paymentId: ({ event }) => event.data.paymentId }),
        },
        'payment.declined': {
          target: 'compensating.releasingInventory',
          actions: reasonFrom('payment-declined'),
        },
      },
      after: { stepTimeout: { target: 'compensating.voidingPayment', actions: because('payment-timeout') } },
    },
    capturingPayment: {
      entry: emit(({ context }) => ({
        type: 'payment.capture' as const,
        data: { orderId: context.orderId },
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
          target: 'completed',
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
          on: { 'inventory.released': '#order-fulfillment.compensated' },
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
