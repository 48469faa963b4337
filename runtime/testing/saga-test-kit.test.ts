import { describe, expect, it } from 'vitest';
import { assign, emit, setup } from 'xstate';
import { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { defineSaga } from '../orchestrator/index.ts';
import { SagaTestKit } from './saga-test-kit.ts';

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
  id: 'kit-signals',
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

const def = defineSaga({
  type: 'kit-signals',
  version: 1,
  machine,
  input: z.object({}),
  signals: { approve: z.object({ note: z.string().min(1) }), reject: z.object({}) },
});

describe('SagaTestKit.signal', () => {
  it('sends a signal as the API does: validated, checked against the state, then stepped', () => {
    const kit = new SagaTestKit(def).on('svc.do', () => ({ type: 'svc.done', data: {} })).start({});
    expect(kit.state).toBe('review.open');
    expect(() => kit.signal('approve', { note: '' })).toThrow(ValidationError);
    expect(() => kit.signal('nope')).toThrow(NotFoundError);
    kit.signal('approve', { note: 'fine' }, 'alice');
    expect(kit.state).toBe('approved');
    expect(kit.context).toMatchObject({ approvedBy: 'alice', note: 'fine' });
    expect(() => kit.signal('reject')).toThrow(ConflictError);
  });

  it('refuses a signal in a state that does not take it', () => {
    const kit = new SagaTestKit(def).start({});
    expect(() => kit.signal('approve', { note: 'x' })).toThrow(/states that accept it: review, review.open/);
  });
});

describe('SagaTestKit and the context', () => {
  const counting = setup({
    types: {} as {
      context: { items: string[] };
      events: { type: 'add'; item: string } | { type: 'push'; item: string };
    },
  }).createMachine({
    id: 'kit-context',
    context: { items: [] },
    initial: 'open',
    states: {
      open: {
        on: {
          add: { actions: assign({ items: ({ context, event }) => [...context.items, event.item] }) },
          // Changes the context in place: the history would record no change to `items`.
          push: {
            actions: assign({
              items: ({ context, event }) => {
                context.items.push(event.item);
                return context.items;
              },
            }),
          },
        },
      },
    },
  });
  const kitDef = defineSaga({ type: 'kit-context', version: 1, machine: counting, input: z.object({}) });

  it('a context changed through assign steps on; one changed in place throws', () => {
    const kit = new SagaTestKit(kitDef).start({});
    kit.send({ type: 'add', item: 'a' });
    expect(kit.context).toEqual({ items: ['a'] });
    expect(() => kit.send({ type: 'push', item: 'b' })).toThrow(TypeError);
  });
});
