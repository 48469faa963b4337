import type { Db } from 'mongodb';
import { cardWindowMs, type History, historyWindowMs, type PaymentFacts, toUsd } from './facts.ts';

/**
 * The customer's recent payments in MongoDB (`fraud_customer_events`), one document per
 * payment keyed by its payment id, so recording the same payment twice changes nothing.
 * Sliding windows are range queries on `at`, the payment's own time, which makes the
 * history of a payment the same on every redelivery.
 */
export interface PaymentEventDoc {
  _id: string;
  customerId: string;
  at: Date;
  amountUsd: number;
  cardKey: string;
  ipCountry: string | null;
  shippingCountry: string;
  shippingKey: string;
}

const maxHistory = 500;

export class VelocityStore {
  constructor(private readonly db: Db) {}

  get events() {
    return this.db.collection<PaymentEventDoc>('fraud_customer_events');
  }

  /**
   * One index per query of `history`, led by the field that query tests for equality
   * (each filter starts with it): mongod answers the equality, the window on `at` and the
   * sort from it; the local MongoDB-wire server keys a secondary index on its first field,
   * which is that same equality. The two queries stay two (sent together): one `$or` of
   * them would be a scan on that server, whose indexes serve only a top-level field.
   */
  async setup(): Promise<void> {
    await this.events.createIndex({ customerId: 1, at: -1 });
    await this.events.createIndex({ cardKey: 1, at: -1 });
  }

  async history(p: PaymentFacts): Promise<History> {
    const until = new Date(p.at);
    const [customer, card] = await Promise.all([
      this.events
        .find({
          customerId: p.customerId,
          at: { $gte: new Date(p.at - historyWindowMs), $lte: until },
          _id: { $ne: p.paymentId },
        })
        .sort({ at: -1 })
        .limit(maxHistory)
        .toArray(),
      this.events
        .find(
          { cardKey: p.cardKey, at: { $gte: new Date(p.at - cardWindowMs), $lte: until } },
          { projection: { customerId: 1 } },
        )
        .limit(maxHistory)
        .toArray(),
    ]);
    const others = new Set(card.map((e) => e.customerId).filter((c) => c !== p.customerId));
    return {
      customer: customer.map((e) => ({
        paymentId: e._id,
        at: e.at.getTime(),
        amountUsd: e.amountUsd,
        cardKey: e.cardKey,
        ipCountry: e.ipCountry,
        shippingCountry: e.shippingCountry,
        shippingKey: e.shippingKey,
      })),
      otherCustomersOnCard24h: others.size,
    };
  }

  async record(p: PaymentFacts): Promise<void> {
    await this.events.updateOne(
      { _id: p.paymentId },
      {
        $setOnInsert: {
          customerId: p.customerId,
          at: new Date(p.at),
          amountUsd: Math.round(toUsd(p.amount, p.currency) * 100) / 100,
          cardKey: p.cardKey,
          ipCountry: p.ipCountry,
          shippingCountry: p.shippingCountry,
          shippingKey: p.shippingKey,
        },
      },
      { upsert: true },
    );
  }
}
