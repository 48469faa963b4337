import { describe, expect, it } from 'vitest';
import { loadPaymentBlockingConfig, parseDuration } from './config.ts';

describe('payment-blocking settings', () => {
  it('blocks for 24 hours by default', () => {
    expect(loadPaymentBlockingConfig({}).duration).toBe(86_400_000);
  });

  it('reads durations with a unit, or milliseconds', () => {
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1500')).toBe(1_500);
    expect(loadPaymentBlockingConfig({ JETSAGA_PAYMENT_BLOCKING_DURATION: '2h' }).duration).toBe(7_200_000);
  });

  it('a bad duration names the setting and what it accepts', () => {
    expect(() => loadPaymentBlockingConfig({ JETSAGA_PAYMENT_BLOCKING_DURATION: 'a day' })).toThrow(
      /--payment-blocking-duration \/ JETSAGA_PAYMENT_BLOCKING_DURATION: a duration such as 24h/,
    );
    expect(() => loadPaymentBlockingConfig({ JETSAGA_PAYMENT_BLOCKING_DURATION: '10ms' })).toThrow(
      /between 1s and 366d/,
    );
  });
});
