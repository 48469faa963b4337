import type { Collection, Filter } from 'mongodb';
import { keyframeOf, withContexts } from './history-context.ts';
import type { HistoryEntry, SagaDoc, SagaStatus, StoredHistoryEntry } from './saga-doc.ts';

/**
 * The reads of the inspector (the API's list, a saga's history and its live events) and of the
 * metrics, on the collections SagaStore owns. SagaStore's methods are the way in; nobody else
 * queries `sagas` or `saga_history`.
 */
export interface SagaCollections {
  sagas: Collection<SagaDoc>;
  history: Collection<StoredHistoryEntry>;
}

/** What a saga's summary is made of: no context, snapshot, outbox or timers. */
export type SagaSummaryDoc = Pick<
  SagaDoc,
  | '_id'
  | 'type'
  | 'version'
  | 'status'
  | 'state'
  | 'reason'
  | 'correlationId'
  | 'rev'
  | 'createdAt'
  | 'updatedAt'
>;

/** The projection that loads exactly a summary. */
export const summaryProjection = {
  _id: 1,
  type: 1,
  version: 1,
  status: 1,
  state: 1,
  reason: 1,
  correlationId: 1,
  rev: 1,
  createdAt: 1,
  updatedAt: 1,
} as const;

/** A summary and, when the list asked for it (`withContext`), the saga's context. */
export type SagaListItem = SagaSummaryDoc & Partial<Pick<SagaDoc, 'context'>>;

/** Every field optional; given ones must all match. */
export interface SagaListFilter {
  type?: string;
  /** The machine's state, exactly as the document names it (dotted for nested states). */
  state?: string;
  /** One of these statuses. */
  status?: SagaStatus[];
  correlationId?: string;
  /** Created at or after. */
  createdAfter?: Date;
  /** Created before. */
  createdBefore?: Date;
}

/** Where a page of the list ended: the next page is strictly older (newest first) or newer (oldest first). */
export interface SagaListPosition {
  createdAt: Date;
  id: string;
}

export interface SagaListPage {
  items: SagaListItem[];
  /** Where the next page starts; null on the last page. */
  next: SagaListPosition | null;
}

/** The index the list's sort walks (a keyset on it), in SagaStore's `ensureIndexes`. */
export const listIndex = { createdAt: -1, _id: -1 } as const;

export interface SagaListPaging {
  limit: number;
  after?: SagaListPosition;
  /** Newest first by default; oldest first walks the same index backwards (a queue's order). */
  order?: 'newest' | 'oldest';
  /** Also read each saga's context (a work list shows what the sagas hold, not only where they are). */
  withContext?: boolean;
}

/**
 * Newest (or oldest) first, ties broken by id so the order is total: a keyset on (createdAt, _id)
 * walks every saga exactly once, however many are started while a client pages.
 */
export async function listSagas(
  { sagas }: SagaCollections,
  filter: SagaListFilter,
  page: SagaListPaging,
): Promise<SagaListPage> {
  const oldest = page.order === 'oldest';
  const and: Array<Filter<SagaDoc>> = [];
  if (filter.type !== undefined) and.push({ type: filter.type });
  if (filter.state !== undefined) and.push({ state: filter.state });
  if (filter.status !== undefined)
    and.push(filter.status.length === 1 ? { status: filter.status[0] } : { status: { $in: filter.status } });
  if (filter.correlationId !== undefined) and.push({ correlationId: filter.correlationId });
  if (filter.createdAfter !== undefined) and.push({ createdAt: { $gte: filter.createdAfter } });
  if (filter.createdBefore !== undefined) and.push({ createdAt: { $lt: filter.createdBefore } });
  const after = page.after;
  if (after !== undefined) {
    and.push(
      oldest
        ? {
            $or: [
              { createdAt: { $gt: after.createdAt } },
              { createdAt: after.createdAt, _id: { $gt: after.id } },
            ],
          }
        : {
            $or: [
              { createdAt: { $lt: after.createdAt } },
              { createdAt: after.createdAt, _id: { $lt: after.id } },
            ],
          },
    );
  }
  const query: Filter<SagaDoc> = and.length === 0 ? {} : and.length === 1 ? and[0]! : { $and: and };
  const docs = await sagas
    .find<SagaListItem>(query, {
      projection: page.withContext ? { ...summaryProjection, context: 1 } : summaryProjection,
    })
    .sort(oldest ? { createdAt: 1, _id: 1 } : listIndex)
    .limit(page.limit + 1)
    .toArray();
  const items = docs.slice(0, page.limit);
  const last = items.at(-1);
  // Dates may come back as strings from some MongoDB-wire servers.
  const next =
    docs.length > page.limit && last ? { createdAt: new Date(last.createdAt), id: last._id } : null;
  return { items, next };
}

