import { type Envelope, envelope } from '../wire/index.ts';
import {
  contextChangesOf,
  keyframeOf,
  type OutboxEntry,
  type SagaDoc,
  type StoredHistoryEntry,
  type TimerEntry,
} from '../store/index.ts';
import type { Change } from './decide.ts';
import { RuntimeEvent, type SagaEndedData } from './runtime-events.ts';
import type { EmittedCommand } from './step.ts';

/**
 * The records a saga's steps write: outbox entries (each holding the envelope it will be
 * published as) and history entries. Pure builders; ids are derived from the saga and its
 * revision, so a step that is written again writes the same ids.
 */

/** An outbox entry for `env`, published to the local subject `subject` with `env.id` as msg id. */
export function outboxEntry(subject: string, env: Envelope, createdAt: Date): OutboxEntry {
  return { msgId: env.id, subject, envelope: env, createdAt };
}

/**
 * The outbox entries of the commands a step at revision `rev` asked for. A command's id
 * (its msg id, and the receiver's idempotency key) is `<sagaId>:<rev>:<index>`; it is caused
 * by the event the step handled and carries that event's trace, or else the saga's.
 */
export function commandEntries(
  doc: Pick<SagaDoc, '_id' | 'type' | 'correlationId' | 'traceparent'>,
  cause: Pick<Envelope, 'id' | 'traceparent'>,
  commands: readonly EmittedCommand[],
  rev: number,
  now: Date,
): OutboxEntry[] {
  return commands.map((c, i) =>
    outboxEntry(
      `cmd.${c.type}`,
      sagaEnvelope(doc, cause, `${doc._id}:${rev}:${i}`, c.type, c.data, now),
      now,
    ),
  );
}

/** An envelope the saga in `doc` sends, caused by `cause` and carrying its trace (or else the saga's). */
function sagaEnvelope(
  doc: Pick<SagaDoc, '_id' | 'type' | 'correlationId' | 'traceparent'>,
  cause: Pick<Envelope, 'id' | 'traceparent'>,
  id: string,
  type: string,
  data: Record<string, unknown>,
  now: Date,
): Envelope {
  return envelope({
    id,
    type,
    occurredAt: now,
    sagaId: doc._id,
    sagaType: doc.type,
    correlationId: doc.correlationId,
    causationId: cause.id,
    traceparent: cause.traceparent ?? doc.traceparent,
    data,
  });
}

/**
 * The outbox entry of `saga.ended` for a saga that `change` ends: written by the update that ends
 * it, so the event exists exactly when the terminal status does (no write of its own, no window in
 * which a crash loses it), and published by the same flush as the step's commands. One id per saga
 * (`<sagaId>:ended`): a republish by the sweep, or a second writer that lost the `rev` race and
 * retried, collapses in the stream's duplicate window. Caused by the event that ended the saga.
 */
export function endedEntry(
  doc: Pick<SagaDoc, '_id' | 'type' | 'version' | 'correlationId' | 'traceparent'>,
  cause: Pick<Envelope, 'id' | 'traceparent'>,
  change: Pick<Change, 'status' | 'reason' | 'state' | 'output'>,
  now: Date,
): OutboxEntry {
  const id = `${doc._id}:ended`;
  const data: SagaEndedData = {
    sagaType: doc.type,
    version: doc.version,
    // The caller writes it only for a change that ends the saga: a terminal status.
    status: change.status as SagaEndedData['status'],
    reason: change.reason,
    state: change.state,
    ...(change.output ? { output: change.output } : {}),
  };
  return outboxEntry(
    `evt.${RuntimeEvent.ended}`,
    sagaEnvelope(doc, cause, id, RuntimeEvent.ended, data, now),
    now,
  );
}

/**
 * The inspector's record of the step that moved the saga in `doc` to revision `rev`: the event,
 * the move, what went out (`outbox`: commands and resends), the timers set (the machine's and
 * the resend timers `armed` for its commands) and cancelled, and the context after it (up to
 * `contextLimit` bytes of JSON; stored as its changes to `doc.context` where it can be, see
 * history-context.ts). It rides the step's own write, so recording it costs no write.
 */
export function historyEntry(
  doc: Pick<SagaDoc, '_id' | 'state' | 'context'>,
  event: Pick<Envelope, 'id' | 'type' | 'data' | 'causationId'>,
  rev: number,
  change: Pick<Change, 'state' | 'status' | 'timersSet' | 'timersCancelled' | 'context'>,
  outbox: readonly OutboxEntry[],
  armed: readonly TimerEntry[],
  now: Date,
  contextLimit: number,
): StoredHistoryEntry {
  return {
    sagaId: doc._id,
    rev,
    event: { id: event.id, type: event.type, data: event.data, causationId: event.causationId },
    from: doc.state,
    to: change.state,
    status: change.status,
    commands: outbox.map((e) => ({ msgId: e.msgId, type: e.envelope.type, data: e.envelope.data })),
    timers: {
      set: [...change.timersSet, ...armed].map((t) => ({ id: t.id, dueAt: t.dueAt })),
      cancelled: change.timersCancelled,
    },
    at: now,
    ...recordedContext(change.context, contextLimit, { rev, previousContext: doc.context }),
  };
}

/**
 * The context as a history entry records it: only its size when over the limit; else its changes
 * to the previous context when the previous entry recorded that one and `rev` is not a keyframe
 * (history-context.ts); else whole.
 */
export function recordedContext(
  context: unknown,
  limit: number,
  step?: { rev: number; previousContext: unknown },
): Pick<StoredHistoryEntry, 'context' | 'contextOmitted' | 'contextChanges'> {
  const bytes = jsonBytes(context);
  if (bytes > limit) return { contextOmitted: { bytes, limit } };
  if (!step || keyframeOf(step.rev) === step.rev) return { context: context ?? null };
  const changes = contextChangesOf(step.previousContext, context);
  // The previous entry recorded its context only if it was within the limit too.
  if (!changes || jsonBytes(step.previousContext) > limit) return { context: context ?? null };
  return { contextChanges: changes };
}

/**
 * The size of contexts measured, by identity: a context is never changed in place (each step's
 * `assign` makes a new one), so a live saga's previous context was measured by its previous step.
 */
const measured = new WeakMap<object, number>();

/** Bytes of the JSON of `value` (UTF-8). */
function jsonBytes(value: unknown): number {
  const key = value !== null && typeof value === 'object' ? value : null;
  const known = key ? measured.get(key) : undefined;
  if (known !== undefined) return known;
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? 'null');
  if (key) measured.set(key, bytes);
  return bytes;
}
