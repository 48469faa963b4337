import type { Envelope } from '../wire/index.ts';

export const SagaStatus = {
  running: 'running',
  completed: 'completed',
  compensating: 'compensating',
  compensated: 'compensated',
  failed: 'failed',
  cancelled: 'cancelled',
} as const;
export type SagaStatus = (typeof SagaStatus)[keyof typeof SagaStatus];
export const terminalStatuses: readonly SagaStatus[] = ['completed', 'compensated', 'failed', 'cancelled'];
export const isTerminal = (s: SagaStatus) => terminalStatuses.includes(s);

/** A message waiting to be published; cleared only after its PubAck. */
export interface OutboxEntry {
  msgId: string;
  /** Local subject, e.g. `cmd.inventory.reserve`. */
  subject: string;
  envelope: Envelope;
  createdAt: Date;
}

/** A durable timer: XState's delayed raise, owned by the runtime so it survives restarts. */
export interface TimerEntry {
  id: string;
  event: { type: string; [k: string]: unknown };
  dueAt: Date;
}

/**
 * A command whose step policy ran out of resends without an `onExhausted` (the participant was
 * down longer than the policy allows): the saga still waits for its reply. Kept, with the
 * envelope it was sent as, so an operator can resume the saga (`saga.resume`) once the cause is
 * fixed: the same command, same command id, sent again with the policy started over.
 */
export interface StalledCommand {
  /** The command's id (its envelope id): what the participant dedups on. */
  commandId: string;
  /** The state that sent it: the saga leaving that state drops the entry. */
  state: string | null;
  /** Resends made before giving up. */
  attempts: number;
  at: Date;
  envelope: Envelope;
}

/**
 * One saga instance. `outbox` and `timers` are maps keyed by id so single entries can be
 * set and unset with dotted paths (portable across MongoDB-wire servers, unlike `$pull`
 * with a condition); `rev` guards every transition.
 */
export interface SagaDoc {
  _id: string;
  type: string;
  version: number;
  status: SagaStatus;
  /** Current state value, dotted for nested states (`compensating.releasingStock`). */
  state: string | null;
  context: unknown;
  /** XState persisted snapshot; null until the first transition. */
  snapshot: unknown;
  input: unknown;
  rev: number;
  outbox: Record<string, OutboxEntry>;
  /**
   * The saga's history, keyed by revision: each transition's entry is written by the
   * transition's own update, so keeping the inspector's record costs no write of its own. Only
   * a long saga moves its oldest entries out to `saga_history` (see `historyOnDoc`); loads
   * for the actor leave this field out.
   */
  history?: Record<string, StoredHistoryEntry>;
  /** Entries of revisions up to this one have been moved to `saga_history` (absent: none). */
  historyBase?: number;
  /** Written by jetsaga 0.1: history entries on their way to `saga_history`; read, never written. */
  pendingHistory?: Record<string, StoredHistoryEntry>;
  /**
   * Set while the outbox may hold entries not yet published (written by a transition that
   * leaves entries, removed by one or by a clear that leaves none): the outbox recovery
   * sweep's indexed field.
   */
  outboxAt?: Date | null;
  /** Recent processed message ids, newest last, bounded. */
  inbox: string[];
  timers: Record<string, TimerEntry>;
  /** Commands whose resends ran out while the saga still waits for them; absent when none. */
  stalled?: StalledCommand[];
  nextWakeAt: Date | null;
  correlationId: string;
  traceparent?: string;
  createdAt: Date;
  updatedAt: Date;
  endedAt?: Date | null;
  /** Why the saga did not complete: a step's failure, `fraud`, a cancel reason. */
  reason?: string | null;
  error?: { message: string; at: Date } | null;
}

/**
 * History entries a saga document holds before its oldest are moved to `saga_history`. A saga
 * of the usual size (a dozen steps) never moves any; a long-running one (signals, loops) stays
 * a bounded document.
 */
export const historyOnDoc = 64;

/** What the actor and the timer poll load: everything but the history (the inspector reads it). */
export const withoutHistory = { history: 0, pendingHistory: 0 } as const;

/**
 * One transition, for the inspector (and its time travel) and `jetsaga replay`. Unique on
 * (sagaId, rev) in `saga_history`.
 */
export interface HistoryEntry {
  sagaId: string;
  rev: number;
  /**
   * The event the step handled. `causationId` (what the event answers: a reply's command id) is
   * what the machine and the resend policies saw of it; entries written before jetsaga recorded it
   * lack it, and replay then gives them null.
   */
  event: { id: string; type: string; data: unknown; causationId?: string | null };
  from: string | null;
  to: string | null;
  status: SagaStatus;
  commands: Array<{ msgId: string; type: string; data: unknown }>;
  timers: { set: Array<{ id: string; dueAt: Date }>; cancelled: string[] };
  at: Date;
  /**
   * The saga's context after the step, for time travel. Absent when its JSON was larger than the
   * limit (`JETSAGA_HISTORY_CONTEXT_BYTES`, 16 KiB by default: each of the `historyOnDoc` entries a
   * document holds may carry one, so 1 MiB of the 16 MiB a MongoDB document may have), then
   * `contextOmitted` says how large; absent too in entries written before jetsaga recorded it.
   */
  context?: unknown;
  /** Set instead of `context` when the context's JSON was over the limit. */
  contextOmitted?: { bytes: number; limit: number };
}

/** The top-level fields of a context a step set (whole values) and removed. */
export interface ContextChanges {
  set: Record<string, unknown>;
  unset?: string[];
}

/**
 * A history entry as stored, on the saga's document or in `saga_history`: its context whole
 * (`context`), as changes to the previous entry's (`contextChanges`, see history-context.ts), or
 * only its size. The store's readers of the history return `HistoryEntry`s, contexts whole.
 */
export interface StoredHistoryEntry extends HistoryEntry {
  contextChanges?: ContextChanges;
}
