import { describe, expect, it } from 'vitest';
import { maxOrderTotal, maxQuantity, maxUnitPrice, OrderInput } from './schema.ts';

const order = (items: unknown) => ({
  customerId: 'cust-1',
  items,
  payment: { token: 'tok_visa' },
  shippingAddress: {
    name: 'Ada',
    line1: '12 St James Sq',
    city: 'London',
    postalCode: 'SW1Y',
    country: 'GB',
  },
});

const fields = (input: unknown) =>
  OrderInput.safeParse(input).error?.issues.map((i) => i.path.join('.')) ?? [];

describe('OrderInput: money and quantities', () => {
  it('accepts an ordinary order, cents included', () => {
    expect(OrderInput.safeParse(order([{ sku: 'SKU-1', qty: 2, unitPrice: 19.99 }])).success).toBe(true);
  });

  it('refuses unit prices that are huge, negative, not finite or finer than a cent, naming the field', () => {
    for (const unitPrice of [1e308, maxUnitPrice + 0.01, -0.01, Infinity, Number.NaN, 1.005])
      expect(fields(order([{ sku: 'A', qty: 1, unitPrice }]))).toEqual(['items.0.unitPrice']);
  });

  it('refuses quantities that are not positive whole numbers up to the maximum', () => {
    for (const qty of [0, -1, 1.5, maxQuantity + 1, 1e308, Infinity])
      expect(fields(order([{ sku: 'A', qty, unitPrice: 1 }]))).toEqual(['items.0.qty']);
    expect(fields(order([{ sku: 'A', qty: maxQuantity, unitPrice: 1 }]))).toEqual([]);
  });

  it('bounds the total of all lines, which every line may respect on its own', () => {
    const line = { sku: 'A', qty: maxQuantity, unitPrice: maxUnitPrice };
    const lines = Math.ceil(maxOrderTotal / (maxQuantity * maxUnitPrice)) + 1;
    const issues = OrderInput.safeParse(order(Array.from({ length: lines }, () => line))).error?.issues ?? [];
    expect(issues.map((i) => i.path.join('.'))).toEqual(['items']);
    expect(issues[0]!.message).toMatch(/total/);
  });
});
