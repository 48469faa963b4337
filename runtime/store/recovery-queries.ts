import type { Filter } from 'mongodb';
import { type SagaDoc, withoutHistory } from './saga-doc.ts';
import type { SagaCollections } from './saga-queries.ts';
import { withSnapshotContext } from './snapshot-context.ts';

/**
 * The reads of recovery: the outbox sweep's (sagas a crash left with entries to publish) and the
 * timer scheduler's (sagas with a timer due). SagaStore's methods are the way in.
 */

export type DueSaga = Pick<
  SagaDoc,
  '_id' | 'timers' | 'type' | 'correlationId' | 'traceparent' | 'nextWakeAt'
>;

/**
 * Gives `outboxAt` to sagas written before it existed (an older jetsaga) that still hold
 * outbox entries, so the sweep finds them. One unindexed query; run once per start.
 */
export async function markUnsweptOutboxes({ sagas }: SagaCollections): Promise<number> {
  const res = await sagas.updateMany(
    {
      outboxAt: { $exists: false },
      outbox: { $ne: {} },
    },
    { $set: { outboxAt: new Date(0) } },
  );
  return res.modifiedCount;
}

/**
 * Sagas whose outbox entries were written before `olderThan` and are still there:
 * left by a crash between the commit and the publish. An indexed range on `outboxAt`.
 */
export function findStaleOutboxes(
  { sagas }: SagaCollections,
  olderThan: Date,
  limit: number,
): Promise<Array<Pick<SagaDoc, '_id'>>> {
  return sagas
    .find({ outboxAt: { $lte: olderThan } }, { projection: { _id: 1 } })
    .limit(limit)
    .batchSize(limit)
    .toArray();
}

/**
 * Up to `limit` due sagas, whole, for a scheduler that hands them to the sagas' actors: in
 * index order, unsorted, so that a server stops reading at the limit.
 */
export async function findDueDocs(
  { sagas }: SagaCollections,
  now: Date,
  since: Date | undefined,
  limit: number,
): Promise<SagaDoc[]> {
  // The whole page in one batch (mongod's default first batch is 101 documents).
  const docs = await sagas
    .find(dueFilter(now, since), { projection: withoutHistory })
    .limit(limit)
    .batchSize(limit)
    .toArray();
  return docs.map((d) => withSnapshotContext(d));
}

/**
 * Sagas with a timer due by `now`, earliest first, streamed in batches: one indexed range
 * query however large the backlog. `since` narrows it to timers that became due after a
 * previous poll's watermark.
 */
export function findDue({ sagas }: SagaCollections, now: Date, since?: Date): AsyncIterable<DueSaga> {
  return sagas
    .find(dueFilter(now, since), {
      projection: { _id: 1, timers: 1, type: 1, correlationId: 1, traceparent: 1, nextWakeAt: 1 },
    })
    .sort({ nextWakeAt: 1 })
    .batchSize(1000);
}

/** Sagas with a timer due by `now` (and, with `since`, not due at `since` yet). */
function dueFilter(now: Date, since?: Date): Filter<SagaDoc> {
  return { nextWakeAt: since ? { $gt: since, $lte: now } : { $lte: now } };
}
