import type { Envelope } from '../wire/index.ts';
import type { HistoryEntry, SagaDoc, SagaStatus } from '../store/index.ts';
import { applyCommitted, type StepLimits, transitionOf } from './commit.ts';
import { alreadyHandled, decide } from './decide.ts';
import type { SagaDefinition } from './definition.ts';
import { RuntimeEvent } from './runtime-events.ts';
import { canonical } from './start.ts';

/**
 * Replay: a saga's recorded events run again, one by one, through a definition, by the code the
 * orchestrator runs for a step (`decide`, then `transitionOf`, which builds the step's history
 * entry), on a document kept in memory the way the actor keeps its cached one (`applyCommitted`).
 * Each step's entry is compared with the recorded one: where the definition would have moved the
 * saga elsewhere, asked for other commands or set other timers, the two part. Nothing here
 * re-implements a step, so replay cannot drift from production. `jetsaga replay` and the test
 * kit's `replayHistories` check a build against recorded histories with it.
 */

/** A recorded transition: an entry of `GET /v1/sagas/{id}`'s `history` (dates as ISO strings) or of the store. */
export interface RecordedTransition {
  rev: number;
  at: string | Date | null;
  event: { id: string; type: string; data?: unknown; causationId?: string | null | undefined };
  from?: string | null | undefined;
  to: string | null;
  status: string;
  commands: ReadonlyArray<{ msgId: string; type: string; data?: unknown }>;
  timers: {
    set: ReadonlyArray<{ id: string; dueAt: string | Date | null }>;
    cancelled: readonly string[];
  };
}

/** A recorded saga: what `GET /v1/sagas/{id}` returns (only these fields are read). */
export interface RecordedSaga {
  sagaId: string;
  type: string;
  version: number;
  input: unknown;
  correlationId?: string | undefined;
  history: readonly RecordedTransition[];
}

/** What a step of the replay compares, in this order: the first that differs is where they part. */
export const ReplayAspect = {
  /** The record cannot be replayed from here: a revision is missing, or the events do not fit. */
  history: 'history',
  /** No definition of the saga's type and version in this build. */
  definition: 'definition',
  /** The definition made no step for the recorded event (ignored it, or the saga had ended). */
  step: 'step',
  to: 'to',
  status: 'status',
  commands: 'commands',
  timersSet: 'timers.set',
  timersCancelled: 'timers.cancelled',
  /** The machine threw (not a rule a saga broke: that is a step to `failed`, compared as such). */
  error: 'error',
} as const;
export type ReplayAspect = (typeof ReplayAspect)[keyof typeof ReplayAspect];

/** The first revision where the replay and the record part, and how. */
export interface Divergence {
  rev: number;
  aspect: ReplayAspect;
  /** The recorded value (JSON, as compared). */
  expected: unknown;
  /** What the definition does instead. */
  actual: unknown;
  /** One sentence, e.g. `rev 4: to: recorded "compensating.voidingPayment", replayed "failed"`. */
  message: string;
}

/** One replayed step: the saga at that revision as the definition makes it. */
export interface ReplayedStep {
  rev: number;
  event: string;
  state: string | null;
  status: SagaStatus;
  context: unknown;
  /** The step's history entry, as the orchestrator would have written it. */
  entry: HistoryEntry;
}

export interface ReplayResult {
  sagaId: string;
  type: string;
  version: number;
  /** Recorded transitions. */
  revisions: number;
  /** The steps replayed, up to and including the one that parts. */
  steps: ReplayedStep[];
  /** Absent when every recorded transition was reproduced. */
  divergence?: Divergence;
}

/**
 * What the replayed document keeps: the orchestrator's defaults (`JETSAGA_INBOX_SIZE`, whose only
 * role in a step is to recognise an event it handled already, and `JETSAGA_HISTORY_CONTEXT_BYTES`;
 * contexts are not compared, each step's is returned whole).
 */
const replayLimits: StepLimits = { inboxSize: 64, historyContextBytes: 16_384 };

/**
 * Replays `saga`'s recorded history through `def` (see the top of this file). Pure: no I/O; the
 * clock of each step is the time its transition was recorded at, so timers get the due times they
 * had. Stops at the first revision where the two part.
 */
