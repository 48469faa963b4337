import { describe, expect, it } from 'vitest';
import { assign, emit, setup } from 'xstate';
import { TransientError } from '../errors.ts';
import type { Cleared, SagaDoc, SagaStatus } from '../store/index.ts';
import { type Envelope, envelope } from '../wire/index.ts';
import { applyCommitted, transitionOf } from './commit.ts';
import {
  alreadyHandled,
  alreadyStarted,
  type Change,
  type Decision,
  decide,
  notApplicable,
  staleTimer,
} from './decide.ts';
import type { SagaDefinition } from './definition.ts';
import { RuntimeEvent } from './runtime-events.ts';
import type { StepPolicy } from './step-policies.ts';
import { timerKey } from './step.ts';

const none: Cleared = { msgIds: [] };
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

/** Asks `svc.do` once, then waits for its reply, for 5 s at most. */
const machine = setup({
  types: {} as {
    context: { sagaId: string; answer?: unknown };
    events: { type: string; data?: unknown };
    input: { sagaId: string };
    emitted: { type: 'svc.do'; data: { sagaId: string } };
  },
  actions: { sideEffect: () => undefined },
}).createMachine({
  id: 'decide-test',
  context: ({ input }) => ({ sagaId: input.sagaId }),
  initial: 'asking',
  states: {
    asking: {
      entry: emit(({ context }) => ({ type: 'svc.do' as const, data: { sagaId: context.sagaId } })),
      after: { 5000: 'timedOut' },
      on: {
        'svc.done': { target: 'done', actions: assign({ answer: ({ event }) => event.data }) },
        'svc.gave-up': 'gaveUp',
        'svc.bad': { actions: 'sideEffect' },
      },
    },
    timedOut: { type: 'final' },
    gaveUp: { type: 'final' },
    done: { type: 'final' },
  },
  output: () => ({ status: 'completed' }),
});

const def = (policy?: StepPolicy): Pick<SagaDefinition, 'machine' | 'policies'> => ({
  machine,
  policies: policy ? { 'svc.do': policy } : undefined,
});

function newDoc(): SagaDoc {
  return {
    _id: 's-1',
    type: 'decide-test',
    version: 1,
    status: 'running',
    state: null,
    context: null,
    snapshot: null,
    input: {},
    rev: 0,
    outbox: {},
    inbox: [],
    timers: {},
    nextWakeAt: null,
    correlationId: 'c-1',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    createdAt: t0,
    updatedAt: t0,
    reason: null,
  };
}

const event = (type: string, data: Record<string, unknown> = {}, causationId: string | null = null) =>
  envelope({
    id: `${type}:${causationId ?? 'none'}`,
    type,
    sagaId: 's-1',
    sagaType: 'decide-test',
    correlationId: 'c-1',
    causationId,
    data,
    occurredAt: t0,
  });
const start = () => event(RuntimeEvent.started);
const timerEvent = (timerId: string, dueAt: Date) =>
  event(RuntimeEvent.timer, { timerId, dueAt: dueAt.getTime() });

function asChange(d: Decision): Change {
  if ('skip' in d) throw new Error(`expected a change, got skip ${d.skip}`);
  return d;
}

/** Decides and applies `env` the way the actor does, minus the I/O; returns the change. */
function step(doc: SagaDoc, env: Envelope, now: Date, policy?: StepPolicy): Change {
  const change = asChange(decide(doc, def(policy), env, now));
  const t = transitionOf(
    doc,
    env,
    change,
    none,
    def(policy).policies,
    { inboxSize: 10, historyContextBytes: 16_384 },
    now,
  );
  applyCommitted(doc, t, doc.rev + 1, now);
  return change;
}

describe('alreadyHandled', () => {
  it('is true for an event in the inbox or a saga that ended, false otherwise', () => {
    const doc = newDoc();
    expect(alreadyHandled(doc, start())).toBe(false);
    doc.inbox = [start().id];
    expect(alreadyHandled(doc, start())).toBe(true);
    for (const status of ['completed', 'compensated', 'failed', 'cancelled'] as SagaStatus[]) {
      expect(alreadyHandled({ ...newDoc(), status }, start())).toBe(true);
    }
  });
});

