import { TerminalError, TransientError } from '../errors.ts';
import type { Envelope } from '../wire/index.ts';
import {
  isTerminal,
  type OutboxEntry,
  type SagaDoc,
  type SagaStatus,
  type StalledCommand,
  type TimerEntry,
} from '../store/index.ts';
import type { SagaDefinition } from './definition.ts';
import { RuntimeEvent } from './runtime-events.ts';
import { type MachineEvent, runStep, type StepResult, timerKey, toMachineEvent } from './step.ts';
import { signalEvent, signalNameOf, signalRefusal } from './signals.ts';
import { isResendTimer, planResend, resumeStalled, settleResends, settleStalled } from './step-policies.ts';

/**
 * What an event does to a saga, decided from its document alone: no I/O, no clock (the caller
 * gives `now`), and the document is left as it was. The actor then writes the change
 * (commit.ts) and publishes what it asks for (outbox-flush.ts).
 */

/** Everything one commit changes, whatever caused it (a machine step, a resend, a failure). */
export interface Change {
  status: SagaStatus;
  state: string | null;
  context: unknown;
  snapshot: unknown;
  reason: string | null;
  /** The machine's output when this step ends the saga (see StepResult). */
  output?: Record<string, unknown>;
  /** Set only when the machine broke the rules: the saga fails with this error. */
  error?: { message: string; at: Date } | null;
  commands: Array<{ type: string; data: Record<string, unknown> }>;
  /** Extra outbox entries with their own msg ids (resends). */
  resends: OutboxEntry[];
  timers: Record<string, TimerEntry>;
  timersSet: TimerEntry[];
  timersCancelled: string[];
  /** Commands whose resends ran out while the saga waits for them (a resume sends them again). */
  stalled: StalledCommand[];
}

/**
 * An event that changes nothing. The actor drops it, once sure its cached document is the
 * stored one (on a stale copy the event may well apply).
 */
export interface Skip {
  readonly skip:
    'stale-timer' | 'already-started' | 'not-applicable' | 'nothing-to-resume' | 'signal-refused';
  /** Why, for a skip the actor reports rather than drops (`signal-refused`). */
  readonly detail?: string;
}

/** A change to commit, or a reason to drop the event. Tell them apart with `'skip' in decision`. */
export type Decision = Change | Skip;

/** Cancelled, already fired, or re-armed with another due time. */
export const staleTimer: Skip = Object.freeze({ skip: 'stale-timer' });
/** A second start event (a copy the stream did not collapse). */
export const alreadyStarted: Skip = Object.freeze({ skip: 'already-started' });
/** The machine has no transition for this event in its state. */
export const notApplicable: Skip = Object.freeze({ skip: 'not-applicable' });
/** A resume of a saga that waits on no stalled command (answered or resumed meanwhile). */
export const nothingToResume: Skip = Object.freeze({ skip: 'nothing-to-resume' });

/**
 * Whether the event needs no step: seen before (a redelivery, a resend) or too late to matter.
 * What its step asked for may still have to go out, so the actor flushes the outbox instead.
 * Asked before `decide`, which needs the saga's definition.
 */
export function alreadyHandled(doc: SagaDoc, env: Envelope): boolean {
  return doc.inbox.includes(env.id) || isTerminal(doc.status);
}

/**
 * What `env` does to the saga in `doc` under `def` at `now`. Throws TransientError for an
 * event that arrived before the saga's start (a retry will find it started); a machine that
 * breaks the rules (TerminalError) is a change too: the saga fails, visibly, instead of
 * looping on the same event.
 */
