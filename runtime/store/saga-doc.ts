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
   * History entries written with their transition and copied to `saga_history` right after:
   * the inspector's record survives a crash between the two writes, like the outbox does.
   */
  pendingHistory?: Record<string, HistoryEntry>;
  /**
   * Set while the outbox or pendingHistory may hold entries (written by each transition,
   * removed when a clear finds nothing left): the outbox recovery sweep's indexed field.
   */
  outboxAt?: Date | null;
  /** Recent processed message ids, newest last, bounded. */
  inbox: string[];
  timers: Record<string, TimerEntry>;
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

/** One transition, for the inspector. Unique on (sagaId, rev), so a retried write is harmless. */
export interface HistoryEntry {
  sagaId: string;
  rev: number;
  event: { id: string; type: string; data: unknown };
  from: string | null;
  to: string | null;
  status: SagaStatus;
  commands: Array<{ msgId: string; type: string; data: unknown }>;
  timers: { set: Array<{ id: string; dueAt: Date }>; cancelled: string[] };
  at: Date;
}
