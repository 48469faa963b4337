import type { HistoryEntry, SagaDoc, SagaStatus } from '../store/index.ts';

/**
 * What the API shows of sagas: plain JSON with ISO dates. Kept apart from the store's
 * documents so the stored shape can change without breaking clients.
 */

export interface HistoryView {
  rev: number;
  at: string | null;
  event: { id: string; type: string; data: unknown };
  from: string | null;
  to: string | null;
  status: SagaStatus;
  commands: Array<{ msgId: string; type: string; data: unknown }>;
  timers: { set: Array<{ id: string; dueAt: string | null }>; cancelled: string[] };
}

export interface SagaSummaryView {
  sagaId: string;
  type: string;
  version: number;
  status: SagaStatus;
  state: string | null;
  reason: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}

export interface SagaInspectorView extends SagaSummaryView {
  error: { message: string; at: string | null } | null;
  context: unknown;
  input: unknown;
  rev: number;
  correlationId: string;
  pendingOutbox: Array<{ msgId: string; subject: string; type: string }>;
  timers: Array<{ id: string; dueAt: string | null }>;
  endedAt: string | null;
  /** Wall time from start to the end state; null while the saga runs. */
  durationMs: number | null;
  history: HistoryView[];
}

/** Dates may come back as strings from some MongoDB-wire servers, so both are accepted. */
export function isoDate(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

export type SagaSummarySource = Pick<
  SagaDoc,
  '_id' | 'type' | 'version' | 'status' | 'state' | 'reason' | 'createdAt' | 'updatedAt'
>;

export function sagaSummaryView(doc: SagaSummarySource): SagaSummaryView {
  return {
    sagaId: doc._id,
    type: doc.type,
    version: doc.version,
    status: doc.status,
    state: doc.state,
    reason: doc.reason ?? null,
    createdAt: isoDate(doc.createdAt),
    updatedAt: isoDate(doc.updatedAt),
  };
}

export function historyView(entry: HistoryEntry): HistoryView {
  return {
    rev: entry.rev,
    at: isoDate(entry.at),
    event: { id: entry.event.id, type: entry.event.type, data: entry.event.data },
    from: entry.from,
    to: entry.to,
    status: entry.status,
    commands: (entry.commands ?? []).map((cmd) => ({ msgId: cmd.msgId, type: cmd.type, data: cmd.data })),
    timers: {
      set: (entry.timers?.set ?? []).map((t) => ({ id: t.id, dueAt: isoDate(t.dueAt) })),
      cancelled: entry.timers?.cancelled ?? [],
    },
  };
}

export function sagaInspectorView(doc: SagaDoc, history: HistoryEntry[]): SagaInspectorView {
  const endedAt = isoDate(doc.endedAt);
  const createdAt = isoDate(doc.createdAt);
  return {
    ...sagaSummaryView(doc),
    error: doc.error ? { message: doc.error.message, at: isoDate(doc.error.at) } : null,
    context: doc.context,
    input: doc.input,
    rev: doc.rev,
    correlationId: doc.correlationId,
    pendingOutbox: Object.values(doc.outbox ?? {}).map((entry) => ({
      msgId: entry.msgId,
      subject: entry.subject,
      type: entry.envelope.type,
    })),
    timers: Object.values(doc.timers ?? {}).map((t) => ({ id: t.id, dueAt: isoDate(t.dueAt) })),
    endedAt,
    durationMs: endedAt && createdAt ? Date.parse(endedAt) - Date.parse(createdAt) : null,
    history: history.map(historyView),
  };
}
