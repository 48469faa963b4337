import type { Db } from 'mongodb';
import { isDuplicateKey } from 'jetsaga';

/**
 * The restock agent's collections (it owns them; no other role writes them):
 *
 * - `restock_agent_events`, its inbox: one record per event it saw, keyed by the event's id (the
 *   host inserts it, so a redelivery adds nothing). A sale (`inventory.committed`) keeps its day
 *   and lines: the demand history the forecast reads is these records, summed per SKU and day.
 * - `restock_skus`, one document per SKU: the last stock level seen, the last forecast with its
 *   reorder point, and the recommendation open for it (at most one: `open`).
 * - `restock_recommendations`, one document per recommendation, open, then closed with its saga's
 *   outcome (or dropped when another one held the SKU): what it said, and whether it is over, so a
 *   late copy of the sale that opened one never opens it again.
 */
export const agentInbox = 'restock_agent_events';

export interface SaleLine {
  sku: string;
  qty: number;
}

export interface AgentRecord {
  _id: string;
  at: Date;
  kind?: 'sale' | 'stockout' | 'received' | 'closed';
  /** Demand day: ms since the epoch / the configured day length, floored. */
  day?: number;
  lines?: SaleLine[];
  sku?: string;
}

export interface StoredForecast {
  at: Date;
  reorderPoint: number;
  orderUpTo: number;
  mean: number;
  low: number;
  high: number;
  /** Mean absolute lead-time error of the model's past forecasts of this SKU (units). */
  meanAbsError: number;
  modelVersion: string;
  days: number;
}

export interface OpenRecommendation {
  recommendationId: string;
  qty: number;
  at: Date;
  sagaId: string | null;
}

export interface SkuDoc {
  _id: string;
  /** The stock at its latest forecast (decisions use each sale's own reading). */
  available?: number;
  firstDay?: number;
  forecast?: StoredForecast;
  open: OpenRecommendation | null;
  lastOutcome?: { recommendationId: string; status: string; reason: string | null; at: Date };
}

export interface RecommendationDoc {
  _id: string;
  sku: string;
  status: 'open' | 'closed' | 'dropped';
  qty: number;
  data: Record<string, unknown>;
  openedAt: Date;
  closedAt?: Date;
  outcome?: { status: string; reason: string | null };
}

export const records = (db: Db) => db.collection<AgentRecord>(agentInbox);
export const recommendations = (db: Db) => db.collection<RecommendationDoc>('restock_recommendations');
export const skus = (db: Db) => db.collection<SkuDoc>('restock_skus');

export async function setupAgentStore(db: Db): Promise<void> {
  await records(db).createIndex({ kind: 1, day: 1 });
  await records(db).createIndex({ at: 1 });
  await recommendations(db).createIndex({ sku: 1, openedAt: 1 });
}

/** A SKU's document, made when the agent first sees it sell (`firstDay`: that sale's day). */
export async function firstSight(db: Db, sku: string, day: number): Promise<SkuDoc> {
  const doc: SkuDoc = { _id: sku, firstDay: day, open: null };
  try {
    await skus(db).insertOne(doc);
    return doc;
  } catch (err) {
    // Made meanwhile by another sale of it.
    if (!isDuplicateKey(err)) throw err;
    return (await skus(db).findOne({ _id: sku })) ?? doc;
  }
}

/**
 * Units sold per day of one SKU, from `fromDay` to `toDay` (both included), oldest first: the sale
 * records summed, plus `extra` (the event being handled, not recorded yet). Also the days on which
 * the SKU ran out.
 */
