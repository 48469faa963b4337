import { type Collection, type Db, type Filter, MongoClient, type UpdateFilter } from 'mongodb';
import { ConflictError, StaleRevisionError } from '../errors.ts';
import { Batcher } from './batcher.ts';
import { instrumentMongoClient } from './command-metrics.ts';
import { onlyDuplicates } from './duplicate-key.ts';
import { InsertBatcher } from './insert-batcher.ts';
import type { HistoryEntry, OutboxEntry, SagaDoc, SagaStatus, TimerEntry } from './saga-doc.ts';
import * as overview from './overview-queries.ts';
import type { OverviewWindow, SagaOverview } from './overview-queries.ts';
import * as recovery from './recovery-queries.ts';
import type { DueSaga } from './recovery-queries.ts';
import * as queries from './saga-queries.ts';
import type {
  SagaBacklog,
  SagaListFilter,
  SagaListPage,
  SagaListPosition,
  SagaSummaryDoc,
} from './saga-queries.ts';
import { withoutContext, withSnapshotContext } from './snapshot-context.ts';

/** Outbox entries already published and history entries already copied: safe to remove. */
export interface Cleared {
  msgIds: string[];
  historyRevs: number[];
}

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
  /** Published outbox entries and copied history entries to remove in the same write. */
  cleared?: Cleared;
  reason?: string | null;
  error?: { message: string; at: Date } | null;
}

/**
 * The saga collection and its history, and their only owner: every read, write and index of
 * `sagas` and `saga_history` is a method here (the inspector's and the metrics' reads are in
 * saga-queries.ts). One atomic update per transition, filtered on `{_id, rev}`: a stale writer
 * matches nothing and retries. No multi-document transactions, so it runs on a standalone mongod
 * and on MongoDB-wire servers.
 */
export class SagaStore {
  /** The collections, for tests and tools that look at what is stored; the runtime uses the methods. */
  readonly sagas: Collection<SagaDoc>;
  readonly history: Collection<HistoryEntry>;
  /** Transitions of many sagas written together (group commit), see `applyCommits`. */
  private readonly commits: Batcher<CommitOp, boolean>;
  private readonly loads: Batcher<string, SagaDoc | null>;
  private readonly creates: InsertBatcher<SagaDoc>;
  private readonly clears: Batcher<ClearOp, null>;

  constructor(readonly db: Db) {
    this.sagas = db.collection<SagaDoc>('sagas');
    this.history = db.collection<HistoryEntry>('saga_history');
    this.commits = new Batcher((ops) => this.applyCommits(ops), { maxBatch: 128, maxInFlight: 2 });
    this.creates = new InsertBatcher(this.sagas);
    this.loads = new Batcher((ids) => this.loadMany(ids), { maxBatch: 256, maxInFlight: 2 });
    this.clears = new Batcher((ops) => this.clearMany(ops), { maxBatch: 256, maxInFlight: 1 });
  }

  /**
   * The node's client (its participants share it) and store. `monitorCommands` (default on) feeds
   * `jetsaga_store_command_duration_seconds`; its cost, mostly on `find` replies, is written in
   * store/command-metrics.ts.
   */
  static async connect(
    url: string,
    dbName: string,
    { monitorCommands = true }: { monitorCommands?: boolean } = {},
  ): Promise<{ client: MongoClient; store: SagaStore }> {
    const client = new MongoClient(url, {
      serverSelectionTimeoutMS: 10_000,
      maxPoolSize: 64,
      monitorCommands,
    });
    if (monitorCommands) instrumentMongoClient(client);
    await client.connect();
    return { client, store: new SagaStore(client.db(dbName)) };
  }

  async ensureIndexes(): Promise<void> {
    await this.sagas.createIndex({ type: 1, status: 1, updatedAt: 1 });
    await this.sagas.createIndex({ nextWakeAt: 1 });
    // Sparse: only sagas with an outbox or history entry not yet cleared are in it.
    await this.sagas.createIndex({ outboxAt: 1 }, { sparse: true });
    await this.sagas.createIndex({ correlationId: 1 });
    await this.sagas.createIndex({ updatedAt: 1 });
    // The list's sort, newest first (listSagas).
    await this.sagas.createIndex(queries.listIndex);
    await this.history.createIndex({ sagaId: 1, rev: 1 }, { unique: true });
  }

  /** Inserts a new saga; the sagas started at the same time share one `insertMany`. */
  async create(doc: SagaDoc): Promise<void> {
    if ((await this.creates.insert(doc)) === 'duplicate')
      throw new ConflictError(`saga ${doc._id} already exists`);
  }

