import type { AnyBulkWriteOperation, Db, UpdateOneModel } from 'mongodb';
import { Batcher, onlyDuplicates } from 'jetsaga';
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

/**
 * Which customers used a card, and when (recent times only): one small document per (card,
 * customer), so "other customers on this card in 24 h" reads one document per customer, not one
 * per payment. A card shared by many payments (a test card, a company card) made that query read
 * up to 500 payments for every new one: the fraud agent's largest cost in the bench.
 */
export interface CardUseDoc {
  _id: string;
  cardKey: string;
  customerId: string;
  /** The payment times of this customer on this card, the latest `cardUseTimes` recorded. */
  at: Date[];
}

const maxHistory = 500;
/** Payment times kept per (card, customer): enough to answer a 24 h window for a redelivery too. */
const cardUseTimes = 32;

export class VelocityStore {
  /**
   * Payments recorded at the same time (the verdicts of one fetched batch) go together: one bulk
   * upsert per collection instead of two round trips per payment (group commit, see Batcher).
   */
  private readonly recorder = new Batcher<PaymentFacts, void>((batch) => this.recordBatch(batch), {
    maxBatch: 256,
    maxInFlight: 2,
  });

  constructor(readonly db: Db) {}

  get events() {
    return this.db.collection<PaymentEventDoc>('fraud_customer_events');
  }

  get cardUses() {
    return this.db.collection<CardUseDoc>('fraud_card_customers');
  }

  /**
   * One index per query of `history`, led by the field that query tests for equality: mongod
   * answers the equality, the window on `at` and the sort from it; the local MongoDB-wire
   * server keys a secondary index on its first field, which is that same equality. (Agents
   * before `fraud_card_customers` also indexed the payments by `{cardKey, at}`; nothing reads
   * that index now, and it is left where it exists.)
   */
  async setup(): Promise<void> {
    await this.events.createIndex({ customerId: 1, at: -1 });
    await this.cardUses.createIndex({ cardKey: 1 });
    await this.backfillCardUses();
  }

  /**
   * Payments recorded before `fraud_card_customers` existed, for the card window (once: when it is
   * empty and there are payments). Pushing a time twice (two replicas starting together) is harmless.
   */
  private async backfillCardUses(): Promise<void> {
    if ((await this.cardUses.findOne({}, { projection: { _id: 1 } })) !== null) return;
    const since = new Date(Date.now() - cardWindowMs);
    const ops: AnyBulkWriteOperation<CardUseDoc>[] = [];
    for await (const e of this.events.find(
      { at: { $gte: since } },
      { projection: { cardKey: 1, customerId: 1, at: 1 } },
    ))
      ops.push({ updateOne: cardUseUpdate(e.cardKey, e.customerId, e.at) });
    for (let i = 0; i < ops.length; i += 1000)
      await this.cardUses.bulkWrite(ops.slice(i, i + 1000), { ordered: false });
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
        // All of it in the first batch: mongod's default first batch is 101 documents, and each
        // further batch is another round trip before the verdict.
        .batchSize(maxHistory)
        .toArray(),
      // Customers with a payment on this card within the window (one document each).
      this.cardUses
        .find(
          {
            cardKey: p.cardKey,
            at: { $elemMatch: { $gte: new Date(p.at - cardWindowMs), $lte: until } },
          },
          { projection: { customerId: 1 } },
        )
        .limit(maxHistory)
        .batchSize(maxHistory)
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

  /** Records a payment once, however often it is recorded (upserts keyed by its payment id). */
  record(p: PaymentFacts): Promise<void> {
    return this.recorder.submit(p);
  }

  private async recordBatch(batch: PaymentFacts[]): Promise<void[]> {
    const events: AnyBulkWriteOperation<PaymentEventDoc>[] = batch.map((p) => ({
      updateOne: {
        filter: { _id: p.paymentId },
        update: {
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
        upsert: true,
      },
    }));
    const uses: AnyBulkWriteOperation<CardUseDoc>[] = batch.map((p) => ({
      updateOne: cardUseUpdate(p.cardKey, p.customerId, new Date(p.at)),
    }));
    await Promise.all([
      upsertAll(() => this.events.bulkWrite(events, { ordered: false })),
      upsertAll(() => this.cardUses.bulkWrite(uses, { ordered: false })),
    ]);
    return batch.map(() => undefined);
  }
}

/**
 * Two upserts of one `_id` at the same moment (another replica recording the same payment) can
 * both try the insert: one of them fails with a duplicate key. Sent again, each finds the document
 * and matches it, so that error alone is retried once; any other fails the batch (its payments are
 * redelivered and recorded again, which changes nothing).
 */
async function upsertAll(write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (err) {
    if (!onlyDuplicates(err)) throw err;
    await write();
  }
}

/** The upsert that adds one payment time to a (card, customer) document, keeping the latest few. */
function cardUseUpdate(cardKey: string, customerId: string, at: Date): UpdateOneModel<CardUseDoc> {
  return {
    filter: { _id: `${cardKey}|${customerId}` },
    update: {
      $setOnInsert: { cardKey, customerId },
      $push: { at: { $each: [at], $slice: -cardUseTimes } },
    },
    upsert: true,
  };
}
