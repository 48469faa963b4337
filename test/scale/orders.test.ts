import { describe, expect, it } from 'vitest';
import { OrderInput } from '../../sagas/order-fulfillment/index.ts';
import { hotPopulation, planOrders, shopPopulation } from './orders.ts';

describe('planOrders populations', () => {
  it('defaults to the hot population: 50 customers on the shared test card', () => {
    const orders = planOrders(1000, 42, 't');
    expect(orders).toEqual(planOrders(1000, 42, 't', hotPopulation));
    const customers = new Set(orders.map((o) => o.input.customerId));
    expect(customers.size).toBeLessThanOrEqual(50);
    expect(customers.size).toBeGreaterThan(40);
    const tokens = new Set(orders.map((o) => o.input.payment.token));
    expect([...tokens].sort()).toEqual(['tok_capture_fails', 'tok_declined', 'tok_visa']);
  });

  it('gives the shop population a card per customer, with the test card BIN', () => {
    const orders = planOrders(1000, 42, 't', shopPopulation);
    const plain = orders.filter((o) => o.kind !== 'card-declined' && o.kind !== 'capture-fails');
    expect(plain.length).toBeGreaterThan(500);
    for (const o of plain) {
      expect(o.input.payment).toEqual({ token: `tok_${o.input.customerId}`, bin: '424242' });
    }
    // 1,000 draws from 100,000 customers: a handful repeat at most.
    expect(new Set(orders.map((o) => o.input.customerId)).size).toBeGreaterThan(980);
    // The test tokens that the payment service keys on stay as they are.
    for (const o of orders.filter((x) => x.kind === 'capture-fails'))
      expect(o.input.payment.token).toBe('tok_capture_fails');
  });

  it('keeps the same kinds of order and the same items whatever the population', () => {
    const hot = planOrders(200, 7, 't', hotPopulation);
    const shop = planOrders(200, 7, 't', shopPopulation);
    expect(shop.map((o) => [o.kind, o.input.items])).toEqual(hot.map((o) => [o.kind, o.input.items]));
    // Every planned order is a valid saga input.
    for (const o of shop) expect(OrderInput.safeParse(o.input).success).toBe(true);
  });
});
