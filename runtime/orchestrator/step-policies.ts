import type { Envelope } from '../wire/index.ts';
import type { OutboxEntry, StalledCommand, TimerEntry } from '../store/index.ts';
import { timerKey } from './step.ts';

/**
 * What to do when a command gets no reply: resend it (same commandId, so the receiver
 * dedups; a new Nats-Msg-Id, so the stream does not drop it as a duplicate within its
 * window), with backoff, a bounded number of times; then give up as declared.
 */
export interface StepPolicy {
  /** Resend when no reply came within this long. */
  resendAfterMs: number;
  /** How many resends before giving up. */
  maxResends: number;
  /** Multiplier of the wait after each resend (default 2). */
  backoff?: number;
  /**
   * When resends run out: `fail` ends the saga `failed`; `{ event }` delivers that event
   * to the machine (`{ type: event, data: { command, commandId, attempts } }`) so it can
   * compensate or take another path; omitted leaves it to the machine's own timeouts, and the
   * command is kept on the saga as stalled: an operator can resume it (`saga.resume`).
   */
  onExhausted?: 'fail' | { event: string };
}

export const resendTimerPrefix = 'jetsaga.resend.';
export const resendEventType = 'jetsaga.resend';

interface ResendEvent {
  type: typeof resendEventType;
  commandId: string;
  attempt: number;
  /** The state that sent the command: the resend lives only while the saga stays there. */
  state: string | null;
  envelope: Envelope;
  [k: string]: unknown;
}

export const isResendTimer = (timerId: string) => timerId.startsWith(resendTimerPrefix);

/** Arms a resend timer for each new command whose type has a policy. */
export function armResends(
  policies: Record<string, StepPolicy> | undefined,
  commands: OutboxEntry[],
  state: string | null,
  timers: Record<string, TimerEntry>,
  now: Date,
): TimerEntry[] {
  const armed: TimerEntry[] = [];
  for (const c of commands) {
    const policy = policies?.[c.envelope.type];
    if (!policy || policy.maxResends < 1) continue;
    const timer = resendTimer(c.envelope, 1, state, new Date(now.getTime() + policy.resendAfterMs));
    timers[timerKey(timer.id)] = timer;
    armed.push(timer);
  }
  return armed;
}

/** Drops resend timers that no longer apply: their command was answered, or the saga left the state. */
export function settleResends(
  timers: Record<string, TimerEntry>,
  reply: { causationId: string | null },
  state: string | null,
): string[] {
  const cancelled: string[] = [];
  for (const [key, t] of Object.entries(timers)) {
    if (!isResendTimer(t.id)) continue;
    const e = t.event as ResendEvent;
    if (e.commandId === reply.causationId || e.state !== state) {
      delete timers[key];
      cancelled.push(t.id);
    }
  }
  return cancelled;
}

export type ResendPlan =
  | { kind: 'resend'; entry: OutboxEntry; next: TimerEntry | null }
  | {
      kind: 'exhausted';
      command: string;
      commandId: string;
      attempts: number;
      onExhausted: StepPolicy['onExhausted'];
      /** What the saga waits on from now on, should no `onExhausted` take it elsewhere. */
      stalled: StalledCommand;
    };

/** What a due resend timer means now. */
export function planResend(
  policies: Record<string, StepPolicy> | undefined,
  timer: TimerEntry,
  now: Date,
): ResendPlan {
  const e = timer.event as ResendEvent;
  const policy = policies?.[e.envelope.type];
  const attempt = e.attempt;
  if (!policy || attempt > policy.maxResends) {
    return {
      kind: 'exhausted',
      command: e.envelope.type,
      commandId: e.commandId,
      attempts: attempt - 1,
      onExhausted: policy?.onExhausted,
      stalled: {
        commandId: e.commandId,
        state: e.state,
        attempts: attempt - 1,
        at: now,
        envelope: e.envelope,
      },
    };
  }
  const entry: OutboxEntry = {
    msgId: `${e.commandId}:resend:${attempt}`,
    subject: `cmd.${e.envelope.type}`,
    envelope: { ...e.envelope, occurredAt: now.toISOString() },
    createdAt: now,
  };
  const wait = policy.resendAfterMs * (policy.backoff ?? 2) ** attempt;
  const next = resendTimer(e.envelope, attempt + 1, e.state, new Date(now.getTime() + wait));
  return { kind: 'resend', entry, next };
}

function resendTimer(envelope: Envelope, attempt: number, state: string | null, dueAt: Date): TimerEntry {
  const event: ResendEvent = { type: resendEventType, commandId: envelope.id, attempt, state, envelope };
  return { id: `${resendTimerPrefix}${envelope.id}`, event, dueAt };
}

/** The stalled commands still waited on: a reply to one (or leaving its state) drops it. */
export function settleStalled(
  stalled: readonly StalledCommand[],
  reply: { causationId: string | null },
  state: string | null,
): StalledCommand[] {
  return stalled.filter((s) => s.commandId !== reply.causationId && s.state === state);
}

/**
 * A resume of the stalled commands, by the step at revision `rev`: each goes out again with its
 * original command id (the participant dedups on it; one that did the work replays its recorded
 * reply) under a new msg id (the stream would drop a reused one within its window), and its
 * policy starts over: a resend timer at attempt 1, as when the command was first sent. A command
 * whose type has no policy any more is sent once, without resends.
 */
export function resumeStalled(
  policies: Record<string, StepPolicy> | undefined,
  stalled: readonly StalledCommand[],
  rev: number,
  timers: Record<string, TimerEntry>,
  now: Date,
): { resends: OutboxEntry[]; armed: TimerEntry[] } {
  const resends: OutboxEntry[] = [];
  const armed: TimerEntry[] = [];
  for (const s of stalled) {
    resends.push({
      msgId: `${s.commandId}:resume:${rev}`,
      subject: `cmd.${s.envelope.type}`,
      envelope: { ...s.envelope, occurredAt: now.toISOString() },
      createdAt: now,
    });
    const policy = policies?.[s.envelope.type];
    if (!policy || policy.maxResends < 1) continue;
    const timer = resendTimer(s.envelope, 1, s.state, new Date(now.getTime() + policy.resendAfterMs));
    timers[timerKey(timer.id)] = timer;
    armed.push(timer);
  }
  return { resends, armed };
}
