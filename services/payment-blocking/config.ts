import { z } from 'zod';
import { defineSettings } from 'jetsaga';

const units = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `90s`, `30m`, `24h`, `7d`, `1500ms`, or a number of milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  return Number(m[1]) * units[(m[2] ?? 'ms') as keyof typeof units];
}

/**
 * The payment-blocking reactor's settings, in jetsaga's table (`jetsaga help` lists them). A bad
 * value stops the role with the flag and variable at fault and what they accept.
 */
export const paymentBlockingSettings = defineSettings({
  duration: {
    env: 'JETSAGA_PAYMENT_BLOCKING_DURATION',
    schema: z
      .string()
      .regex(/^\s*\d+\s*(ms|s|m|h|d)?\s*$/, 'a duration such as 24h, 30m, 90s, 7d (a bare number: ms)')
      .transform(parseDuration)
      .refine((ms) => ms >= 1_000 && ms <= 366 * units.d, 'between 1s and 366d')
      .default(units.d),
    help: 'how long a card stays blocked after a fraud flag (24h, 30m, 7d; a bare number: ms)',
  },
});

export type PaymentBlockingConfig = ReturnType<typeof paymentBlockingSettings.load>;

/** The settings from `env` and the flags in `argv` (the process's by default), `overrides` winning. */
export function loadPaymentBlockingConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<PaymentBlockingConfig> = {},
  argv: readonly string[] = env === process.env ? process.argv.slice(2) : [],
): PaymentBlockingConfig {
  return { ...paymentBlockingSettings.load(env, argv), ...overrides };
}
