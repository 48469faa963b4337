import { type Collection, type Db, type Filter, MongoClient, type UpdateFilter } from 'mongodb';
import { ConflictError, StaleRevisionError } from '../errors.ts';
import { Batcher } from './batcher.ts';
import { ClientWatchdog, type WatchdogLog } from './client-watchdog.ts';
import { instrumentMongoClient } from './command-metrics.ts';
import { onlyDuplicates } from './duplicate-key.ts';
import { InsertBatcher } from './insert-batcher.ts';
import {
  type HistoryEntry,
  isTerminal,
  type OutboxEntry,
  type SagaDoc,
  type StalledCommand,
  type SagaStatus,
  type StoredHistoryEntry,
  type TimerEntry,
  withoutHistory,
} from './saga-doc.ts';
import * as overview from './overview-queries.ts';
import * as purge from './purge-queries.ts';
import type { EndedPurge, SagaTombstone } from './purge-queries.ts';
import type { OverviewWindow, SagaOverview } from './overview-queries.ts';
import * as recovery from './recovery-queries.ts';
import type { DueSaga } from './recovery-queries.ts';
import * as queries from './saga-queries.ts';
import type {
  SagaBacklog,
  SagaListFilter,
  SagaListPage,
  SagaListPaging,
  SagaSummaryDoc,
} from './saga-queries.ts';
import { withoutContext, withSnapshotContext } from './snapshot-context.ts';

/** Outbox entries already published: safe to remove. */
export interface Cleared {
  msgIds: string[];
}

/** History entries copied to `saga_history`, to remove from the document (see `historyOnDoc`). */
export interface HistoryMoved {
  revs: number[];
  /** The document's new `historyBase`. */
  base: number;
}

export interface Transition {
  status: SagaStatus;
  state: string | null;
  context: unknown;
  snapshot: unknown;
  outboxAdd: OutboxEntry[];
  /**
   * Whether the outbox holds entries after this write (`outboxAdd`, or older ones not cleared):
   * the saga then stays in the sweep's index, else it leaves it in this same write.
   */
  outboxLeft: boolean;
  /** The transition's history entry, kept on the document. */
  history: StoredHistoryEntry;
  /** Older history entries copied to `saga_history`, removed from the document by this write. */
  historyMoved?: HistoryMoved;
  inbox: string[];
  timers: Record<string, TimerEntry>;
  /** The saga's stalled commands after this write (empty: the field is removed); absent: unchanged. */
  stalled?: StalledCommand[];
  /** Published outbox entries to remove in the same write. */
  cleared?: Cleared;
  reason?: string | null;
  error?: { message: string; at: Date } | null;
}

/**
 * The saga collection and its history, and their only owner: every read, write and index of
 * `sagas` and `saga_history` is a method here (the inspector's and the metrics' reads are in
 * saga-queries.ts). One atomic update per transition, filtered on `{_id, rev}`: a stale writer
 * matches nothing and retries. It carries the transition's outbox entries and history entry and
 * removes the entries published since the last one, so a saga costs about one write per step.
 * No multi-document transactions, so it runs on a standalone mongod and on MongoDB-wire servers.
 */
export class SagaStore {
  /** The collections, for tests and tools that look at what is stored; the runtime uses the methods. */
  readonly sagas: Collection<SagaDoc>;
  readonly history: Collection<StoredHistoryEntry>;
  /** What is left of purged sagas for a while (see purge-queries.ts). */
  readonly tombstones: Collection<SagaTombstone>;
  /** Transitions of many sagas written together (group commit), see `applyCommits`. */
  private readonly commits: Batcher<CommitOp, boolean>;
  private readonly loads: Batcher<string, SagaDoc | null>;
  private readonly creates: InsertBatcher<SagaDoc>;
  private readonly clears: Batcher<ClearOp, null>;

