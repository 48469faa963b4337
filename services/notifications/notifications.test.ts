import { describe, expect, it } from 'vitest';
import type { Envelope } from 'jetsaga';
import { loadNotificationConfig } from './config.ts';
import { notificationOf } from './messages.ts';

const env = (type: string, data: Record<string, unknown>, id = 'e-1'): Envelope => ({
  id,
  type,
  schemaVersion: 1,
  occurredAt: '2026-01-01T00:00:00.000Z',
  sagaId: 's-1',
  sagaType: 'order-fulfillment',
  correlationId: 's-1',
  causationId: null,
  data,
});

const orders = new Set(['order-fulfillment']);
const output = { orderId: 'o-1', customerId: 'c-1', amount: 20, currency: 'USD', trackingNumber: 'TRK-9' };
const ended = (status: string, reason: string | null, extra: Record<string, unknown> = {}) =>
  env('saga.ended', {
    sagaType: 'order-fulfillment',
    status,
    reason,
    output: { ...output, status, reason },
    ...extra,
  });

describe('notificationOf', () => {
  it('tells the customer how the order ended, keyed by the event id', () => {
    expect(notificationOf(ended('completed', null), orders)).toEqual({
      id: 'e-1',
      sagaId: 's-1',
      kind: 'order-completed',
      customerId: 'c-1',
      orderId: 'o-1',
      subject: 'Order o-1 is on its way',
      text: 'Your order o-1 (20.00 USD) is confirmed and shipped; tracking number TRK-9.',
    });
    expect(notificationOf(ended('compensated', 'payment-declined: card-blocked'), orders)).toMatchObject({
      kind: 'order-compensated',
      text: 'Your order o-1 (20.00 USD) could not be completed because the card is blocked after a security check. Nothing was charged.',
    });
    expect(notificationOf(ended('compensated', 'out-of-stock'), orders)?.text).toContain(
      'an item is out of stock',
    );
    expect(notificationOf(ended('failed', 'machine-error'), orders)?.kind).toBe('order-failed');
    expect(notificationOf(ended('cancelled', 'cancelled: changed mind'), orders)?.kind).toBe(
      'order-cancelled',
    );
  });

  it('says nothing of sagas of other types, or whose output names no customer', () => {
    expect(notificationOf(ended('completed', null, { sagaType: 'trip-booking' }), orders)).toBeNull();
    expect(notificationOf(ended('failed', 'machine-error', { output: undefined }), orders)).toBeNull();
    expect(notificationOf(ended('completed', null), new Set(['trip-booking']))).toBeNull();
  });

  it('tells the customer of a fraud flag, when the verdict names them', () => {
    const flag = env(
      'fraud.flagged',
      { orderId: 'o-2', paymentId: 'p', customerId: 'c-2', score: 0.9 },
      'f-1',
    );
    expect(notificationOf(flag, orders)).toMatchObject({
      id: 'f-1',
      kind: 'fraud-flagged',
      customerId: 'c-2',
      orderId: 'o-2',
    });
    expect(notificationOf(env('fraud.flagged', { orderId: 'o-2', paymentId: 'p' }), orders)).toBeNull();
  });

  it('is the same notification every time it runs for the same event', () => {
    expect(notificationOf(ended('completed', null), orders)).toEqual(
      notificationOf(ended('completed', null), orders),
    );
  });
});

describe('notification settings', () => {
  it('record only by default, for order sagas', () => {
    expect(loadNotificationConfig({})).toMatchObject({
      sender: 'record',
      sagaTypes: ['order-fulfillment'],
      timeoutMs: 5000,
    });
  });

  it('a webhook sender without its URL is refused, naming the setting', () => {
    expect(() => loadNotificationConfig({ JETSAGA_NOTIFICATIONS_SENDER: 'webhook' })).toThrow(
      /JETSAGA_NOTIFICATIONS_WEBHOOK_URL: required when JETSAGA_NOTIFICATIONS_SENDER is webhook/,
    );
  });

  it('a bad value names its flag and variable', () => {
    expect(() => loadNotificationConfig({ JETSAGA_NOTIFICATIONS_SENDER: 'smtp' })).toThrow(
      /--notifications-sender \/ JETSAGA_NOTIFICATIONS_SENDER/,
    );
    expect(() => loadNotificationConfig({ JETSAGA_NOTIFICATIONS_SAGA_TYPES: 'Order Saga' })).toThrow(
      /JETSAGA_NOTIFICATIONS_SAGA_TYPES: saga types, comma separated/,
    );
  });
});
