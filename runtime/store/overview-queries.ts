import type { Document } from 'mongodb';
import type { SagaStatus } from './saga-doc.ts';
import type { SagaCollections } from './saga-queries.ts';

/**
 * The fleet at a glance (the inspector's overview and `GET /v1/overview`): what the sagas touched
 * in a recent window did. Every pipeline starts with a `$match` on an indexed date (`updatedAt`, or
 * `createdAt` of the list's index) bounded below by the window's start, and only `$match`, `$group`,
 * `$project`, `$sort` and `$limit` with `$sum`, `$push`, `$subtract`, `$divide` and `$floor`: the
 * stages and operators mongod and the local MongoDB-wire server (mongo-java-server) both run.
 * Percentiles are computed here from a bounded sample: `$percentile` is mongod 7+ only.
 */

/** What the overview reads: the window and its limits. */
export interface OverviewWindow {
  /** The window's start (inclusive). */
  since: Date;
  /** Its end: now. */
  until: Date;
  /** The width of one bucket of the per-bucket series; the window holds `buckets` of them. */
  bucketMs: number;
  buckets: number;
  /** At most this many ended sagas, the latest, make the duration percentiles. */
  durationSample: number;
  /** How many reasons to return, most frequent first. */
  topReasons: number;
}

export interface OverviewCount {
  type: string;
  status: SagaStatus;
  count: number;
}

export interface OverviewDurations {
  type: string;
  /** Ended sagas of this type measured (within the sample). */
  ended: number;
  p50Ms: number;
  p95Ms: number;
}

export interface OverviewReason {
  reason: string;
  status: SagaStatus;
  type: string;
  count: number;
}

export interface SagaOverview {
  /** Sagas created, moved or ended in the window, by type and current status. */
  counts: OverviewCount[];
  /** Per bucket, oldest first: sagas created, and sagas ended, in it. */
  starts: number[];
  ends: number[];
  durations: OverviewDurations[];
  /** Whether the durations come from the latest `durationSample` ended sagas only. */
  durationsSampled: boolean;
  reasons: OverviewReason[];
}

/** The statuses whose reason says why a saga did not complete. */
export const reasonStatuses: readonly SagaStatus[] = ['compensating', 'compensated', 'failed'];

const terminal: readonly SagaStatus[] = ['completed', 'compensated', 'failed', 'cancelled'];

/** Four aggregations at once; rejects when one fails. */
export async function sagaOverview({ sagas }: SagaCollections, w: OverviewWindow): Promise<SagaOverview> {
  const touched = { updatedAt: { $gte: w.since } };
  const ended = { ...touched, status: { $in: [...terminal] }, endedAt: { $gte: w.since } };
  const bucketOf = (field: string) => ({
    $floor: { $divide: [{ $subtract: [`$${field}`, w.since] }, w.bucketMs] },
  });
  const run = <T extends Document>(pipeline: Document[]) => sagas.aggregate<T>(pipeline).toArray();
  const [counts, starts, ends, durations, reasons] = await Promise.all([
    run<{ _id: { type: string; status: SagaStatus }; n: number }>([
      { $match: touched },
      { $group: { _id: { type: '$type', status: '$status' }, n: { $sum: 1 } } },
    ]),
    run<{ _id: number; n: number }>([
      { $match: { createdAt: { $gte: w.since } } },
      { $group: { _id: bucketOf('createdAt'), n: { $sum: 1 } } },
    ]),
    run<{ _id: number; n: number }>([
      { $match: ended },
      { $group: { _id: bucketOf('endedAt'), n: { $sum: 1 } } },
    ]),
    run<{ _id: string; d: number[] }>([
      { $match: ended },
      { $sort: { updatedAt: -1 } },
      { $limit: w.durationSample },
      { $project: { type: 1, d: { $subtract: ['$endedAt', '$createdAt'] } } },
      { $group: { _id: '$type', d: { $push: '$d' } } },
    ]),
    run<{ _id: { reason: string; status: SagaStatus; type: string }; n: number }>([
      { $match: { ...touched, status: { $in: [...reasonStatuses] }, reason: { $type: 'string' } } },
      { $group: { _id: { reason: '$reason', status: '$status', type: '$type' }, n: { $sum: 1 } } },
      { $sort: { n: -1 } },
      { $limit: w.topReasons * 4 },
    ]),
  ]);
  const measured = durations.reduce((n, g) => n + g.d.length, 0);
  return {
    counts: counts
      .map((g) => ({ type: g._id.type, status: g._id.status, count: g.n }))
      .sort((a, b) => a.type.localeCompare(b.type) || a.status.localeCompare(b.status)),
    starts: series(starts, w.buckets),
    ends: series(ends, w.buckets),
    durations: durations
      .map((g) => {
        const d = g.d.map(Number).filter((x) => Number.isFinite(x) && x >= 0);
        return { type: g._id, ended: d.length, p50Ms: percentile(d, 0.5), p95Ms: percentile(d, 0.95) };
      })
      .filter((g) => g.ended > 0)
      .sort((a, b) => a.type.localeCompare(b.type)),
    durationsSampled: measured >= w.durationSample,
    // Sorted again here, ties by name, so equal counts come in a stable order.
    reasons: reasons
      .map((g) => ({ ...g._id, count: g.n }))
      .sort(
        (a, b) =>
          b.count - a.count ||
          a.reason.localeCompare(b.reason) ||
          a.type.localeCompare(b.type) ||
          a.status.localeCompare(b.status),
      )
      .slice(0, w.topReasons),
  };
}

/** Bucket counts as a dense array; a bucket outside the window (a clock skew) is left out. */
function series(groups: Array<{ _id: number; n: number }>, buckets: number): number[] {
  const out = new Array<number>(buckets).fill(0);
  for (const g of groups) {
    const i = Number(g._id);
    if (Number.isInteger(i) && i >= 0 && i < buckets) out[i]! += g.n;
  }
  return out;
}

/** Nearest-rank percentile of `values` (0 when empty), `q` in (0, 1]. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