  /** One saga; the loads of many sagas activated at once (a recovery) share one query. */
  load(id: string): Promise<SagaDoc | null> {
    return this.loads.submit(id);
  }

  private async loadMany(ids: string[]): Promise<Array<SagaDoc | null>> {
    if (ids.length === 1) return [withSnapshotContext(await this.sagas.findOne({ _id: ids[0]! }))];
    const unique = [...new Set(ids)];
    // Every document in the first batch (mongod's default is 101), and the limit closes the cursor
    // with it: one round trip for the batch.
    const docs = (
      await this.sagas
        .find({ _id: { $in: unique } }, { limit: unique.length, batchSize: unique.length })
        .toArray()
    ).map((d) => withSnapshotContext(d));
    const byId = new Map(docs.map((d) => [d._id, d]));
    // Two loads of one saga in a batch get their own copies: actors modify what they load.
    const given = new Set<string>();
    return ids.map((id) => {
      const doc = byId.get(id);
      if (!doc) return null;
      if (!given.has(id)) {
        given.add(id);
        return doc;
      }
      return structuredClone(doc);
    });
  }

  /**
   * Writes one transition; throws StaleRevisionError when another writer got there first.
   * Entries the previous steps published (and history they copied) are removed in the same
   * write, so a busy saga needs no separate write to clear its outbox.
   */
  async commit(id: string, rev: number, t: Transition, now = new Date()): Promise<number> {
    const set: Record<string, unknown> = {
      status: t.status,
      state: t.state,
      context: t.context,
      snapshot: withoutContext(t.snapshot),
      inbox: t.inbox,
      timers: t.timers,
      nextWakeAt: nextWake(t.timers),
      rev: rev + 1,
      updatedAt: now,
      // The sweep's index: there is an outbox entry or a history entry to take care of.
      outboxAt: now,
    };
    if (t.reason !== undefined) set.reason = t.reason;
    if (t.error !== undefined) set.error = t.error;
    if (['completed', 'compensated', 'failed', 'cancelled'].includes(t.status)) set.endedAt = now;
    for (const entry of t.outboxAdd) set[`outbox.${entry.msgId}`] = entry;
    set[`pendingHistory.${t.history.rev}`] = t.history;
    const update: { $set: Record<string, unknown>; $unset?: Record<string, ''> } = { $set: set };
    if (t.cleared && t.cleared.msgIds.length + t.cleared.historyRevs.length > 0)
      update.$unset = clearedPaths(t.cleared);
    const applied = await this.commits.submit({ filter: { _id: id, rev }, update });
    if (!applied) throw new StaleRevisionError(id, rev);
    return rev + 1;
  }

  /**
   * One conditional update alone, or several in one unordered bulk write. A bulk write says how
   * many matched, not which: when fewer than all did, every commit of the batch is answered
   * "stale", and each actor reloads its saga. One whose write did land then finds its event in
   * the saga's inbox and only publishes what that step asked for: the path of a commit whose
   * reply was lost, which exists anyway.
   */
  private async applyCommits(ops: CommitOp[]): Promise<boolean[]> {
    if (ops.length === 1) {
      const res = await this.sagas.updateOne(ops[0]!.filter, ops[0]!.update);
      return [res.matchedCount === 1];
    }
    const res = await this.sagas.bulkWrite(
      ops.map((op) => ({ updateOne: { filter: op.filter, update: op.update } })),
      { ordered: false },
    );
    const all = res.matchedCount === ops.length;
    return ops.map(() => all);
  }

  /** Notes a problem on the saga for the inspector without moving it (no rev change). */
  async recordError(id: string, message: string): Promise<void> {
    await this.sagas.updateOne({ _id: id }, { $set: { error: { message, at: new Date() } } });
  }

  /**
   * Removes published outbox entries and copied history entries in one write, never racing a
   * transition: entry ids are unique per revision, so removing them is idempotent. With
   * `emptiesAtRev` (the caller knows these are all the entries the document has at that
   * revision) it also leaves the sweep's index, unless a transition came in between.
   */
  async clearOutbox(id: string, cleared: Cleared, emptiesAtRev?: number): Promise<void> {
    if (cleared.msgIds.length === 0 && cleared.historyRevs.length === 0) return;
    await this.clears.submit({ id, unset: clearedPaths(cleared), emptiesAtRev });
  }

