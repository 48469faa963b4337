import { z } from 'zod';
import type { Envelope } from 'jetsaga';

/** What a customer is told, and why. */
export const NotificationKind = {
  orderCompleted: 'order-completed',
  orderCompensated: 'order-compensated',
  orderFailed: 'order-failed',
  orderCancelled: 'order-cancelled',
  fraudFlagged: 'fraud-flagged',
} as const;
export type NotificationKind = (typeof NotificationKind)[keyof typeof NotificationKind];

/** One notification: one per ended order, one per fraud flag; its id is the event's. */
export interface Notification {
  id: string;
  kind: NotificationKind;
  customerId: string;
  orderId: string;
  sagaId: string;
  subject: string;
  text: string;
}

/** What the notifier reads of an order saga's end: its machine's output (see OrderOutput). */
const OrderEnd = z.object({
  sagaType: z.string(),
  status: z.enum(['completed', 'compensated', 'failed', 'cancelled']),
  reason: z.string().nullable().optional(),
  output: z
    .object({
      orderId: z.string().min(1),
      customerId: z.string().min(1),
      amount: z.number().optional(),
      currency: z.string().optional(),
      trackingNumber: z.string().nullable().optional(),
    })
    .optional(),
});

const Flag = z.object({ orderId: z.string().min(1), customerId: z.string().min(1).optional() });

/** A saga's reason in the customer's words, by its first part (`payment-declined: card-blocked`). */
function because(reason: string | null | undefined): string {
  const [head = '', detail] = (reason ?? '').split(':').map((s) => s.trim());
  if (head === 'payment-declined' && detail === 'card-blocked')
    return 'the card is blocked after a security check';
  const words: Record<string, string> = {
    'out-of-stock': 'an item is out of stock',
    'payment-declined': 'the payment was declined',
    fraud: 'the payment did not pass our security checks',
    'fraud-timeout': 'the payment could not be checked in time',
    'capture-failed': 'the payment could not be collected',
    'shipping-unavailable': 'we cannot ship to this address',
  };
  return words[head] ?? (head ? head.replace(/-/g, ' ') : 'of a problem on our side');
}

const money = (amount: number | undefined, currency: string | undefined) =>
  amount === undefined ? '' : ` (${amount.toFixed(2)}${currency ? ` ${currency}` : ''})`;

/**
 * The notification an event calls for, or null: the end of a saga of one of `sagaTypes` whose output
 * names its customer and order, or a fraud flag that names its customer. Pure: same event, same
 * notification, so a second run of it records the same one.
 */
export function notificationOf(event: Envelope, sagaTypes: ReadonlySet<string>): Notification | null {
  const base = { id: event.id, sagaId: event.sagaId };
  if (event.type === 'saga.ended') {
    const parsed = OrderEnd.safeParse(event.data);
    if (!parsed.success || !sagaTypes.has(parsed.data.sagaType) || !parsed.data.output) return null;
    const { status, reason, output: o } = parsed.data;
    const order = `Your order ${o.orderId}${money(o.amount, o.currency)}`;
    const byStatus: Record<typeof status, { kind: NotificationKind; subject: string; text: string }> = {
      completed: {
        kind: NotificationKind.orderCompleted,
        subject: `Order ${o.orderId} is on its way`,
        text: `${order} is confirmed and shipped${o.trackingNumber ? `; tracking number ${o.trackingNumber}` : ''}.`,
      },
      compensated: {
        kind: NotificationKind.orderCompensated,
        subject: `Order ${o.orderId} could not be completed`,
        text: `${order} could not be completed because ${because(reason)}. Nothing was charged.`,
      },
      failed: {
        kind: NotificationKind.orderFailed,
        subject: `Order ${o.orderId} needs our attention`,
        text: `${order} ran into a problem; our team is on it and will contact you.`,
      },
      cancelled: {
        kind: NotificationKind.orderCancelled,
        subject: `Order ${o.orderId} is cancelled`,
        text: `${order} is cancelled as asked; any payment is returned.`,
      },
    };
    return { ...base, customerId: o.customerId, orderId: o.orderId, ...byStatus[status] };
  }
  if (event.type === 'fraud.flagged') {
    const parsed = Flag.safeParse(event.data);
    if (!parsed.success || !parsed.data.customerId) return null;
    const { orderId, customerId } = parsed.data;
    return {
      ...base,
      kind: NotificationKind.fraudFlagged,
      customerId,
      orderId,
      subject: `We stopped a payment on order ${orderId}`,
      text: `We stopped the payment for order ${orderId} after a security check. If it was you, please contact us.`,
    };
  }
  return null;
}
