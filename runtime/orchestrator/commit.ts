import type { Envelope } from '../wire/index.ts';
import {
  type Cleared,
  type HistoryMoved,
  isTerminal,
  type SagaDoc,
  type Transition,
} from '../store/index.ts';
import type { Change } from './decide.ts';
import { commandEntries, endedEntry, historyEntry } from './records.ts';
import { armResends, type StepPolicy } from './step-policies.ts';

/**
 * One step's write, and the cached document after it. The write itself is one conditional
 * update through the store (`SagaStore.commit`, filtered on the revision the change was decided
 * at), which the actor makes.
 */

/** Whether the outbox of `doc` still holds entries once `cleared` is removed from it. */
export function outboxLeftAfter(doc: Pick<SagaDoc, 'outbox'>, cleared: Cleared): boolean {
  const gone = new Set(cleared.msgIds);
  for (const m in doc.outbox) if (!gone.has(m)) return true;
  return false;
}

/** The bounds of what a step's write keeps (the orchestrator's config has them). */
export interface StepLimits {
  /** Recent message ids kept in the saga's inbox. */
  inboxSize: number;
  /** The largest context (bytes of JSON) its history entry keeps. */
  historyContextBytes: number;
}

/**
 * The write of `change`, decided on `doc` for the event `env` (removing `cleared`, what the
 * outbox has published since the last write, and `historyMoved`, older history entries copied
 * out of a long saga's document): the new state, the outbox entries of its commands (and its
 * resends), a resend timer for each command with a policy, the event added to the inbox (the
 * last `limits.inboxSize` ids), and the step's history entry. An ended saga keeps no timers;
 * otherwise the resend timers are added to `change.timers`, which is the write's timers. The write
 * that ends the saga also puts its `saga.ended` event in the outbox (not in the history's commands:
 * it is the runtime's announcement, not something the machine asked for).
 */
export function transitionOf(
  doc: SagaDoc,
  env: Envelope,
  change: Change,
  cleared: Cleared,
  policies: Record<string, StepPolicy> | undefined,
  limits: StepLimits,
  now: Date,
  historyMoved?: HistoryMoved,
): Transition {
  const rev = doc.rev + 1;
  const commands = commandEntries(doc, env, change.commands, rev, now);
  const ended = isTerminal(change.status);
  const timers = ended ? {} : change.timers;
  const armed = ended ? [] : armResends(policies, commands, change.state, timers, now);
  const outbox = [...commands, ...change.resends];
  const stalled = ended ? [] : change.stalled;
  // Written only when there is or was something stalled: the hot path's update stays as it was.
  const touchStalled = stalled.length > 0 || (doc.stalled?.length ?? 0) > 0;
  const announced = ended && !isTerminal(doc.status) ? [endedEntry(doc, env, change, now)] : [];
  return {
    status: change.status,
    state: change.state,
    context: change.context,
    snapshot: change.snapshot,
    outboxAdd: [...outbox, ...announced],
    outboxLeft: outbox.length > 0 || announced.length > 0 || outboxLeftAfter(doc, cleared),
    history: historyEntry(doc, env, rev, change, outbox, armed, now, limits.historyContextBytes),
    ...(historyMoved ? { historyMoved } : {}),
    inbox: [...doc.inbox, env.id].slice(-limits.inboxSize),
    timers,
    ...(touchStalled ? { stalled } : {}),
    cleared,
    reason: change.reason,
    // The store leaves `error` alone when undefined.
    error: change.error,
  };
}

/** Brings the cached `doc` to what the store holds once `t` is written at revision `rev`. */
export function applyCommitted(doc: SagaDoc, t: Transition, rev: number, now: Date): void {
  doc.status = t.status;
  doc.state = t.state;
  doc.context = t.context;
  doc.snapshot = t.snapshot;
  doc.rev = rev;
  doc.inbox = t.inbox;
  doc.timers = t.timers;
  if (t.stalled && t.stalled.length > 0) doc.stalled = t.stalled;
  else if (t.stalled) delete doc.stalled;
  doc.reason = t.reason;
  doc.updatedAt = now;
  for (const e of t.outboxAdd) doc.outbox[e.msgId] = e;
  // The history stays in the store only: the actor never reads it.
  if (t.historyMoved) doc.historyBase = t.historyMoved.base;
}
