import type { Db } from 'mongodb';
import { isDuplicateKey } from 'jetsaga';

/**
 * `card_blocks`: one document per blocked card, keyed by its fingerprint (the hash of the PSP token
 * that payment.authorized carries, never the token). The payment-blocking reactor owns it and is its
 * only writer; the payment service reads it through `activeCardBlock` and nothing else.
 */
export interface CardBlockDoc {
  _id: string;
  /** Blocked until then; a later flag moves it later, never earlier. */
  until: Date;
  /** When the earliest flag of the card was raised. */
  since: Date;
  reason: 'fraud';
  /** The flag that blocked the card first. */
  flag: { eventId: string; sagaId: string; orderId: string; score: number | null };
  customerId: string | null;
}

export const cardBlocksCollection = 'card_blocks';
const blocks = (db: Db) => db.collection<CardBlockDoc>(cardBlocksCollection);

export interface BlockRequest {
  fingerprint: string;
  /** When the flag was raised (the event's occurredAt): `until` is counted from it, not from now. */
  flaggedAt: Date;
  durationMs: number;
  flag: CardBlockDoc['flag'];
  customerId: string | null;
}

/**
 * Blocks a card until `flaggedAt + durationMs`, or keeps the later block it has: one upsert. Idempotent
 * per flag: `until` is computed from the flag's own time, so a second run of the same flag (a
 * redelivery, a copy, two replicas) changes nothing, and there is one document per card however many
 * flags it gets.
 */
export async function blockCard(db: Db, r: BlockRequest): Promise<void> {
  const until = new Date(r.flaggedAt.getTime() + r.durationMs);
  const write = () =>
    blocks(db).updateOne(
      { _id: r.fingerprint },
      {
        $max: { until },
        $min: { since: r.flaggedAt },
        $setOnInsert: { reason: 'fraud', flag: r.flag, customerId: r.customerId },
      },
      { upsert: true },
    );
  try {
    await write();
  } catch (err) {
    // Two first flags of one card raced to insert it: the other inserted, this one updates.
    if (!isDuplicateKey(err)) throw err;
    await write();
  }
}

/** The block of the card with this fingerprint in force at `now`, or null. One indexed read. */
export function activeCardBlock(db: Db, fingerprint: string, now: Date): Promise<CardBlockDoc | null> {
  return blocks(db).findOne({ _id: fingerprint, until: { $gt: now } });
}

/** Expired blocks are read as absent; the index lets an operator (or a TTL) clean them up. */
export async function setupCardBlocks(db: Db): Promise<void> {
  await blocks(db).createIndex({ until: 1 });
}