  /**
   * Clears of many sagas in one bulk write. The ones that may leave the sweep's index do so only
   * at the revision they were computed for; when not all of those matched, the entries of the
   * batch are removed again without that condition (removing them twice is harmless), and a
   * saga that keeps `outboxAt` is cleared by the sweep later.
   */
  private async clearMany(ops: ClearOp[]): Promise<null[]> {
    const write = async (conditional: boolean) => {
      const res = await this.sagas.bulkWrite(
        ops.map((op) =>
          conditional && op.emptiesAtRev !== undefined
            ? {
                updateOne: {
                  filter: { _id: op.id, rev: op.emptiesAtRev },
                  update: { $unset: { ...op.unset, outboxAt: '' } },
                },
              }
            : { updateOne: { filter: { _id: op.id }, update: { $unset: op.unset } } },
        ),
        { ordered: false },
      );
      return res.matchedCount === ops.length;
    };
    if (!(await write(true))) await write(false);
    return ops.map(() => null);
  }

  /**
   * Removes a new saga's start event once published (batched with other clears). If the saga
   * moved already, its first transition removed it (the event it handles is its own outbox entry).
   */
  async clearStart(id: string, msgId: string): Promise<void> {
    await this.clearOutbox(id, { msgIds: [msgId], historyRevs: [] }, 0);
  }

  /** Copies history entries in one round trip; entries copied before are skipped. */
  async appendHistories(entries: HistoryEntry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      await this.history.insertMany(entries, { ordered: false });
    } catch (err) {
      if (!onlyDuplicates(err)) throw err;
    }
  }

  /** Every transition of a saga, oldest first, copied or still on its document (see saga-queries.ts). */
  historyOf(id: string): Promise<HistoryEntry[]> {
    return queries.historyOf(this, id);
  }

  /** Up to `limit` copied history entries of a saga after revision `afterRev`, in order. */
  historyAfter(id: string, afterRev: number, limit: number): Promise<HistoryEntry[]> {
    return queries.historyAfter(this, id, afterRev, limit);
  }

  /** A page of summaries, newest first, from `after` on (a keyset: see saga-queries.ts). */
  listSagas(
    filter: SagaListFilter,
    page: { limit: number; after?: SagaListPosition },
  ): Promise<SagaListPage> {
    return queries.listSagas(this, filter, page);
  }

  /** One saga's summary (no context, snapshot, outbox or timers), or null. */
  summaryOf(id: string): Promise<SagaSummaryDoc | null> {
    return queries.summaryOf(this, id);
  }

  /** Whether a saga exists, reading nothing else of it. */
  sagaExists(id: string): Promise<boolean> {
    return queries.sagaExists(this, id);
  }

  /** The outbox and timer backlogs for the metrics, each counted up to `cap`. */
  countBacklog(at: { now: Date; outboxBefore: Date; cap: number }): Promise<SagaBacklog> {
    return queries.countBacklog(this, at);
  }

  /** What the sagas touched in a window did: counts, series, durations, reasons (see overview-queries.ts). */
  overview(window: OverviewWindow): Promise<SagaOverview> {
    return overview.sagaOverview(this, window);
  }

  /** Gives `outboxAt` to sagas of an older jetsaga that still hold entries; once per start. */
  markUnsweptOutboxes(): Promise<number> {
    return recovery.markUnsweptOutboxes(this);
  }

  /** Sagas whose outbox or history entries were written before `olderThan` and are still there. */
  findStaleOutboxes(olderThan: Date, limit: number): Promise<Array<Pick<SagaDoc, '_id'>>> {
    return recovery.findStaleOutboxes(this, olderThan, limit);
  }

  /** Up to `limit` due sagas, whole, unsorted (a server stops reading at the limit). */
  findDueDocs(now: Date, since: Date | undefined, limit: number): Promise<SagaDoc[]> {
    return recovery.findDueDocs(this, now, since, limit);
  }

  /** Sagas with a timer due by `now` (after `since`), earliest first, streamed in batches. */
  findDue(now: Date, since?: Date): AsyncIterable<DueSaga> {
    return recovery.findDue(this, now, since);
  }
}

interface ClearOp {
  id: string;
  unset: Record<string, ''>;
  emptiesAtRev?: number;
}

interface CommitOp {
  filter: Filter<SagaDoc>;
  update: UpdateFilter<SagaDoc>;
}

function clearedPaths(cleared: Cleared): Record<string, ''> {
  const unset: Record<string, ''> = {};
  for (const m of cleared.msgIds) unset[`outbox.${m}`] = '';
  for (const r of cleared.historyRevs) unset[`pendingHistory.${r}`] = '';
  return unset;
}

export function nextWake(timers: Record<string, TimerEntry>): Date | null {
  let min: Date | null = null;
  for (const t of Object.values(timers)) if (!min || t.dueAt < min) min = t.dueAt;
  return min;
}
