// The scale test's order mix, reproducible from a seed: mostly orders that complete, and each kind of
// order that compensates (the shapes of demo/scenarios.ts), with varied SKUs and quantities.
import type { OrderInput } from '../../sagas/order-fulfillment/index.ts';

export type Expect = 'completed' | 'compensated';

export interface PlannedOrder {
  kind: 'happy' | 'out-of-stock' | 'card-declined' | 'capture-fails' | 'no-carrier';
  expect: Expect;
  input: OrderInput;
}

/** mulberry32: a tiny seeded PRNG, so that `--seed` reproduces the same orders and the same victims. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const kinds: Array<{ kind: PlannedOrder['kind']; expect: Expect; weight: number }> = [
  { kind: 'happy', expect: 'completed', weight: 6 },
  { kind: 'out-of-stock', expect: 'compensated', weight: 1 },
  { kind: 'card-declined', expect: 'compensated', weight: 1 },
  { kind: 'capture-fails', expect: 'compensated', weight: 1 },
  { kind: 'no-carrier', expect: 'compensated', weight: 1 },
];

export function planOrders(count: number, seed: number, prefix: string): PlannedOrder[] {
  const rand = prng(seed);
  const pick = (n: number) => Math.floor(rand() * n);
  const total = kinds.reduce((sum, k) => sum + k.weight, 0);
  return Array.from({ length: count }, (_, i) => {
    let roll = rand() * total;
    const kind = kinds.find((k) => (roll -= k.weight) < 0) ?? kinds[0]!;
    const items = Array.from({ length: 1 + pick(3) }, () => ({
      sku: `SKU-${1 + pick(9)}`,
      qty: 1 + pick(4),
      unitPrice: Math.round((1 + rand() * 200) * 100) / 100,
    }));
    const input: OrderInput = {
      orderId: `${prefix}-${i}`,
      customerId: `cust-${pick(50)}`,
      currency: 'USD',
      items: kind.kind === 'out-of-stock' ? [...items, { sku: 'SKU-OUT', qty: 1, unitPrice: 99 }] : items,
      payment: {
        token:
          kind.kind === 'card-declined'
            ? 'tok_declined'
            : kind.kind === 'capture-fails'
              ? 'tok_capture_fails'
              : 'tok_visa',
      },
      shippingAddress: {
        name: `Customer ${i}`,
        line1: `${i} Harbour Road`,
        city: 'Lisbon',
        postalCode: '1100-001',
        country: kind.kind === 'no-carrier' ? 'AQ' : 'PT',
      },
    };
    return { kind: kind.kind, expect: kind.expect, input };
  });
}
