import { describe, expect, it } from 'vitest';
import { assign, emit, setup } from 'xstate';
import { z } from 'zod';
import { ValidationError } from '../errors.ts';
import type { Cleared, SagaDoc } from '../store/index.ts';
import { type Envelope, envelope } from '../wire/index.ts';
import { applyCommitted, transitionOf } from './commit.ts';
import { type Change, type Decision, decide, nothingToResume } from './decide.ts';
import { defineSaga } from './definition.ts';
import { RuntimeEvent } from './runtime-events.ts';
import { checkSignalData, signalEventId, signalRefusal, statesAccepting } from './signals.ts';
import type { StepPolicy } from './step-policies.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const none: Cleared = { msgIds: [] };

/** Asks `svc.do`, then waits in `review` (nested `review.open`) for an `approve` or a `reject` signal. */
const machine = setup({
  types: {} as {
    context: { sagaId: string; approvedBy?: string; note?: string };
    events:
      | { type: 'svc.done'; data: unknown }
      | { type: 'saga.signal.approve'; data: { note: string }; by: string }
      | { type: 'saga.signal.reject'; data: Record<string, never>; by: string };
    input: { sagaId: string };
    emitted: { type: 'svc.do'; data: { sagaId: string } };
  },
}).createMachine({
  id: 'signals-test',
  context: ({ input }) => ({ sagaId: input.sagaId }),
  initial: 'asking',
  states: {
    asking: {
      entry: emit(({ context }) => ({ type: 'svc.do' as const, data: { sagaId: context.sagaId } })),
      on: { 'svc.done': 'review' },
    },
    review: {
      initial: 'open',
      states: { open: {} },
      on: {
        'saga.signal.approve': {
          target: 'approved',
          actions: assign({ approvedBy: ({ event }) => event.by, note: ({ event }) => event.data.note }),
        },
        'saga.signal.reject': 'rejected',
      },
    },
    approved: { type: 'final' },
    rejected: { type: 'final' },
  },
  output: () => ({ status: 'completed' }),
});

const signals = { approve: z.object({ note: z.string().min(1) }), reject: z.object({}) };
const policy: StepPolicy = { resendAfterMs: 1000, maxResends: 1 };
const def = defineSaga({
  type: 'signals-test',
  version: 1,
  machine,
  input: z.object({}),
  signals,
  policies: { 'svc.do': policy },
});

function newDoc(): SagaDoc {
  return {
    _id: 's-1',
    type: 'signals-test',
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
    createdAt: t0,
    updatedAt: t0,
    reason: null,
  };
}

let seq = 0;
const event = (type: string, data: Record<string, unknown> = {}, causationId: string | null = null) =>
  envelope({
    id: `${type}:${++seq}`,
    type,
    sagaId: 's-1',
    sagaType: 'signals-test',
    correlationId: 'c-1',
    causationId,
    data,
    occurredAt: t0,
  });

function asChange(d: Decision): Change {
  if ('skip' in d) throw new Error(`expected a change, got skip ${d.skip}`);
  return d;
}

function step(doc: SagaDoc, env: Envelope, now: Date): Change {
  const change = asChange(decide(doc, def, env, now));
  applyCommitted(
    doc,
    transitionOf(doc, env, change, none, def.policies, { inboxSize: 10, historyContextBytes: 16_384 }, now),
    doc.rev + 1,
    now,
  );
  return change;
}

/** A saga whose `svc.do` went unanswered through its one resend: stalled in `asking`. */
function stalledSaga(): SagaDoc {
  const doc = newDoc();
  step(doc, event(RuntimeEvent.started), t0);
  step(
    doc,
    event(RuntimeEvent.timer, { timerId: 'jetsaga.resend.s-1:1:0', dueAt: at(1000).getTime() }),
    at(1000),
  );
  step(
    doc,
    event(RuntimeEvent.timer, { timerId: 'jetsaga.resend.s-1:1:0', dueAt: at(3000).getTime() }),
    at(3000),
  );
  return doc;
}