export function replaySaga(
  def: Pick<SagaDefinition, 'machine' | 'policies'>,
  saga: RecordedSaga,
): ReplayResult {
  const history = [...saga.history].sort((a, b) => a.rev - b.rev);
  const result: ReplayResult = {
    sagaId: saga.sagaId,
    type: saga.type,
    version: saga.version,
    revisions: history.length,
    steps: [],
  };
  const firstAt = dateOf(history[0]?.at) ?? new Date(0);
  const doc: SagaDoc = {
    _id: saga.sagaId,
    type: saga.type,
    version: saga.version,
    status: 'running',
    state: null,
    context: null,
    snapshot: null,
    input: saga.input,
    rev: 0,
    outbox: {},
    inbox: [],
    timers: {},
    nextWakeAt: null,
    correlationId: saga.correlationId ?? saga.sagaId,
    createdAt: firstAt,
    updatedAt: firstAt,
    reason: null,
    error: null,
  };
  const part = (d: Divergence) => {
    result.divergence = d;
    return result;
  };
  for (const recorded of history) {
    const rev = doc.rev + 1;
    if (recorded.rev !== rev) {
      return part({
        rev,
        aspect: 'history',
        expected: rev,
        actual: recorded.rev,
        message: `rev ${rev}: missing from the record (it goes on at rev ${recorded.rev}); export the whole history`,
      });
    }
    const now = dateOf(recorded.at) ?? doc.updatedAt;
    const env = envelopeOf(saga, recorded, now);
    if (alreadyHandled(doc, env)) {
      const why = doc.inbox.includes(env.id)
        ? `the event ${env.id} was handled before`
        : `the saga had already ended ${doc.status} in ${doc.state ?? '∅'}`;
      return part({
        rev,
        aspect: 'step',
        expected: { event: env.type, to: recorded.to },
        actual: null,
        message: `rev ${rev}: recorded a step on ${env.type} to ${recorded.to ?? '∅'}, but ${why}`,
      });
    }
    if (doc.snapshot === null && env.type !== RuntimeEvent.started) {
      return part({
        rev,
        aspect: 'history',
        expected: RuntimeEvent.started,
        actual: env.type,
        message: `rev ${rev}: the record starts with ${env.type}, not ${RuntimeEvent.started}; export the whole history`,
      });
    }
    let entry: HistoryEntry;
    try {
      const decision = decide(doc, def, env, now);
      if ('skip' in decision) {
        return part({
          rev,
          aspect: 'step',
          expected: { event: env.type, to: recorded.to },
          actual: { skip: decision.skip, state: doc.state },
          message: `rev ${rev}: recorded a step on ${env.type} to ${recorded.to ?? '∅'}, but the definition ignores it in ${doc.state ?? '∅'} (${decision.skip})`,
        });
      }
      const cleared = { msgIds: Object.keys(doc.outbox) };
      const t = transitionOf(doc, env, decision, cleared, def.policies, replayLimits, now);
      entry = t.history;
      for (const m of cleared.msgIds) delete doc.outbox[m];
      applyCommitted(doc, t, rev, now);
      // The store keeps the snapshot as a document and the actor may reload it before any step:
      // each step starts from the stored form, as the test kit's do.
      doc.snapshot = jsonCopy(t.snapshot);
      doc.context = jsonCopy(t.context);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return part({
        rev,
        aspect: 'error',
        expected: { event: env.type, to: recorded.to },
        actual: { error: message },
        message: `rev ${rev}: the definition threw on ${env.type}: ${message}`,
      });
    }
    result.steps.push({
      rev,
      event: env.type,
      state: doc.state,
      status: doc.status,
      context: doc.context,
      entry,
    });
    const d = firstDifference(recorded, entry);
    if (d) return part(d);
  }
  return result;
}

/** The event of a recorded transition as the orchestrator handed it to the step. */
function envelopeOf(saga: RecordedSaga, t: RecordedTransition, now: Date): Envelope {
  const data = t.event.data;
  return {
    id: t.event.id,
    type: t.event.type,
    schemaVersion: 1,
    occurredAt: now.toISOString(),
    sagaId: saga.sagaId,
    sagaType: saga.type,
    correlationId: saga.correlationId ?? saga.sagaId,
    // Entries recorded before the causation id was kept replay with none (see HistoryEntry).
    causationId: t.event.causationId ?? null,
    data: data !== null && typeof data === 'object' ? (data as Record<string, unknown>) : {},
  };
}

/** Where the replayed entry parts from the recorded one, if it does: state, status, commands, timers. */
export function firstDifference(
  recorded: RecordedTransition,
  replayed: HistoryEntry,
): Divergence | undefined {
  const rev = recorded.rev;
  const aspects: Array<[ReplayAspect, unknown, unknown]> = [
    ['to', recorded.to ?? null, replayed.to],
    ['status', recorded.status, replayed.status],
    [
      'commands',
      recorded.commands.map((c) => ({ msgId: c.msgId, type: c.type, data: c.data ?? null })),
      replayed.commands.map((c) => ({ msgId: c.msgId, type: c.type, data: c.data ?? null })),
    ],
    ['timers.set', timersSet(recorded.timers.set), timersSet(replayed.timers.set)],
    ['timers.cancelled', [...recorded.timers.cancelled].sort(), [...replayed.timers.cancelled].sort()],
  ];
  for (const [aspect, expected, actual] of aspects) {
    const e = jsonCopy(expected);
    const a = jsonCopy(actual);
    if (canonical(e) === canonical(a)) continue;
    return {
      rev,
      aspect,
      expected: e,
      actual: a,
      message: `rev ${rev} (${recorded.event.type}): ${aspect}: recorded ${JSON.stringify(e)}, replayed ${JSON.stringify(a)}`,
    };
  }
  return undefined;
}

/** Timers by id with their due time as an ISO string, in id order (the order they are armed in is not part of the step). */
function timersSet(set: ReadonlyArray<{ id: string; dueAt: string | Date | null }>) {
  return set
    .map((t) => ({ id: t.id, dueAt: dateOf(t.dueAt)?.toISOString() ?? null }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function dateOf(value: string | Date | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

function jsonCopy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
