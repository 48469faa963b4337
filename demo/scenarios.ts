import type { OrderInput } from '../sagas/order-fulfillment/index.ts';
import type { RestockInput } from '../sagas/restock/index.ts';
import type { TripInput } from '../sagas/trip-booking/index.ts';

/**
 * The demo's order mix: mostly orders that complete, one of each deterministic failure,
 * and one the fraud agent flags: a brand-new account buying big with a card from another
 * country, shipping abroad from a foreign IP.
 */
export interface Scenario {
  name: string;
  expect: 'completed' | 'compensated';
  input: (i: number) => unknown;
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
  { name: 'happy', expect: 'completed', input: base },
  { name: 'happy', expect: 'completed', input: base },
  { name: 'happy', expect: 'completed', input: base },
  { name: 'happy', expect: 'completed', input: base },
  { name: 'happy', expect: 'completed', input: base },
  { name: 'happy', expect: 'completed', input: base },
  {
    name: 'out-of-stock',
    expect: 'compensated',
    input: (i) => ({ ...base(i), items: [{ sku: 'SKU-OUT', qty: 1, unitPrice: 99 }] }),
  },
  {
    name: 'card-declined',
    expect: 'compensated',
    input: (i) => ({ ...base(i), payment: { token: 'tok_declined' } }),
  },
  {
    name: 'capture-fails',
    expect: 'compensated',
    input: (i) => ({ ...base(i), payment: { token: 'tok_capture_fails' } }),
  },
  {
    name: 'no-carrier',
    expect: 'compensated',
    input: (i) => ({ ...base(i), shippingAddress: { ...base(i).shippingAddress, country: 'AQ' } }),
  },
  {
    name: 'fraud',
    expect: 'compensated',
    input: (i) => ({
      ...base(i),
      customerId: `new-${Date.now().toString(36)}-${i}`,
      customer: {
        createdAt: new Date(Date.now() - 10 * 60_000).toISOString(),
        email: `deals${4829 + i}@yopmail.com`,
        ipCountry: 'NG',
      },
      billingCountry: 'US',
      items: [{ sku: 'SKU-7', qty: 2, unitPrice: 925 }],
      payment: { token: `tok_demo_${i}`, bin: '426684', cardCountry: 'FR' },
      shippingAddress: { ...base(i).shippingAddress, city: 'London', postalCode: 'E1 6AN', country: 'GB' },
    }),
  },
];

const trip = (i: number): TripInput => ({
  tripId: `demo-trip-${Date.now().toString(36)}-${i}`,
  travelerId: `traveler-${i % 5}`,
  currency: 'EUR',
  flight: { from: 'LIS', to: 'CDG', date: '2027-05-01', price: 120 + i },
  hotel: { city: 'Paris', nights: 1 + (i % 4), price: 300 },
  car: { city: 'Paris', days: 2, price: 80 },
  payment: { token: 'tok_visa' },
  deadlineMs: 120_000,
});

/** The trip demo's mix: trips that confirm, and each way one fails and is undone in reverse. */
export const tripScenarios: Scenario[] = [
  { name: 'happy', expect: 'completed', input: trip },
  { name: 'happy', expect: 'completed', input: trip },
  { name: 'happy', expect: 'completed', input: trip },
  { name: 'no-car', expect: 'completed', input: (i) => ({ ...trip(i), car: undefined }) },
  {
    name: 'sold-out',
    expect: 'compensated',
    input: (i) => ({ ...trip(i), flight: { ...trip(i).flight, to: 'ZZZ' } }),
  },
  {
    name: 'no-vacancy',
    expect: 'compensated',
    input: (i) => ({ ...trip(i), hotel: { ...trip(i).hotel, city: 'Atlantis' } }),
  },
  {
    name: 'no-cars',
    expect: 'compensated',
    input: (i) => ({ ...trip(i), car: { city: 'Venice', days: 2, price: 80 } }),
  },
  {
    name: 'declined',
    expect: 'compensated',
    input: (i) => ({ ...trip(i), payment: { token: 'tok_declined' } }),
  },
];

const restockInput = (i: number): RestockInput => ({
  purchaseOrderId: `demo-po-${Date.now().toString(36)}-${i}`,
  recommendationId: `demo-rec-${i}`,
  sku: `SKU-${(i % 9) + 1}`,
  qty: 50 + 10 * (i % 5),
  unitCost: 4.25,
  currency: 'USD',
  supplier: 'acme',
  leadTimeMs: 60_000,
  approvalThreshold: 10_000,
});

/**
 * The restock demo's mix: purchases received into stock, a refused one, a late one (its lead time is
 * short), and a large one nobody approves whose deadline policy places it.
 */
export const restockScenarios: Scenario[] = [
  { name: 'happy', expect: 'completed', input: restockInput },
  { name: 'happy', expect: 'completed', input: restockInput },
  { name: 'happy', expect: 'completed', input: restockInput },
  { name: 'refused', expect: 'compensated', input: (i) => ({ ...restockInput(i), sku: 'SKU-REFUSED' }) },
  {
    name: 'late',
    expect: 'compensated',
    input: (i) => ({ ...restockInput(i), supplier: 'late-freight', leadTimeMs: 2_000 }),
  },
  {
    name: 'no-approver',
    expect: 'completed',
    input: (i) => ({
      ...restockInput(i),
      qty: 5_000,
      approvalTimeoutMs: 1_000,
      approvalTimeoutPolicy: 'approve',
    }),
  },
];

const bySaga: Record<string, Scenario[]> = {
  'order-fulfillment': scenarios,
  'trip-booking': tripScenarios,
  restock: restockScenarios,
};
export const demoSagas = Object.keys(bySaga);

export const scenarioFor = (saga: string, i: number): Scenario => {
  const list = bySaga[saga]!;
  return list[i % list.length]!;
};
