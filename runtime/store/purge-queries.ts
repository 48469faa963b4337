import type { Collection, Filter } from 'mongodb';
import { onlyDuplicates } from './duplicate-key.ts';
import { type SagaDoc, terminalStatuses } from './saga-doc.ts';
import type { SagaCollections } from './saga-queries.ts';

/**
 * Retention of ended sagas: the purge of `sagas` and `saga_history`, and the tombstones that let a
 * late message for a purged saga be dead-lettered as `purged` rather than retried as a saga not
 * created yet. SagaStore's methods are the way in.
 */

/** What is left of a purged saga, in `saga_tombstones`, for `retentionMs` after its purge. */
export interface SagaTombstone {
  _id: string;
  type: string;
  endedAt: Date | null;
  purgedAt: Date;
}

export interface PurgeCollections extends SagaCollections {
  tombstones: Collection<SagaTombstone>;
}

/** What one round of `purgeEnded` deleted; `full`: it found a whole batch, more may be due. */
export interface EndedPurge {
  sagas: number;
  history: number;
  tombstones: number;
  full: boolean;
}

/**
 * Deletes up to `limit` sagas that ended before `endedBefore` with everything they asked for
 * published (an outbox still to publish keeps its saga for the sweep), their moved-out history, and
 * the tombstones of sagas purged before `tombstonesBefore`. Ids first (a bounded find), then
 * deletes by id: the tombstone, then the history, then the saga, so a round cut short leaves a saga
 * the next round finds again, never history without its saga.
 */
export async function purgeEnded(
  { sagas, history, tombstones }: PurgeCollections,
  at: { now: Date; endedBefore: Date; tombstonesBefore: Date; limit: number },
): Promise<EndedPurge> {
  const ended: Filter<SagaDoc> = {
    status: { $in: [...terminalStatuses] },
    endedAt: { $lt: at.endedBefore },
    outboxAt: null,
  };
  const docs = await sagas
    .find(ended, { projection: { _id: 1, type: 1, endedAt: 1 }, limit: at.limit })
    .toArray();
  let purged = { sagas: 0, history: 0 };
  if (docs.length > 0) {
    const ids = docs.map((d) => d._id);
    try {
      await tombstones.insertMany(
        docs.map((d) => ({ _id: d._id, type: d.type, endedAt: d.endedAt ?? null, purgedAt: at.now })),
        { ordered: false },
      );
    } catch (err) {
      // Written by a round cut short, or by another replica's: the first purge time stays.
      if (!onlyDuplicates(err)) throw err;
    }
    const h = await history.deleteMany({ sagaId: { $in: ids } });
    const s = await sagas.deleteMany({ ...ended, _id: { $in: ids } });
    purged = { sagas: s.deletedCount, history: h.deletedCount };
  }
  const old = await tombstones
    .find({ purgedAt: { $lt: at.tombstonesBefore } }, { projection: { _id: 1 }, limit: at.limit })
    .toArray();
  const t =
    old.length > 0 ? (await tombstones.deleteMany({ _id: { $in: old.map((d) => d._id) } })).deletedCount : 0;
  // Full only when it deleted something: a batch found but not deleted (another replica was first)
  // waits for the next interval instead of being found again at once.
  const full = (docs.length === at.limit && purged.sagas > 0) || (old.length === at.limit && t > 0);
  return { ...purged, tombstones: t, full };
}

/** The tombstone of a purged saga, while it is kept. */
export function tombstoneOf({ tombstones }: PurgeCollections, id: string): Promise<SagaTombstone | null> {
  return tombstones.findOne({ _id: id });
}

/**
 * Of `ids`, the sagas still running (not ended, not purged): what an inbox purge must keep the
 * records of. Ids it does not return are ended or absent.
 */
export async function stillRunning({ sagas }: SagaCollections, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const unique = [...new Set(ids)];
  const docs = await sagas
    .find(
      { _id: { $in: unique }, status: { $nin: [...terminalStatuses] } },
      { projection: { _id: 1 }, limit: unique.length },
    )
    .toArray();
  return new Set(docs.map((d) => d._id));
}
