import { type Collection, type Db, MongoClient, MongoServerError } from 'mongodb';
import { ConflictError, StaleRevisionError } from '../errors.ts';
import type { HistoryEntry, OutboxEntry, SagaDoc, SagaStatus, TimerEntry } from './saga-doc.ts';

const duplicateKey = 11000;

export interface Transition {
  status: SagaStatus;
  state: string | null;
  context: unknown;
  snapshot: unknown;
  outboxAdd: OutboxEntry[];
  /** The transition's history entry, kept on the document until copied to `saga_history`. */
  history: HistoryEntry;
  inbox: string[];
  timers: Record<string, TimerEntry>;
  reason?: string | null;
  error?: { message: string; at: Date } | null;
}

/**
 * The saga collection and its history. One atomic update per transition, filtered on
 * `{_id, rev}`: a stale writer matches nothing and retries. No multi-document
 * transactions, so it runs on a standalone mongod and on MongoDB-wire servers.
 */
export class SagaStore {
  readonly sagas: Collection<SagaDoc>;
  readonly history: Collection<HistoryEntry>;

  constructor(readonly db: Db) {
    this.sagas = db.collection<SagaDoc>('sagas');
    this.history = db.collection<HistoryEntry>('saga_history');
  }

  static async connect(url: string, dbName: string): Promise<{ client: MongoClient; store: SagaStore }> {
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 10_000, maxPoolSize: 64 });
    await client.connect();
    return { client, store: new SagaStore(client.db(dbName)) };
  }

  async ensureIndexes(): Promise<void> {
    await this.sagas.createIndex({ type: 1, status: 1, updatedAt: 1 });
    await this.sagas.createIndex({ nextWakeAt: 1 });
    await this.sagas.createIndex({ correlationId: 1 });
    await this.sagas.createIndex({ updatedAt: 1 });
    await this.history.createIndex({ sagaId: 1, rev: 1 }, { unique: true });
  }

  async create(doc: SagaDoc): Promise<void> {
    try {
      await this.sagas.insertOne(doc);
    } catch (err) {
      if (err instanceof MongoServerError && err.code === duplicateKey)
        throw new ConflictError(`saga ${doc._id} already exists`);
      throw err;
    }
  }

  load(id: string): Promise<SagaDoc | null> {
    return this.sagas.findOne({ _id: id });
  }

  /** Writes one transition; throws StaleRevisionError when another writer got there first. */
  async commit(id: string, rev: number, t: Transition, now = new Date()): Promise<number> {
    const set: Record<string, unknown> = {
      status: t.status,
      state: t.state,
      context: t.context,
      snapshot: t.snapshot,
      inbox: t.inbox,
      timers: t.timers,
      nextWakeAt: nextWake(t.timers),
      rev: rev + 1,
      updatedAt: now,
    };
    if (t.reason !== undefined) set.reason = t.reason;
    if (t.error !== undefined) set.error = t.error;
    if (['completed', 'compensated', 'failed', 'cancelled'].includes(t.status)) set.endedAt = now;
    for (const entry of t.outboxAdd) set[`outbox.${entry.msgId}`] = entry;
    set[`pendingHistory.${t.history.rev}`] = t.history;
    const res = await this.sagas.updateOne({ _id: id, rev }, { $set: set });
    if (res.matchedCount === 0) throw new StaleRevisionError(id, rev);
    return rev + 1;
  }

  /** Notes a problem on the saga for the inspector without moving it (no rev change). */
  async recordError(id: string, message: string): Promise<void> {
    await this.sagas.updateOne({ _id: id }, { $set: { error: { message, at: new Date() } } });
  }

  /**
   * Removes published outbox entries and copied history entries in one write. Idempotent and
   * independent of `rev`, so it never races a transition.
   */
  async clearOutbox(id: string, msgIds: string[], historyRevs: number[] = []): Promise<void> {
    if (msgIds.length === 0 && historyRevs.length === 0) return;
    const unset = Object.fromEntries([
      ...msgIds.map((m) => [`outbox.${m}`, '' as const]),
      ...historyRevs.map((r) => [`pendingHistory.${r}`, '' as const]),
    ]);
    await this.sagas.updateOne({ _id: id }, { $unset: unset });
  }

  async appendHistory(entry: HistoryEntry): Promise<void> {
    try {
      await this.history.insertOne(entry);
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === duplicateKey)) throw err;
    }
  }

  historyOf(id: string): Promise<HistoryEntry[]> {
    return this.history
      .find({ sagaId: id }, { projection: { _id: 0 } })
      .sort({ rev: 1 })
      .toArray();
  }

  /** Sagas with outbox or history entries older than the grace period: left by a crash between commit and publish. */
  findStaleOutboxes(olderThan: Date, limit: number): Promise<SagaDoc[]> {
    return this.sagas
      .find(
        {
          $or: [{ outbox: { $ne: {} } }, { pendingHistory: { $exists: true, $ne: {} } }],
          updatedAt: { $lte: olderThan },
        },
        { projection: { _id: 1 } },
      )
      .limit(limit)
      .toArray();
  }

  /** Sagas with a timer due by `now`. */
  findDue(
    now: Date,
    limit: number,
    after?: { nextWakeAt: Date; _id: string },
  ): Promise<
    Array<Pick<SagaDoc, '_id' | 'timers' | 'type' | 'correlationId' | 'traceparent' | 'nextWakeAt'>>
  > {
    // Keyset paging on (nextWakeAt, _id): a backlog larger than one page is walked through,
    // instead of the same first page being found again and again.
    const filter = after
      ? {
          $or: [
            { nextWakeAt: { $gt: after.nextWakeAt, $lte: now } },
            { nextWakeAt: after.nextWakeAt, _id: { $gt: after._id } },
          ],
        }
      : { nextWakeAt: { $lte: now } };
    return this.sagas
      .find(filter, {
        projection: { _id: 1, timers: 1, type: 1, correlationId: 1, traceparent: 1, nextWakeAt: 1 },
      })
      .sort({ nextWakeAt: 1, _id: 1 })
      .limit(limit)
      .toArray();
  }
}

export function nextWake(timers: Record<string, TimerEntry>): Date | null {
  let min: Date | null = null;
  for (const t of Object.values(timers)) if (!min || t.dueAt < min) min = t.dueAt;
  return min;
}
