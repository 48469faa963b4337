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

/** The BIN the payment service reports for `tok_visa`, given with each customer's own card. */
const testCardBin = '424242';

const kinds: Array<{ kind: PlannedOrder['kind']; expect: Expect; weight: number }> = [
  { kind: 'happy', expect: 'completed', weight: 6 },
  { kind: 'out-of-stock', expect: 'compensated', weight: 1 },
  { kind: 'card-declined', expect: 'compensated', weight: 1 },
  { kind: 'capture-fails', expect: 'compensated', weight: 1 },
  { kind: 'no-carrier', expect: 'compensated', weight: 1 },
];

/** Who places the orders: how many customers, and what they pay with. */
export interface Population {
  /** Customers drawn from, uniformly: `cust-0` ... `cust-<customers - 1>`. */
  customers: number;
  /**
   * Each customer pays with a card of their own (token `tok_<customerId>`, the BIN of the test
   * card), instead of every customer sharing the test card `tok_visa`. The declined and
   * capture-failing orders keep their test tokens either way: the payment service keys on them.
   */
  ownCards: boolean;
}

/**
 * The scale and chaos tests' population, and the bench's `--mix hot`: 50 customers sharing one
 * test card. Under load each customer pays several times a second, so the fraud agent's 30-day
 * history of a customer fills to its 500-payment cap within minutes and the card is shared by
 * every customer: the fraud agent's worst case.
 */
export const hotPopulation: Population = { customers: 50, ownCards: false };

/**
 * The bench's default (`--mix shop`): 100,000 customers, each with a card of their own, as a shop's
 * traffic looks; a full bench run's 20,000-odd orders give most of them one at most.
 */
export const shopPopulation: Population = { customers: 100_000, ownCards: true };

export function planOrders(
  count: number,
  seed: number,
  prefix: string,
  population: Population = hotPopulation,
): PlannedOrder[] {
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
    const customerId = `cust-${pick(population.customers)}`;
    const input: OrderInput = {
      orderId: `${prefix}-${i}`,
      customerId,
      currency: 'USD',
      items: kind.kind === 'out-of-stock' ? [...items, { sku: 'SKU-OUT', qty: 1, unitPrice: 99 }] : items,
      payment:
        kind.kind === 'card-declined'
          ? { token: 'tok_declined' }
          : kind.kind === 'capture-fails'
            ? { token: 'tok_capture_fails' }
            : population.ownCards
              ? { token: `tok_${customerId}`, bin: testCardBin }
              : { token: 'tok_visa' },
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