describe('signal declarations', () => {
  it('lists the states that accept a signal, nested states included', () => {
    expect(statesAccepting(machine, 'saga.signal.approve')).toEqual(['review', 'review.open']);
    expect(statesAccepting(machine, 'saga.signal.nope')).toEqual([]);
  });

  it('defineSaga refuses a signal no state handles, and a handled signal not declared', () => {
    expect(() => defineSaga({ ...def, signals: { ...signals, later: z.object({}) } })).toThrow(
      /signal "later" is declared but no state of the machine handles saga.signal.later/,
    );
    expect(() => defineSaga({ ...def, signals: { approve: signals.approve } })).toThrow(
      /handles saga.signal.reject but signals does not declare "reject"/,
    );
    expect(() => defineSaga({ ...def, signals: { ...signals, Bad_Name: z.object({}) } })).toThrow(
      ValidationError,
    );
  });

  it('derives the event id from the Idempotency-Key, and a fresh one without', () => {
    expect(signalEventId('s-1', 'approve', 'k')).toBe(signalEventId('s-1', 'approve', 'k'));
    expect(signalEventId('s-1', 'approve', 'k')).not.toBe(signalEventId('s-1', 'approve', 'k2'));
    expect(signalEventId('s-1', 'approve', 'k')).not.toBe(signalEventId('s-1', 'reject', 'k'));
    expect(signalEventId('s-1', 'approve')).not.toBe(signalEventId('s-1', 'approve'));
  });
});

describe('the orchestrator checks a signal against its own saga type', () => {
  const doc = { type: 'signals-test', version: 1 };
  it('passes a declared signal with valid data, refuses an undeclared one or bad data by field', () => {
    const ok = { type: 'saga.signal.approve', data: { by: 'alice', data: { note: 'x' } } };
    expect(() => checkSignalData(def, doc, ok)).not.toThrow();
    expect(() => checkSignalData(def, doc, { ...ok, type: 'saga.signal.escalate' })).toThrow(
      /declares no signal "escalate"/,
    );
    expect(() => checkSignalData(def, doc, { ...ok, data: { by: 'alice', data: { note: '' } } })).toThrow(
      /data\.note/,
    );
  });
});

describe('decide a signal', () => {
  const approve = (note: string, by = 'alice') => event('saga.signal.approve', { by, data: { note } });

  it('gives the machine the body as data and the caller as by', () => {
    const doc = newDoc();
    step(doc, event(RuntimeEvent.started), t0);
    step(doc, event('svc.done', {}, 's-1:1:0'), at(1));
    const change = step(doc, approve('ok'), at(2));
    expect(change.state).toBe('approved');
    expect(change.context).toMatchObject({ approvedBy: 'alice', note: 'ok' });
  });

  it('refuses a signal its state does not accept, naming the states that do', () => {
    const doc = newDoc();
    step(doc, event(RuntimeEvent.started), t0);
    const d = decide(doc, def, approve('early'), at(1));
    expect(d).toMatchObject({ skip: 'signal-refused' });
    expect((d as { detail: string }).detail).toContain('is in state asking');
    expect((d as { detail: string }).detail).toContain('states that accept it: review, review.open');
    expect(
      signalRefusal({ ...doc, status: 'completed' }, def, { type: 'saga.signal.approve', data: {}, by: 'a' }),
    ).toMatch(/already ended with status completed/);
  });
});

describe('decide a resume', () => {
  it('keeps a command whose resends ran out (no onExhausted) as stalled, the machine still waiting', () => {
    const doc = stalledSaga();
    expect(doc.state).toBe('asking');
    expect(doc.stalled).toMatchObject([{ commandId: 's-1:1:0', state: 'asking', attempts: 1 }]);
    expect(Object.keys(doc.timers)).toEqual([]);
  });

  it('sends the stalled command again with its command id and starts its policy over', () => {
    const doc = stalledSaga();
    const rev = doc.rev;
    const change = step(doc, event(RuntimeEvent.resume, { by: 'ops' }), at(10_000));
    expect(change.state).toBe('asking');
    expect(change.resends.map((e) => [e.msgId, e.envelope.id, e.envelope.type])).toEqual([
      [`s-1:1:0:resume:${rev + 1}`, 's-1:1:0', 'svc.do'],
    ]);
    expect(change.timersSet).toMatchObject([
      { id: 'jetsaga.resend.s-1:1:0', dueAt: at(11_000), event: { attempt: 1 } },
    ]);
    expect(doc.stalled).toBeUndefined();
    // The policy runs again: one resend, then stalled once more.
    step(
      doc,
      event(RuntimeEvent.timer, { timerId: 'jetsaga.resend.s-1:1:0', dueAt: at(11_000).getTime() }),
      at(11_000),
    );
    step(
      doc,
      event(RuntimeEvent.timer, { timerId: 'jetsaga.resend.s-1:1:0', dueAt: at(13_000).getTime() }),
      at(13_000),
    );
    expect(doc.stalled).toHaveLength(1);
  });

  it('has nothing to resume once the reply came, and the reply clears the stalled command', () => {
    const doc = stalledSaga();
    step(doc, event('svc.done', {}, 's-1:1:0'), at(5000));
    expect(doc.state).toBe('review.open');
    expect(doc.stalled).toBeUndefined();
    expect(decide(doc, def, event(RuntimeEvent.resume, { by: 'ops' }), at(6000))).toBe(nothingToResume);
  });
});
