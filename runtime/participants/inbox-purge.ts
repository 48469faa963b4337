import type { Collection, Filter } from 'mongodb';
import type { Logger } from '../observability/index.ts';
import { PurgeLoop, type SagaStore } from '../store/index.ts';

/** How a host's inbox records are purged (JETSAGA_INBOX_RETENTION_MS); absent: kept for ever. */
export interface InboxRetention {
  /** Tells which sagas still run: their records are kept whatever their age. */
  store: Pick<SagaStore, 'stillRunning'>;
  retentionMs: number;
  batch: number;
  intervalMs: number;
}

/**
 * The purge of one inbox (`<service>_processed`, a reactor's records): records older than the
 * retention whose saga is no longer running (ended, or purged itself), so no redelivery, replay or
 * resume can reach them any more (the retention is at least the stream's max age plus the
 * dead-letter retention). Rounds walk the old records oldest first, `batch` at a time, from where
 * the last full round stopped: records of sagas still running are stepped over, not found again and
 * again, and a pass starts over once a round comes back short.
 */
export function inboxPurge<R extends { _id: string; at: Date }>(
  records: Collection<R>,
  /** Where a record keeps the id of the saga it belongs to: `sagaId`, or `reply.sagaId`. */
  sagaIdPath: string,
  retention: InboxRetention,
  log: Logger,
): PurgeLoop {
  let after: Date | undefined;
  return new PurgeLoop(
    records.collectionName,
    async (now) => {
      const before = new Date(now.getTime() - retention.retentionMs);
      const at = after ? { $lt: before, $gt: after } : { $lt: before };
      const old = (await records
        .find({ at } as Filter<R>, {
          projection: { _id: 1, at: 1, [sagaIdPath]: 1 },
          sort: { at: 1 },
          limit: retention.batch,
        })
        .toArray()) as unknown as Array<{ _id: string; at: Date } & Record<string, unknown>>;
      const full = old.length === retention.batch;
      after = full ? old[old.length - 1]!.at : undefined;
      const sagaOf = (r: Record<string, unknown>) => String(readPath(r, sagaIdPath) ?? '');
      const running = await retention.store.stillRunning(old.map(sagaOf).filter((id) => id !== ''));
      const ids = old.filter((r) => !running.has(sagaOf(r))).map((r) => r._id);
      const deleted =
        ids.length > 0
          ? (await records.deleteMany({ _id: { $in: ids }, at: { $lt: before } } as Filter<R>)).deletedCount
          : 0;
      return { deleted: { [records.collectionName]: deleted }, full };
    },
    retention.intervalMs,
    log,
  );
}

function readPath(doc: Record<string, unknown>, path: string): unknown {
  let value: unknown = doc;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
