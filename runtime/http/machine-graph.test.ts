import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { machineGraph } from './machine-graph.ts';

const machine = setup({ guards: { retriesLeft: () => true } }).createMachine({
  id: 'demo',
  initial: 'working',
  states: {
    working: {
      on: { 'job.done': 'done', 'job.failed': 'undoing' },
      after: { 5000: [{ guard: 'retriesLeft', target: 'working', reenter: true }, { target: 'undoing' }] },
    },
    undoing: {
      tags: ['compensating'],
      initial: 'step',
      states: { step: { on: { 'job.undone': '#demo.undone' } } },
    },
    done: { type: 'final' },
    undone: { type: 'final' },
  },
});

describe('machineGraph', () => {
  it('lists states by the dotted ids a saga document uses, and every kind of transition', () => {
    const graph = machineGraph({ type: 'demo', version: 2, machine });
    expect(graph.states.map((s) => [s.id, s.kind, s.parent])).toEqual([
      ['', 'compound', null],
      ['working', 'atomic', ''],
      ['undoing', 'compound', ''],
      ['undoing.step', 'atomic', 'undoing'],
      ['done', 'final', ''],
      ['undone', 'final', ''],
    ]);
    expect(graph.states.find((s) => s.id === 'undoing')).toMatchObject({
      initial: 'undoing.step',
      tags: ['compensating'],
    });
    expect(graph.transitions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ source: 'working', targets: ['done'], event: 'job.done', kind: 'event' }),
        expect.objectContaining({
          source: 'working',
          targets: ['working'],
          kind: 'after',
          delay: '5000',
          guard: 'retriesLeft',
          reenter: true,
        }),
        expect.objectContaining({ source: 'working', targets: ['undoing'], kind: 'after', guard: null }),
        expect.objectContaining({ source: 'undoing.step', targets: ['undone'], event: 'job.undone' }),
      ]),
    );
    // Delayed transitions appear once, as `after`, not again as their internal event.
    expect(graph.transitions.filter((t) => t.event?.startsWith('xstate.after'))).toEqual([]);
  });
});