export function decide(
  doc: SagaDoc,
  def: Pick<SagaDefinition, 'machine' | 'policies'>,
  env: Envelope,
  now: Date,
): Decision {
  const timers = { ...doc.timers };
  let event: MachineEvent | null;
  if (env.type === RuntimeEvent.timer) {
    const key = timerKey(String(env.data.timerId));
    const timer = timers[key];
    if (!timer || timer.dueAt.getTime() !== Number(env.data.dueAt)) return staleTimer;
    delete timers[key];
    if (isResendTimer(timer.id)) {
      const plan = planResend(def.policies, timer, now);
      if (plan.kind === 'resend') {
        if (plan.next) timers[key] = plan.next;
        return { ...unchangedMachine(doc), resends: [plan.entry], timers };
      }
      if (plan.onExhausted === 'fail') {
        const reason = `step-exhausted: ${plan.command} unanswered after ${plan.attempts} resends`;
        return { ...unchangedMachine(doc), status: 'failed', reason, timers: {}, stalled: [] };
      }
      if (!plan.onExhausted) {
        // The machine keeps waiting (its own timeout, if any, decides): the command is kept as
        // stalled, for an operator to resume once the participant is back.
        const others = (doc.stalled ?? []).filter((s) => s.commandId !== plan.commandId);
        return { ...unchangedMachine(doc), timers, stalled: [...others, plan.stalled] };
      }
      event = {
        type: plan.onExhausted.event,
        data: { command: plan.command, commandId: plan.commandId, attempts: plan.attempts },
      };
    } else {
      event = timer.event;
    }
  } else if (env.type === RuntimeEvent.started) {
    if (doc.snapshot !== null) return alreadyStarted;
    event = null;
  } else if (env.type === RuntimeEvent.resume) {
    return resume(doc, def, now);
  } else if (signalNameOf(env.type) !== null) {
    if (doc.snapshot === null) throw new TransientError(`saga ${doc._id} has not started yet`);
    const signal = signalEvent(env.type, env.data);
    // The API checked the state before sending; the saga may have moved since. A signal is a
    // person's decision: refused, it is reported (dead-lettered, replayable), never dropped.
    const refusal = signalRefusal(doc, { type: doc.type, machine: def.machine }, signal);
    if (refusal) return { skip: 'signal-refused', detail: refusal };
    event = signal;
  } else {
    if (doc.snapshot === null) throw new TransientError(`saga ${doc._id} has not started yet`);
    event = toMachineEvent(env);
  }

  let result: StepResult;
  try {
    result = runStep(def.machine, { snapshot: doc.snapshot, input: machineInput(doc), timers }, event, now);
  } catch (err) {
    if (!(err instanceof TerminalError)) throw err;
    return {
      ...unchangedMachine(doc),
      status: 'failed',
      reason: 'machine-error',
      error: { message: err.message, at: now },
      timers: {},
      stalled: [],
    };
  }
  const settled = settleResends(result.timers, { causationId: env.causationId }, result.state);
  const waiting = doc.stalled ?? [];
  const stalled = settleStalled(waiting, { causationId: env.causationId }, result.state);
  const unchanged =
    signalNameOf(env.type) === null && // an accepted signal is recorded even when it changes nothing
    stalled.length === waiting.length &&
    result.commands.length === 0 &&
    result.timersSet.length === 0 &&
    result.timersCancelled.length === 0 &&
    settled.length === 0 &&
    env.type !== RuntimeEvent.timer &&
    result.state === doc.state &&
    JSON.stringify(result.context) === JSON.stringify(doc.context);
  if (unchanged && doc.snapshot !== null) return notApplicable;
  return { ...result, resends: [], timersCancelled: [...result.timersCancelled, ...settled], stalled };
}

/**
 * `saga.resume`: the stalled commands of the saga's current state go out again, policies started
 * over (step-policies.ts `resumeStalled`). The machine is not asked: it is still waiting for
 * those replies, and this step only repeats the request; the history records the resume and who
 * asked (the event's `by`).
 */
function resume(doc: SagaDoc, def: Pick<SagaDefinition, 'policies'>, now: Date): Decision {
  const stalled = (doc.stalled ?? []).filter((s) => s.state === doc.state);
  if (stalled.length === 0) return nothingToResume;
  const timers = { ...doc.timers };
  const { resends, armed } = resumeStalled(def.policies, stalled, doc.rev + 1, timers, now);
  return { ...unchangedMachine(doc), resends, timers, timersSet: armed, stalled: [] };
}

/** The machine part of a change that leaves the machine where it is. */
function unchangedMachine(doc: SagaDoc): Change {
  return {
    status: doc.status,
    state: doc.state,
    context: doc.context,
    snapshot: doc.snapshot,
    reason: doc.reason ?? null,
    commands: [],
    resends: [],
    timers: doc.timers,
    timersSet: [],
    timersCancelled: [],
    stalled: doc.stalled ?? [],
  };
}

/** Machines get their saga id beside the caller's input, to key idempotent effects on. */
export function machineInput(doc: Pick<SagaDoc, '_id' | 'input'>): Record<string, unknown> {
  return { ...(doc.input as Record<string, unknown>), sagaId: doc._id };
}
