import { z } from 'zod';
import { defineSettings, ValidationError } from 'jetsaga';

/**
 * The notifications reactor's settings, in jetsaga's table (`jetsaga help` lists them). By default
 * it only records notifications; `JETSAGA_NOTIFICATIONS_SENDER=webhook` also hands each one to a mail
 * service's HTTP API. A bad value stops the role with the flag and variable at fault.
 */
export const notificationSettings = defineSettings({
  sagaTypes: {
    env: 'JETSAGA_NOTIFICATIONS_SAGA_TYPES',
    schema: z
      .string()
      .regex(
        /^\s*[a-z][a-z0-9-]*(\s*,\s*[a-z][a-z0-9-]*)*\s*$/,
        'saga types, comma separated, e.g. order-fulfillment',
      )
      .transform((s) => s.split(',').map((t) => t.trim()))
      .default(['order-fulfillment']),
    help: 'saga types whose end is notified to the customer (their output names customerId and orderId)',
  },
  sender: {
    env: 'JETSAGA_NOTIFICATIONS_SENDER',
    schema: z.enum(['record', 'webhook']).default('record'),
    help: 'record: keep notifications only; webhook: also POST each one to JETSAGA_NOTIFICATIONS_WEBHOOK_URL',
  },
  webhookUrl: {
    env: 'JETSAGA_NOTIFICATIONS_WEBHOOK_URL',
    schema: z
      .url({ protocol: /^https?$/, error: 'an http(s) URL such as https://mail.example.com/send' })
      .optional(),
    help: "the mail service's endpoint (a JSON POST per notification, Idempotency-Key: its id)",
  },
  webhookToken: {
    env: 'JETSAGA_NOTIFICATIONS_WEBHOOK_TOKEN',
    schema: z.string().min(1).optional(),
    help: 'bearer token for the webhook',
    secret: true,
  },
  timeoutMs: {
    env: 'JETSAGA_NOTIFICATIONS_TIMEOUT_MS',
    schema: z.coerce.number().int().min(50).max(60_000).default(5_000),
    help: 'give up on one webhook call after this (the event is retried)',
  },
});

export type NotificationConfig = ReturnType<typeof notificationSettings.load>;

/**
 * The settings from `env` and the flags in `argv` (the process's by default), `overrides` winning.
 * A webhook sender without its URL is refused here, naming both settings.
 */
export function loadNotificationConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<NotificationConfig> = {},
  argv: readonly string[] = env === process.env ? process.argv.slice(2) : [],
): NotificationConfig {
  const config = { ...notificationSettings.load(env, argv), ...overrides };
  if (config.sender === 'webhook' && !config.webhookUrl) {
    const field = '--notifications-webhook-url / JETSAGA_NOTIFICATIONS_WEBHOOK_URL';
    const message = 'required when JETSAGA_NOTIFICATIONS_SENDER is webhook';
    throw new ValidationError(`invalid configuration:\n  ${field}: ${message}`, [{ field, message }]);
  }
  return config;
}