  constructor(readonly db: Db) {
    this.sagas = db.collection<SagaDoc>('sagas');
    this.history = db.collection<StoredHistoryEntry>('saga_history');
    this.tombstones = db.collection<SagaTombstone>('saga_tombstones');
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
    { monitorCommands = true, log }: { monitorCommands?: boolean; log?: WatchdogLog } = {},
  ): Promise<{ client: MongoClient; store: SagaStore; watchdog?: ClientWatchdog }> {
    const client = new MongoClient(url, {
      // Shorter than the driver's 30 s: a store that does not answer within these is retried as a
      // transient failure, and a stuck server monitor is found sooner (client-watchdog.ts). A URL
      // that sets them wins.
      ...unlessInUrl(url, { serverSelectionTimeoutMS: 10_000, connectTimeoutMS: 10_000 }),
      maxPoolSize: 64,
      monitorCommands,
    });
    if (monitorCommands) instrumentMongoClient(client);
    await client.connect();
    const watchdog = log ? new ClientWatchdog(client, log).start() : undefined;
    return { client, store: new SagaStore(client.db(dbName)), watchdog };
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
    // Retention's purge (purge-queries.ts): sagas by when they ended, tombstones by when they were made.
    await this.sagas.createIndex({ endedAt: 1 }, { sparse: true });
    await this.tombstones.createIndex({ purgedAt: 1 });
  }

  /** Inserts a new saga; the sagas started at the same time share one `insertMany`. */
  async create(doc: SagaDoc): Promise<void> {
    if ((await this.creates.insert(doc)) === 'duplicate')
      throw new ConflictError(`saga ${doc._id} already exists`);
  }

  /**
   * One saga without its history (`historyOf` reads that); the loads of many sagas activated at
   * once (a recovery) share one query.
   */
  load(id: string): Promise<SagaDoc | null> {
    return this.loads.submit(id);
  }

  private async loadMany(ids: string[]): Promise<Array<SagaDoc | null>> {
    if (ids.length === 1)
      return [
        withSnapshotContext(await this.sagas.findOne({ _id: ids[0]! }, { projection: withoutHistory })),
      ];
    const unique = [...new Set(ids)];
    // Every document in the first batch (mongod's default is 101), and the limit closes the cursor
    // with it: one round trip for the batch.
    const docs = (
      await this.sagas
        .find(
          { _id: { $in: unique } },
          { projection: withoutHistory, limit: unique.length, batchSize: unique.length },
        )
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
   * Entries the previous steps published are removed in the same write, so a busy saga needs no
   * separate write to clear its outbox, and its history entry rides along.
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
    };
    const unset: Record<string, ''> = t.cleared ? clearedPaths(t.cleared) : {};
    // The sweep's index: there is an outbox entry to publish.
    if (t.outboxLeft) set.outboxAt = now;
    else unset.outboxAt = '';
    if (t.stalled && t.stalled.length > 0) set.stalled = t.stalled;
    else if (t.stalled) unset.stalled = '';
    if (t.reason !== undefined) set.reason = t.reason;
    if (t.error !== undefined) set.error = t.error;
    if (isTerminal(t.status)) set.endedAt = now;
    for (const entry of t.outboxAdd) set[`outbox.${entry.msgId}`] = entry;
    set[`history.${t.history.rev}`] = t.history;
    if (t.historyMoved) {
      set.historyBase = t.historyMoved.base;
      for (const r of t.historyMoved.revs) unset[`history.${r}`] = '';
    }
    const update = { $set: set, $unset: unset };
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
   * Removes published outbox entries in one write, never racing a transition: entry ids are
   * unique per revision, so removing them is idempotent. With `emptiesAtRev` (the caller knows
   * these are all the entries the document has at that revision) it also leaves the sweep's
   * index, unless a transition came in between; then `cleared` may be empty.
   */
  async clearOutbox(id: string, cleared: Cleared, emptiesAtRev?: number): Promise<void> {
    if (cleared.msgIds.length === 0 && emptiesAtRev === undefined) return;
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
      const updates = ops
        .map((op) =>
          conditional && op.emptiesAtRev !== undefined
            ? {
                updateOne: {
                  filter: { _id: op.id, rev: op.emptiesAtRev },
                  update: { $unset: { ...op.unset, outboxAt: '' as const } },
                },
              }
            : { updateOne: { filter: { _id: op.id }, update: { $unset: op.unset } } },
        )
        // Without its condition, a clear of nothing (it was to leave the index) is no write.
        .filter((u) => Object.keys(u.updateOne.update.$unset).length > 0);
      if (updates.length === 0) return true;
      const res = await this.sagas.bulkWrite(updates, { ordered: false });
      return res.matchedCount === updates.length;
    };
    if (!(await write(true))) await write(false);
    return ops.map(() => null);
  }

