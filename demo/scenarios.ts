import type { OrderInput } from '../sagas/order-fulfillment/index.ts';

/** The demo's order mix: mostly orders that complete, and one of each deterministic failure. */
export interface Scenario {
  name: string;
  expect: 'completed' | 'compensated';
  order: (i: number) => OrderInput;
}

const base = (i: number): OrderInput => ({
  orderId: `demo-${Date.now().toString(36)}-${i}`,
  customerId: `cust-${i % 7}`,
  currency: 'USD',
  items: [
    { sku: `SKU-${(i % 9) + 1}`, qty: 1 + (i % 3), unitPrice: 19.99 },
    { sku: `SKU-${((i + 4) % 9) + 1}`, qty: 1, unitPrice: 5 },
  ],
  payment: { token: 'tok_visa' },
  shippingAddress: {
    name: `Customer ${i}`,
    line1: `${i} Harbour Road`,
    city: 'Lisbon',
    postalCode: '1100-001',
    country: 'PT',
  },
});

export const scenarios: Scenario[] = [
  { name: 'happy', expect: 'completed', order: base },
  { name: 'happy', expect: 'completed', order: base },
  { name: 'happy', expect: 'completed', order: base },
  { name: 'happy', expect: 'completed', order: base },
  { name: 'happy', expect: 'completed', order: base },
  { name: 'happy', expect: 'completed', order: base },
  {
    name: 'out-of-stock',
    expect: 'compensated',
    order: (i) => ({ ...base(i), items: [{ sku: 'SKU-OUT', qty: 1, unitPrice: 99 }] }),
  },
  {
    name: 'card-declined',
    expect: 'compensated',
    order: (i) => ({ ...base(i), payment: { token: 'tok_declined' } }),
  },
  {
    name: 'capture-fails',
    expect: 'compensated',
    order: (i) => ({ ...base(i), payment: { token: 'tok_capture_fails' } }),
  },
  {
    name: 'no-carrier',
    expect: 'compensated',
    order: (i) => ({ ...base(i), shippingAddress: { ...base(i).shippingAddress, country: 'AQ' } }),
  },
];

export const scenarioFor = (i: number): Scenario => scenarios[i % scenarios.length]!;
