import { z } from 'zod';
import { defineReactor, type ReactorDefinition, ValidationError } from 'jetsaga';
import { blockCard, setupCardBlocks } from './blocks.ts';
import { loadPaymentBlockingConfig, type PaymentBlockingConfig } from './config.ts';

export { activeCardBlock, blockCard, type CardBlockDoc, cardBlocksCollection } from './blocks.ts';
export {
  loadPaymentBlockingConfig,
  parseDuration,
  type PaymentBlockingConfig,
  paymentBlockingSettings,
} from './config.ts';

/** What payment-blocking reads of a `fraud.flagged` (the fraud agent's verdict). */
const Flagged = z.object({
  orderId: z.string().min(1),
  score: z.number().optional(),
  customerId: z.string().min(1).optional(),
  cardFingerprint: z.string().min(1).optional(),
});

/**
 * The `payment-blocking` reactor: on every `fraud.flagged`, blocks the payment's card (by its
 * fingerprint) for `JETSAGA_PAYMENT_BLOCKING_DURATION` (24 h by default) in `card_blocks`, which it
 * owns. The payment service reads the blocks and declines an authorization on a blocked card with
 * reason `card-blocked`, so the next order on that card compensates. No saga knows about it: it
 * reacts to the fraud agent's event and publishes nothing.
 *
 * The card comes from the verdict's `cardFingerprint` (an optional field the fraud agent copies from
 * payment.authorized). A verdict without one (from a fraud agent older than the field) blocks
 * nothing: it is recorded and logged, since a later redelivery would not have one either.
 */
export function paymentBlocking(overrides: Partial<PaymentBlockingConfig> = {}): ReactorDefinition {
  let config: PaymentBlockingConfig | undefined;
  return defineReactor({
    name: 'payment-blocking',
    description: 'blocks the card of a fraud.flagged payment for a while; payment declines it (card-blocked)',
    source: 'payment-blocking',
    on: 'fraud.flagged',
    inbox: 'payment_blocking_flags',
    async setup(ctx) {
      config = loadPaymentBlockingConfig(process.env, overrides);
      await setupCardBlocks(ctx.db);
      ctx.log.info({ durationMs: config.duration }, 'payment-blocking started');
    },
    async react(event, ctx) {
      if (!config) throw new Error('payment-blocking: react before setup');
      const parsed = Flagged.safeParse(event.data);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
        throw new ValidationError(
          `fraud.flagged: ${issues.map((i) => `${i.field || '(root)'}: ${i.message}`).join('; ')}`,
          issues,
        );
      }
      const d = parsed.data;
      if (!d.cardFingerprint) {
        ctx.log.warn(
          { orderId: d.orderId },
          'fraud.flagged names no card (an older fraud agent?); nothing blocked',
        );
        return { record: { blocked: null, orderId: d.orderId } };
      }
      const flaggedAt = new Date(event.occurredAt);
      await blockCard(ctx.db, {
        fingerprint: d.cardFingerprint,
        flaggedAt,
        durationMs: config.duration,
        flag: { eventId: event.id, sagaId: event.sagaId, orderId: d.orderId, score: d.score ?? null },
        customerId: d.customerId ?? null,
      });
      const until = new Date(flaggedAt.getTime() + config.duration);
      ctx.log.info({ orderId: d.orderId, card: d.cardFingerprint, until }, 'card blocked after a fraud flag');
      return { record: { blocked: d.cardFingerprint, orderId: d.orderId, until } };
    },
  });
}
