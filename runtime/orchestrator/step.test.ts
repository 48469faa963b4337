import { describe, expect, it } from 'vitest';
import { assign, emit, setup } from 'xstate';
import { TerminalError } from '../errors.ts';
import { runStep, stateName, timerKey } from './step.ts';

const now = new Date('2026-01-01T00:00:00Z');

const machine = setup({
  types: {} as {
    context: { n: number };
    events: { type: 'go' } | { type: 'stop' } | { type: 'bad' };
    emitted: { type: 'svc.do'; data: { n: number } };
  },
  actions: { sideEffect: () => undefined },
}).createMachine({
  id: 'm',
  context: { n: 0 },
  initial: 'a',
  states: {
    a: {
      entry: emit(({ context }) => ({ type: 'svc.do' as const, data: { n: context.n } })),
      after: { 5000: 'timedOut' },
      on: { go: { target: 'b', actions: assign({ n: 1 }) }, bad: { actions: 'sideEffect' } },
    },
    b: { tags: ['compensating'], on: { stop: 'done' } },
    timedOut: { type: 'final' },
    done: { type: 'final' },
  },
  output: () => ({ status: 'compensated', reason: 'because' }),
});

describe('runStep', () => {
  it('turns emits into commands and delayed raises into durable timers', () => {
    const r = runStep(machine, { snapshot: null, input: {}, timers: {} }, null, now);
    expect(r.commands).toEqual([{ type: 'svc.do', data: { n: 0 } }]);
    expect(r.timersSet).toHaveLength(1);
    expect(r.timersSet[0]!.dueAt.toISOString()).toBe('2026-01-01T00:00:05.000Z');
    expect(Object.keys(r.timers)).toEqual([timerKey(r.timersSet[0]!.id)]);
    expect(r.status).toBe('running');
    expect(r.state).toBe('a');
  });

  it('restores from a JSON round trip, cancels the timer on leaving, and derives status from tags', () => {
    const first = runStep(machine, { snapshot: null, input: {}, timers: {} }, null, now);
    const snapshot = JSON.parse(JSON.stringify(first.snapshot));
    const r = runStep(machine, { snapshot, input: {}, timers: first.timers }, { type: 'go' }, now);
    expect(r.timers).toEqual({});
    expect(r.timersCancelled).toEqual([first.timersSet[0]!.id]);
    expect(r.status).toBe('compensating');
    expect(r.context).toEqual({ n: 1 });
  });

  it('takes the final status and reason from the machine output', () => {
    const first = runStep(machine, { snapshot: null, input: {}, timers: {} }, null, now);
    const b = runStep(
      machine,
      { snapshot: first.snapshot, input: {}, timers: first.timers },
      { type: 'go' },
      now,
    );
    const done = runStep(
      machine,
      { snapshot: b.snapshot, input: {}, timers: b.timers },
      { type: 'stop' },
      now,
    );
    expect(done.status).toBe('compensated');
    expect(done.reason).toBe('because');
  });

  it('rejects an action that would do I/O', () => {
    const first = runStep(machine, { snapshot: null, input: {}, timers: {} }, null, now);
    expect(() =>
      runStep(machine, { snapshot: first.snapshot, input: {}, timers: {} }, { type: 'bad' }, now),
    ).toThrow(TerminalError);
  });

  it('names nested and parallel states', () => {
    expect(stateName('a')).toBe('a');
    expect(stateName({ compensating: 'releasing' })).toBe('compensating.releasing');
    expect(stateName({ a: { b: 'c' }, d: 'e' })).toBe('a.b.c,d.e');
  });

  it('keeps timer ids usable as document keys', () => {
    expect(timerKey('xstate.after.5000.m.a')).not.toContain('.');
    expect(timerKey('a$b')).not.toContain('$');
  });
});
