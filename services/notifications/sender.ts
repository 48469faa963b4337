import { TerminalError, TransientError } from 'jetsaga';
import type { Notification } from './messages.ts';

/**
 * Hands a notification to the customer (mail, SMS, push). It may be called more than once for one
 * notification (a crash after the send and before the record, two replicas racing): pass
 * `notification.id` on as the provider's idempotency key. Throwing a TransientError retries the
 * event with backoff, then dead-letters it; a TerminalError dead-letters it at once.
 */
export interface NotificationSender {
  /** Recorded with each notification it sent (`delivery.via`). */
  readonly name: string;
  send(notification: Notification): Promise<void>;
}

/**
 * A mail service's HTTP API: one JSON POST per notification with `Idempotency-Key: <id>` (and a
 * bearer token when given). 2xx: sent; 408, 429, 5xx, a timeout or a network error: retried; any
 * other status: the notification cannot be sent as it is (dead-lettered with the status).
 */
export function webhookSender(opts: { url: string; token?: string; timeoutMs: number }): NotificationSender {
  return {
    name: 'webhook',
    async send(n) {
      let res: Response;
      try {
        res = await fetch(opts.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': n.id,
            ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          },
          body: JSON.stringify(n),
          signal: AbortSignal.timeout(opts.timeoutMs),
        });
      } catch (err) {
        throw new TransientError(`notification webhook: ${err instanceof Error ? err.message : String(err)}`);
      }
      await res.body?.cancel();
      if (res.ok) return;
      const message = `notification webhook answered ${res.status} for ${n.id}`;
      if (res.status === 408 || res.status === 429 || res.status >= 500) throw new TransientError(message);
      throw new TerminalError(message);
    },
  };
}