  /**
   * Copies a saga's history entries of revisions `(afterRev, throughRev]` from its document to
   * `saga_history` (entries copied before are skipped) and returns what the transition that
   * removes them from the document writes. A crash between the two leaves an entry in both
   * places; the reads take it once.
   */
  async moveHistory(id: string, afterRev: number, throughRev: number): Promise<HistoryMoved> {
    const doc = await this.sagas.findOne({ _id: id }, { projection: { history: 1 } });
    const entries = Object.values(doc?.history ?? {}).filter((h) => h.rev > afterRev && h.rev <= throughRev);
    if (entries.length > 0) {
      try {
        await this.history.insertMany(entries, { ordered: false });
      } catch (err) {
        if (!onlyDuplicates(err)) throw err;
      }
    }
    return { revs: entries.map((h) => h.rev), base: throughRev };
  }

  /** Every transition of a saga, oldest first, on its document or moved out (see saga-queries.ts). */
  historyOf(id: string): Promise<HistoryEntry[]> {
    return queries.historyOf(this, id);
  }

  /** Up to `limit` history entries of a saga after revision `afterRev`, in order. */
  historyAfter(id: string, afterRev: number, limit: number): Promise<HistoryEntry[]> {
    return queries.historyAfter(this, id, afterRev, limit);
  }

  /** A page of summaries, newest (or oldest) first, from `after` on (a keyset: see saga-queries.ts). */
  listSagas(filter: SagaListFilter, page: SagaListPaging): Promise<SagaListPage> {
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

  /**
   * One bounded round of retention: up to `limit` sagas that ended before `endedBefore`, with their
   * history, and tombstones older than `tombstonesBefore` (see purge-queries.ts).
   */
  purgeEnded(at: {
    now: Date;
    endedBefore: Date;
    tombstonesBefore: Date;
    limit: number;
  }): Promise<EndedPurge> {
    return purge.purgeEnded(this, at);
  }

  /** The tombstone of a saga purged after its retention period, while it is kept; else null. */
  tombstoneOf(id: string): Promise<SagaTombstone | null> {
    return purge.tombstoneOf(this, id);
  }

  /** Of `ids`, the sagas that have not ended (and were not purged). */
  stillRunning(ids: readonly string[]): Promise<Set<string>> {
    return purge.stillRunning(this, ids);
  }

  /** Gives `outboxAt` to sagas of an older jetsaga that still hold entries; once per start. */
  markUnsweptOutboxes(): Promise<number> {
    return recovery.markUnsweptOutboxes(this);
  }

  /** Sagas whose outbox entries were written before `olderThan` and are still there. */
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
  return unset;
}

export function nextWake(timers: Record<string, TimerEntry>): Date | null {
  let min: Date | null = null;
  for (const t of Object.values(timers)) if (!min || t.dueAt < min) min = t.dueAt;
  return min;
}

/** The options the connection string does not set itself (the driver lets an options object win). */
function unlessInUrl<T extends Record<string, number>>(url: string, defaults: T): Partial<T> {
  const query = url.split('?')[1]?.toLowerCase() ?? '';
  const set = new Set(query.split('&').map((pair) => pair.split('=')[0]));
  return Object.fromEntries(
    Object.entries(defaults).filter(([key]) => !set.has(key.toLowerCase())),
  ) as Partial<T>;
}