export async function demandOf(
  db: Db,
  sku: string,
  fromDay: number,
  toDay: number,
  extra: { day: number; qty: number } | null,
): Promise<{ demand: number[]; stockoutDays: number[] }> {
  const demand = new Array<number>(toDay - fromDay + 1).fill(0);
  const sold = await records(db)
    .aggregate<{ _id: number; qty: number }>([
      { $match: { kind: 'sale', day: { $gte: fromDay, $lte: toDay }, 'lines.sku': sku } },
      { $unwind: '$lines' },
      { $match: { 'lines.sku': sku } },
      { $group: { _id: '$day', qty: { $sum: '$lines.qty' } } },
    ])
    .toArray();
  for (const { _id, qty } of sold) demand[_id - fromDay] = (demand[_id - fromDay] ?? 0) + qty;
  if (extra && extra.day >= fromDay && extra.day <= toDay) demand[extra.day - fromDay]! += extra.qty;
  const outs = await records(db)
    .find({ kind: 'stockout', sku, day: { $gte: fromDay, $lte: toDay } }, { projection: { day: 1 } })
    .toArray();
  const stockoutDays = [...new Set(outs.map((o) => o.day! - fromDay))].sort((a, b) => a - b);
  return { demand, stockoutDays };
}

/**
 * Opens a recommendation (its document, then the SKU's `open`), or finds it made already (a copy of
 * the event that opened it, or a run of it after a crash). `open`: it is the SKU's open
 * recommendation now; `over`: it was opened and has closed since (its restock ended before this
 * copy came: it is said again, never opened again); `held`: another recommendation holds the SKU,
 * and this one is dropped. `data` is what the recommendation said when it was made. Closing marks
 * the document first, then frees the SKU, so a run that took the SKU meanwhile sees the document
 * closed and gives the SKU back.
 */
export async function openRecommendation(
  db: Db,
  rec: Omit<RecommendationDoc, 'status'>,
): Promise<{ state: 'open' | 'over' | 'held'; data: Record<string, unknown> }> {
  let data = rec.data;
  try {
    await recommendations(db).insertOne({ ...rec, status: 'open' });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const existing = await recommendations(db).findOne({ _id: rec._id });
    if (!existing || existing.status === 'dropped') return { state: 'held', data };
    data = existing.data;
    if (existing.status === 'closed') return { state: 'over', data };
  }
  const open: OpenRecommendation = {
    recommendationId: rec._id,
    qty: rec.qty,
    at: rec.openedAt,
    sagaId: null,
  };
  const claimed = await skus(db).updateOne(
    { _id: rec.sku, $or: [{ open: null }, { 'open.recommendationId': rec._id }] },
    { $set: { open } },
  );
  if (claimed.matchedCount === 0) {
    await recommendations(db).updateOne({ _id: rec._id, status: 'open' }, { $set: { status: 'dropped' } });
    return { state: 'held', data };
  }
  const now = await recommendations(db).findOne({ _id: rec._id }, { projection: { status: 1 } });
  if (now?.status === 'open') return { state: 'open', data };
  await skus(db).updateOne({ _id: rec.sku, 'open.recommendationId': rec._id }, { $set: { open: null } });
  return { state: now?.status === 'closed' ? 'over' : 'held', data };
}

/** Closes a recommendation once its restock saga ended, whatever the outcome; true when it was open. */
export async function closeRecommendation(
  db: Db,
  sku: string,
  outcome: { recommendationId: string; status: string; reason: string | null; at: Date },
): Promise<boolean> {
  const res = await recommendations(db).updateOne(
    { _id: outcome.recommendationId, status: 'open' },
    {
      $set: {
        status: 'closed',
        closedAt: outcome.at,
        outcome: { status: outcome.status, reason: outcome.reason },
      },
    },
  );
  await skus(db).updateOne(
    { _id: sku, 'open.recommendationId': outcome.recommendationId },
    { $set: { open: null, lastOutcome: outcome } },
  );
  return res.modifiedCount === 1;
}

/** Deletes at most `limit` records older than `before` (the demand history's window): a bounded round. */
export async function purgeOldRecords(db: Db, before: Date, limit: number): Promise<number> {
  const old = await records(db)
    .find({ at: { $lt: before } }, { projection: { _id: 1 }, limit })
    .toArray();
  if (old.length === 0) return 0;
  return (await records(db).deleteMany({ _id: { $in: old.map((o) => o._id) } })).deletedCount;
}