describe('decide', () => {
  it('starts the machine: its first commands, its timers, its state, with the saga id in its input', () => {
    const change = asChange(decide(newDoc(), def(), start(), t0));
    expect(change.commands).toEqual([{ type: 'svc.do', data: { sagaId: 's-1' } }]);
    expect(change.state).toBe('asking');
    expect(change.status).toBe('running');
    expect(change.timersSet.map((t) => t.dueAt)).toEqual([at(5000)]);
    expect(Object.keys(change.timers)).toEqual([timerKey(change.timersSet[0]!.id)]);
    expect(change.resends).toEqual([]);
    expect(change.error).toBeUndefined();
  });

  it('skips a second start, and refuses a reply before the start (it is retried)', () => {
    const doc = newDoc();
    expect(() => decide(doc, def(), event('svc.done'), t0)).toThrow(TransientError);
    step(doc, start(), t0);
    expect(decide(doc, def(), start(), t0)).toBe(alreadyStarted);
  });

  it('skips an event the machine has no transition for in its state', () => {
    const doc = newDoc();
    step(doc, start(), t0);
    expect(decide(doc, def(), event('svc.unknown'), t0)).toBe(notApplicable);
  });

  it('moves the machine on a reply and cancels the timers of the state it leaves', () => {
    const doc = newDoc();
    const started = step(doc, start(), t0);
    const change = asChange(decide(doc, def(), event('svc.done', { ok: true }, 's-1:1:0'), at(10)));
    expect(change.state).toBe('done');
    expect(change.status).toBe('completed');
    expect(change.context).toMatchObject({ answer: { ok: true } });
    expect(change.timersCancelled).toEqual([started.timersSet[0]!.id]);
    expect(change.commands).toEqual([]);
  });

  it('leaves the document as it was', () => {
    const doc = newDoc();
    step(doc, start(), t0);
    const before = structuredClone(doc);
    decide(doc, def(), event('svc.done', {}, 's-1:1:0'), at(10));
    decide(doc, def(), timerEvent(Object.values(doc.timers)[0]!.id, at(5000)), at(5000));
    expect(doc).toStrictEqual(before);
  });

  it('fires a durable timer that is still armed for that due time, and skips any other', () => {
    const doc = newDoc();
    const { timersSet } = step(doc, start(), t0);
    const id = timersSet[0]!.id;
    expect(decide(doc, def(), timerEvent(id, at(4999)), at(5000))).toBe(staleTimer);
    expect(decide(doc, def(), timerEvent('no-such-timer', at(5000)), at(5000))).toBe(staleTimer);
    const change = asChange(decide(doc, def(), timerEvent(id, at(5000)), at(5000)));
    expect(change.state).toBe('timedOut');
    expect(change.timers).toEqual({});
  });

  it('fails the saga, visibly, when the machine breaks the rules', () => {
    const doc = newDoc();
    step(doc, start(), t0);
    const change = asChange(decide(doc, def(), event('svc.bad'), at(1)));
    expect(change).toMatchObject({ status: 'failed', reason: 'machine-error', state: 'asking', timers: {} });
    expect(change.error).toEqual({ message: expect.stringContaining('sideEffect'), at: at(1) });
    expect(change.snapshot).toBe(doc.snapshot);
  });
});

describe('decide with a step policy', () => {
  const resendId = 'jetsaga.resend.s-1:1:0';
  const policy = (onExhausted?: StepPolicy['onExhausted']): StepPolicy => ({
    resendAfterMs: 1000,
    maxResends: 1,
    ...(onExhausted ? { onExhausted } : {}),
  });

  /** A started saga whose command went unanswered for its one resend, then once more. */
  function unanswered(p: StepPolicy) {
    const doc = newDoc();
    step(doc, start(), t0, p);
    const resend = step(doc, timerEvent(resendId, at(1000)), at(1000), p);
    return { doc, resend, last: decide(doc, def(p), timerEvent(resendId, at(3000)), at(3000)) };
  }

  it('resends an unanswered command with its own id, the machine staying where it is', () => {
    const { resend } = unanswered(policy('fail'));
    expect(resend.resends.map((e) => [e.msgId, e.envelope.id, e.envelope.occurredAt])).toEqual([
      ['s-1:1:0:resend:1', 's-1:1:0', at(1000).toISOString()],
    ]);
    expect(resend.state).toBe('asking');
    expect(resend.commands).toEqual([]);
    expect(resend.timers[timerKey(resendId)]!.dueAt).toEqual(at(3000));
  });

  it('gives up as declared: fail, an event for the machine, or nothing', () => {
    expect(asChange(unanswered(policy('fail')).last)).toMatchObject({
      status: 'failed',
      reason: 'step-exhausted: svc.do unanswered after 1 resends',
      timers: {},
      resends: [],
    });
    expect(asChange(unanswered(policy({ event: 'svc.gave-up' })).last)).toMatchObject({
      state: 'gaveUp',
      status: 'completed',
    });
    const { doc, last } = unanswered(policy());
    const change = asChange(last);
    expect(change).toMatchObject({ state: 'asking', status: 'running', resends: [], commands: [] });
    expect(Object.keys(change.timers)).toEqual(
      Object.keys(doc.timers).filter((k) => k !== timerKey(resendId)),
    );
  });

  it('cancels the resend timer when the command is answered', () => {
    const doc = newDoc();
    step(doc, start(), t0, policy('fail'));
    expect(Object.values(doc.timers).map((t) => t.id)).toContain(resendId);
    const change = asChange(decide(doc, def(policy('fail')), event('svc.done', {}, 's-1:1:0'), at(10)));
    expect(change.timersCancelled).toContain(resendId);
  });
});
