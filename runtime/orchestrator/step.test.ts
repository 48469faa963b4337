import { describe, expect, it } from 'vitest';
import {
  type AnyStateMachine,
  assign,
  cancel,
  emit,
  type ExecutableActionObject,
  fromPromise,
  initialTransition,
  log,
  raise,
  setup,
  spawnChild,
  transition,
} from 'xstate';
import { TerminalError } from '../errors.ts';
import { type MachineEvent, pureStep, runStep, stateName, timerKey } from './step.ts';

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
    // The whole output, for saga.ended; none before the machine is done.
    expect(done.output).toMatchObject({ status: 'compensated', reason: 'because' });
    expect(b).not.toHaveProperty('output');
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

/** Every action the runtime interprets: emit, delayed raise with an id, cancel, log; nested states. */
const everyAction = setup({
  types: {} as {
    context: { n: number; input: unknown };
    events: { type: 'arm' } | { type: 'disarm' } | { type: 'tick' } | { type: 'next' } | { type: 'finish' };
    input: { start: number };
    emitted: { type: 'svc.do'; data: { n: number } };
  },
}).createMachine({
  id: 'every',
  context: ({ input }) => ({ n: input.start, input }),
  initial: 'idle',
  states: {
    idle: {
      entry: [log('idle'), emit(({ context }) => ({ type: 'svc.do' as const, data: { n: context.n } }))],
      on: {
        arm: { actions: raise({ type: 'tick' }, { delay: 1000, id: 'tick-timer' }) },
        disarm: { actions: cancel('tick-timer') },
        tick: { target: 'busy', actions: assign({ n: ({ context }) => context.n + 1 }) },
      },
    },
    busy: {
      initial: 'one',
      after: { 2000: 'idle' },
      states: {
        one: { on: { next: 'two' } },
        two: { always: { target: 'three', actions: log(({ context }) => `n=${context.n}`, 'label') } },
        three: { on: { finish: '#every.done' } },
      },
    },
    done: { type: 'final' },
  },
  output: ({ context }) => ({ status: 'completed', reason: `n=${context.n}` }),
});

const typeAndParams = (actions: ExecutableActionObject[]) =>
  actions.map(({ type, params }) => ({ type, params }));

describe('runStep against XState initialTransition / transition', () => {
  it('gives the same snapshots and the same actions (type and params) at every step', () => {
    const input = { start: 41 };
    const events: Array<MachineEvent | null> = [
      null,
      { type: 'arm' },
      { type: 'disarm' },
      { type: 'arm' },
      { type: 'tick' },
      { type: 'next' },
      { type: 'finish' },
    ];
    let snapshot: unknown = null;
    for (const event of events) {
      let ref: ReturnType<typeof transition<AnyStateMachine>>;
      if (snapshot === null) ref = initialTransition(everyAction, input);
      else ref = transition(everyAction, everyAction.resolveState(snapshot as never), event as never);
      const [next, actions] = pureStep(everyAction, snapshot, input, event);
      expect(everyAction.getPersistedSnapshot(next)).toStrictEqual(everyAction.getPersistedSnapshot(ref[0]));
      expect(typeAndParams(actions)).toStrictEqual(typeAndParams(ref[1]));
      snapshot = JSON.parse(JSON.stringify(everyAction.getPersistedSnapshot(next)));
    }
    expect(snapshot).toMatchObject({ status: 'done', output: { status: 'completed', reason: 'n=42' } });
  });

  it('interprets log, delayed raise with an id, and cancel', () => {
    const first = runStep(everyAction, { snapshot: null, input: { start: 1 }, timers: {} }, null, now);
    expect(first.commands).toEqual([{ type: 'svc.do', data: { n: 1 } }]);
    const armed = runStep(
      everyAction,
      { snapshot: first.snapshot, input: {}, timers: first.timers },
      { type: 'arm' },
      now,
    );
    expect(armed.timersSet).toEqual([
      { id: 'tick-timer', event: { type: 'tick' }, dueAt: new Date('2026-01-01T00:00:01.000Z') },
    ]);
    const disarmed = runStep(
      everyAction,
      { snapshot: armed.snapshot, input: {}, timers: armed.timers },
      { type: 'disarm' },
      now,
    );
    expect(disarmed.timersCancelled).toEqual(['tick-timer']);
    expect(disarmed.timers).toEqual({});
  });

  it('is re-entrant: a step run from inside a step of the same machine keeps its own actions', () => {
    const holder: { machine?: AnyStateMachine } = {};
    const nesting = setup({
      types: {} as {
        context: { inner: string[] };
        events: { type: 'nest' };
        emitted: { type: 'svc.first' | 'svc.second'; data: object };
      },
    }).createMachine({
      id: 'nesting',
      context: { inner: [] },
      initial: 'a',
      states: {
        a: {
          entry: emit({ type: 'svc.first', data: {} }),
          on: {
            nest: {
              target: 'b',
              actions: assign({
                inner: () =>
                  runStep(holder.machine!, { snapshot: null, input: {}, timers: {} }, null, now).commands.map(
                    (c) => c.type,
                  ),
              }),
            },
          },
        },
        b: { entry: emit({ type: 'svc.second', data: {} }) },
      },
    });
    holder.machine = nesting;
    const first = runStep(nesting, { snapshot: null, input: {}, timers: {} }, null, now);
    const r = runStep(nesting, { snapshot: first.snapshot, input: {}, timers: {} }, { type: 'nest' }, now);
    expect(r.context).toEqual({ inner: ['svc.first'] });
    expect(r.commands).toEqual([{ type: 'svc.second', data: {} }]);
    expect(runStep(nesting, { snapshot: null, input: {}, timers: {} }, null, now).commands).toEqual([
      { type: 'svc.first', data: {} },
    ]);
  });

  it('rejects a spawned child with a systemId every time, not just the first', () => {
    const spawning = setup({ types: {} as { events: { type: 'spawn' } } }).createMachine({
      id: 'spawning',
      initial: 'a',
      states: {
        a: {
          on: {
            spawn: {
              actions: spawnChild(
                fromPromise(async () => 1),
                { systemId: 'child' },
              ),
            },
          },
        },
      },
    });
    const first = runStep(spawning, { snapshot: null, input: {}, timers: {} }, null, now);
    for (let i = 0; i < 2; i++) {
      expect(() =>
        runStep(spawning, { snapshot: first.snapshot, input: {}, timers: {} }, { type: 'spawn' }, now),
      ).toThrow(/must not invoke or spawn/);
    }
  });
});
