import type { Db } from 'mongodb';
import { defineReactor, type Kept, type ReactorDefinition } from 'jetsaga';
import { loadNotificationConfig, type NotificationConfig } from './config.ts';
import { notificationOf } from './messages.ts';
import { type NotificationSender, webhookSender } from './sender.ts';

export { loadNotificationConfig, type NotificationConfig, notificationSettings } from './config.ts';
export { type Notification, NotificationKind, notificationOf } from './messages.ts';
export { type NotificationSender, webhookSender } from './sender.ts';

/**
 * `notifications`: the reactor's own collection, and its inbox. One document per event it saw,
 * keyed by the event's id; those that told a customer something carry the notification (`kind`,
 * `customerId`, `orderId`, `subject`, `text`, `delivery`), the others only the event's id.
 */
export const notificationsCollection = 'notifications';

export interface NotificationDoc {
  _id: string;
  sagaId: string;
  at: Date;
  kind?: string;
  customerId?: string;
  orderId?: string;
  subject?: string;
  text?: string;
  /** `record`: kept only; otherwise the sender that handed it over, and when. */
  delivery?: { via: string; at: Date };
}

export const notificationDocs = (db: Db) => db.collection<NotificationDoc>(notificationsCollection);

export interface NotificationsOptions {
  /** Settings that win over the environment's (tests). */
  config?: Partial<NotificationConfig>;
  /** A sender of your own (SMTP, SMS, push); by default the one `JETSAGA_NOTIFICATIONS_SENDER` says. */
  sender?: NotificationSender | null;
}

/**
 * The `notifications` reactor: tells customers how their order ended (`saga.ended` of the saga
 * types in `JETSAGA_NOTIFICATIONS_SAGA_TYPES`, from the machine's output) and that a payment was
 * stopped (`fraud.flagged`). No saga knows about it.
 *
 * Exactly one notification per event: the host's inbox is the `notifications` collection, and the
 * notification is the record of the event (a `Kept`), so the unique event id makes a redelivery, a
 * copy or a second replica add nothing, and it costs one insert. A sender, when there is one, runs
 * before the record: a failed send is retried with the event (then dead-lettered), and a crash in
 * between sends again under the same idempotency key (at least once, never silently lost).
 */
export function notifications(opts: NotificationsOptions = {}): ReactorDefinition {
  let sagaTypes: ReadonlySet<string> = new Set();
  let sender: NotificationSender | null = null;
  return defineReactor({
    name: 'notifications',
    description: 'records one customer notification per ended order and per fraud flag (optionally sends it)',
    source: 'notifications',
    on: ['saga.ended', 'fraud.flagged'],
    inbox: notificationsCollection,
    // The notifications are the customers' record, not only an inbox: retention leaves them.
    keepRecords: true,
    async setup(ctx) {
      const config = loadNotificationConfig(process.env, opts.config);
      sagaTypes = new Set(config.sagaTypes);
      sender =
        opts.sender !== undefined
          ? opts.sender
          : config.sender === 'webhook'
            ? webhookSender({
                url: config.webhookUrl!,
                token: config.webhookToken,
                timeoutMs: config.timeoutMs,
              })
            : null;
      await notificationDocs(ctx.db).createIndex({ customerId: 1, at: -1 });
      ctx.log.info(
        { sagaTypes: [...sagaTypes], sender: sender?.name ?? 'record', url: config.webhookUrl },
        'notifications started',
      );
    },
    // The end of a saga type it does not tell customers about is acked unrecorded (no write).
    ignore: (event) => event.type === 'saga.ended' && !sagaTypes.has(event.sagaType),
    async react(event, ctx): Promise<Kept | null> {
      const n = notificationOf(event, sagaTypes);
      if (!n) return null;
      if (sender) await sender.send(n);
      ctx.log.debug({ kind: n.kind, customerId: n.customerId, orderId: n.orderId }, 'notification');
      return {
        record: {
          kind: n.kind,
          customerId: n.customerId,
          orderId: n.orderId,
          subject: n.subject,
          text: n.text,
          delivery: { via: sender?.name ?? 'record', at: new Date() },
        },
      };
    },
  });
}