/** One saga's summary, or null when there is no such saga. */
export function summaryOf({ sagas }: SagaCollections, id: string): Promise<SagaSummaryDoc | null> {
  return sagas.findOne<SagaSummaryDoc>({ _id: id }, { projection: summaryProjection });
}

/** Whether a saga exists, reading nothing else of it. */
export async function sagaExists({ sagas }: SagaCollections, id: string): Promise<boolean> {
  return (await sagas.findOne({ _id: id }, { projection: { _id: 1 } })) !== null;
}

/**
 * Every transition of a saga, oldest first: the entries on its document, and those a long saga
 * moved to `saga_history` (see `historyOnDoc`). The document is read first: an entry missing
 * from it by then was moved before it was removed. An entry in both places (a crash between the
 * copy and the removal) is taken once.
 */
export async function historyOf(collections: SagaCollections, id: string): Promise<HistoryEntry[]> {
  return historyAfter(collections, id, 0);
}

/**
 * The history entries of a saga after revision `afterRev` (up to `limit`), in revision order, each
 * with its context whole: the entries it is stored as changes against are read too, from the
 * keyframe before `afterRev` on (history-context.ts).
 */
export async function historyAfter(
  { sagas, history }: SagaCollections,
  id: string,
  afterRev: number,
  limit?: number,
): Promise<HistoryEntry[]> {
  const doc = await sagas.findOne(
    { _id: id },
    { projection: { history: 1, historyBase: 1, pendingHistory: 1 } },
  );
  const from = keyframeOf(afterRev + 1) - 1;
  const onDoc = [...Object.values(doc?.history ?? {}), ...Object.values(doc?.pendingHistory ?? {})];
  // Entries moved out, and those a jetsaga 0.1 copied there: only a saga that has some.
  const elsewhere =
    (doc?.historyBase ?? 0) > from || doc?.pendingHistory !== undefined || doc?.history === undefined
      ? await history
          .find(
            { sagaId: id, rev: { $gt: from } },
            { projection: { _id: 0 }, limit: limit === undefined ? 0 : limit + afterRev - from },
          )
          .sort({ rev: 1 })
          .toArray()
      : [];
  const byRev = new Map<number, StoredHistoryEntry>();
  for (const h of [...elsewhere, ...onDoc]) if (h.rev > from && !byRev.has(h.rev)) byRev.set(h.rev, h);
  const all = withContexts([...byRev.values()].sort((a, b) => a.rev - b.rev)).filter((h) => h.rev > afterRev);
  return limit === undefined ? all : all.slice(0, limit);
}

/** What waits in the store, for the metrics: each count stops at `cap`, so a scrape stays cheap. */
export interface SagaBacklog {
  /** Sagas with outbox entries written before `outboxBefore`. */
  outbox: number;
  /** Sagas with a durable timer armed. */
  timersArmed: number;
  /** Sagas whose next timer was due by `now`. */
  timersOverdue: number;
}

/** Three indexed counts; rejects when any of them fails. */
export async function countBacklog(
  { sagas }: SagaCollections,
  at: { now: Date; outboxBefore: Date; cap: number },
): Promise<SagaBacklog> {
  const count = (filter: Filter<SagaDoc>) => sagas.countDocuments(filter, { limit: at.cap });
  const [outbox, timersArmed, timersOverdue] = await Promise.all([
    count({ outboxAt: { $lte: at.outboxBefore } }),
    count({ nextWakeAt: { $ne: null } }),
    count({ nextWakeAt: { $lte: at.now } }),
  ]);
  return { outbox, timersArmed, timersOverdue };
}
