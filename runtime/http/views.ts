import { resumable } from '../orchestrator/index.ts';
import type { HistoryEntry, SagaDoc, SagaSummaryDoc, StalledCommand } from '../store/index.ts';
import type { SagaSummary, SagaView, StalledCommandView, Transition } from './schemas.ts';

/**
 * What the API shows of sagas: plain JSON with ISO dates. Kept apart from the store's
 * documents so the stored shape can change without breaking clients.
 */

export type HistoryView = Transition;
export type SagaSummaryView = SagaSummary;
export type SagaInspectorView = SagaView;

/** Dates may come back as strings from some MongoDB-wire servers, so both are accepted. */
export function isoDate(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

export const sagaPath = (sagaId: string) => `/v1/sagas/${encodeURIComponent(sagaId)}`;

/** Where sagas of a type are started (`POST`). */
export const startPath = (type: string) => `/v1/saga-types/${encodeURIComponent(type)}/sagas`;

export function sagaSummaryView(doc: SagaSummaryDoc): SagaSummaryView {
  return {
    sagaId: doc._id,
    type: doc.type,
    version: doc.version,
    status: doc.status,
    state: doc.state ?? null,
    reason: doc.reason ?? null,
    correlationId: doc.correlationId,
    rev: doc.rev,
    createdAt: isoDate(doc.createdAt),
    updatedAt: isoDate(doc.updatedAt),
  };
}

export function historyView(entry: HistoryEntry): HistoryView {
  return {
    rev: entry.rev,
    at: isoDate(entry.at),
    event: {
      id: entry.event.id,
      type: entry.event.type,
      data: entry.event.data ?? null,
      ...(entry.event.causationId !== undefined ? { causationId: entry.event.causationId } : {}),
    },
    from: entry.from ?? null,
    to: entry.to ?? null,
    status: entry.status,
    commands: (entry.commands ?? []).map((cmd) => ({
      msgId: cmd.msgId,
      type: cmd.type,
      data: cmd.data ?? null,
    })),
    timers: {
      set: (entry.timers?.set ?? []).map((t) => ({ id: t.id, dueAt: isoDate(t.dueAt) })),
      cancelled: entry.timers?.cancelled ?? [],
    },
    ...('context' in entry ? { context: entry.context ?? null } : {}),
    ...(entry.contextOmitted ? { contextOmitted: entry.contextOmitted } : {}),
  };
}

/** `retentionMs`: how long an ended saga is kept (0: for ever), for `expiresAt`. */
export function sagaInspectorView(doc: SagaDoc, history: HistoryEntry[], retentionMs = 0): SagaInspectorView {
  const endedAt = isoDate(doc.endedAt);
  const createdAt = isoDate(doc.createdAt);
  const self = sagaPath(doc._id);
  return {
    ...sagaSummaryView(doc),
    error: doc.error ? { message: doc.error.message, at: isoDate(doc.error.at) } : null,
    context: doc.context ?? null,
    input: doc.input ?? null,
    pendingOutbox: Object.values(doc.outbox ?? {}).map((entry) => ({
      msgId: entry.msgId,
      subject: entry.subject,
      type: entry.envelope.type,
    })),
    timers: Object.values(doc.timers ?? {}).map((t) => ({ id: t.id, dueAt: isoDate(t.dueAt) })),
    stalled: resumable(doc).map(stalledView),
    endedAt,
    expiresAt: endedAt && retentionMs > 0 ? new Date(Date.parse(endedAt) + retentionMs).toISOString() : null,
    durationMs: endedAt && createdAt ? Date.parse(endedAt) - Date.parse(createdAt) : null,
    history: history.map(historyView),
    links: {
      self,
      history: `${self}/history`,
      events: `${self}/events`,
      definition: definitionPath(doc.type, doc.version),
    },
  };
}

export function stalledView(s: StalledCommand): StalledCommandView {
  return { commandId: s.commandId, type: s.envelope.type, attempts: s.attempts, since: isoDate(s.at) };
}

export const definitionPath = (type: string, version: number) =>
  `/v1/saga-types/${encodeURIComponent(type)}/versions/${version}/definition`;
