import { describe, expect, it } from 'vitest';
import { type AnyMachineSnapshot, type ExecutableActionObject, initialTransition, transition } from 'xstate';
import { type MachineEvent, pureStep, runStep } from '../runtime/orchestrator/step.ts';
import type { TimerEntry } from '../runtime/store/index.ts';
import { orderMachine } from '../sagas/order-fulfillment/machine.ts';
import type { OrderInput } from '../sagas/order-fulfillment/schema.ts';

/**
 * runStep reuses one inert actor scope per machine instead of XState's `initialTransition` /
 * `transition`, which build a throwaway actor per call. Hold it to them: the same persisted
 * snapshot and the same actions (type and params), step by step, along whole saga paths.
 */

const now = new Date('2026-01-01T00:00:00Z');

const order: OrderInput = {
  orderId: 'o-1',
  customerId: 'c-1',
  currency: 'USD',
  items: [
    { sku: 'SKU-1', qty: 2, unitPrice: 10 },
    { sku: 'SKU-2', qty: 1, unitPrice: 5.5 },
  ],
  payment: { token: 'tok_visa' },
  shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Paris', postalCode: '75001', country: 'FR' },
};
const input = { ...order, sagaId: 'saga-1', stepTimeoutMs: 5_000 };

const verdict = (score: number) => ({
  score,
  threshold: 0.41,
  reasons: [],
  modelVersion: 'gbdt-1.test',
  latencyMs: 1.2,
});
const reply = (type: string, data: Record<string, unknown> = {}): MachineEvent => ({
  type,
  data,
  messageId: `m-${type}`,
  causationId: 'c-0',
});

/** What the runtime did before: XState's own pure functions. */
function viaXState(
  snapshot: unknown,
  machineInput: typeof input,
  event: MachineEvent | null,
): [AnyMachineSnapshot, ExecutableActionObject[]] {
  if (snapshot === null) {
    const [first, actions] = initialTransition(orderMachine, machineInput);
    if (!event) return [first, actions];
    const [next, more] = transition(orderMachine, first, event as never);
    return [next, [...actions, ...more]];
  }
  const restored = orderMachine.resolveState(snapshot as Parameters<typeof orderMachine.resolveState>[0]);
  return transition(orderMachine, restored, event as never);
}

const typeAndParams = (actions: ExecutableActionObject[]) =>
  actions.map(({ type, params }) => ({ type, params }));

/** A step of a path: a reply, or the due timer whose id starts with `timer:`. */
type Step = MachineEvent | `timer:${string}` | null;

/**
 * Runs `steps` through runStep and, from the same stored snapshot, through XState's functions;
 * compares both at every step and returns the action types seen and the final result.
 */
function walk(steps: Step[], machineInput = input) {
  let snapshot: unknown = null;
  let timers: Record<string, TimerEntry> = {};
  const seen: string[][] = [];
  let last: ReturnType<typeof runStep> | undefined;
  for (const step of steps) {
    let event: MachineEvent | null;
    if (typeof step === 'string') {
      const prefix = step.slice('timer:'.length);
      const due = Object.values(timers).find((t) => t.id.startsWith(prefix));
      if (!due) throw new Error(`no armed timer ${prefix}: ${Object.keys(timers).join(', ')}`);
      event = due.event as MachineEvent;
    } else {
      event = step;
    }

    const [refNext, refActions] = viaXState(snapshot, machineInput, event);
    const [next, actions] = pureStep(orderMachine, snapshot, machineInput, event);
    expect(orderMachine.getPersistedSnapshot(next)).toStrictEqual(orderMachine.getPersistedSnapshot(refNext));
    expect(next.value).toStrictEqual(refNext.value);
    expect([...next.tags]).toStrictEqual([...refNext.tags]);
    expect(typeAndParams(actions)).toStrictEqual(typeAndParams(refActions));

    const result = runStep(orderMachine, { snapshot, input: machineInput, timers }, event, now);
    expect(result.snapshot).toStrictEqual(orderMachine.getPersistedSnapshot(refNext));
    expect(result.commands).toStrictEqual(
      refActions
        .filter((a) => a.type === 'xstate.emit')
        .map((a) => (a.params as { event: { type: string; data: Record<string, unknown> } }).event),
    );

    seen.push(refActions.map((a) => a.type));
    // The store keeps the snapshot as a document.
    snapshot = JSON.parse(JSON.stringify(result.snapshot));
    timers = result.timers;
    last = result;
  }
  return { seen, last: last!, timers };
}

describe('runStep is equivalent to XState initialTransition / transition', () => {
  it('on the happy path', () => {
    const { seen, last, timers } = walk([
      null,
      reply('inventory.reserved'),
      reply('payment.authorized', { paymentId: 'pay_o-1' }),
      reply('fraud.approved', verdict(0.02)),
      reply('payment.captured'),
      reply('shipping.shipment-created', { trackingNumber: 'TRK1' }),
      reply('inventory.committed'),
    ]);
    expect(last.status).toBe('completed');
    expect(last.state).toBe('completed');
    expect(timers).toEqual({});
    expect(seen.flat()).toEqual(expect.arrayContaining(['xstate.emit', 'xstate.raise', 'xstate.cancel']));
  });

  it('when a verdict overtakes the authorization (an eventless transition follows)', () => {
    const { last } = walk([
      null,
      reply('inventory.reserved'),
      reply('fraud.approved', verdict(0.02)),
      reply('payment.authorized', { paymentId: 'pay_o-1' }),
      reply('payment.captured'),
      reply('shipping.shipment-created', { trackingNumber: 'TRK1' }),
      reply('inventory.committed'),
    ]);
    expect(last.status).toBe('completed');
  });

  it('when the payment is declined and the reservation is compensated', () => {
    const { last } = walk([
      null,
      reply('inventory.reserved'),
      reply('payment.declined', { reason: 'card-declined' }),
      reply('inventory.released'),
    ]);
    expect(last.status).toBe('compensated');
    expect(last.reason).toBe('payment-declined: card-declined');
  });

  it('when a step times out and a compensation is retried on its own timer', () => {
    const { seen, last } = walk([
      null,
      reply('inventory.reserved'),
      'timer:xstate.after.stepTimeout.order-fulfillment.authorizingPayment',
      'timer:xstate.after.stepTimeout.order-fulfillment.compensating.voidingPayment',
      'timer:xstate.after.stepTimeout.order-fulfillment.compensating.voidingPayment',
      reply('payment.voided'),
      reply('inventory.released'),
    ]);
    expect(last.status).toBe('compensated');
    expect(last.reason).toBe('payment-timeout');
    expect(last.context).toMatchObject({ compensationAttempts: 0 });
    // A retry re-enters the state: its timer is cancelled and armed again in the same step.
    expect(seen[3]).toEqual(['xstate.cancel', 'xstate.emit', 'xstate.raise']);
  });

  it('when the fraud verdict times out and the policy fails open', () => {
    const { last } = walk(
      [
        null,
        reply('inventory.reserved'),
        reply('payment.authorized', { paymentId: 'pay_o-1' }),
        'timer:xstate.after.stepTimeout.order-fulfillment.screeningPayment',
        reply('payment.captured'),
        reply('shipping.shipment-created', { trackingNumber: 'TRK1' }),
        reply('inventory.committed'),
      ],
      { ...input, fraudTimeoutPolicy: 'approve' },
    );
    expect(last.status).toBe('completed');
    expect(last.context).toMatchObject({ fraud: { outcome: 'timeout', policy: 'approve' } });
  });

  it('when the first step also carries an event (a cancel before anything ran)', () => {
    const { last } = walk([reply('saga.cancel', { reason: 'changed my mind' }), reply('inventory.released')]);
    expect(last.status).toBe('cancelled');
    expect(last.reason).toBe('cancelled: changed my mind');
  });

  it('when the context factory throws on bad input: the same error snapshot', () => {
    const bad = { sagaId: 'saga-2' };
    const [refNext, refActions] = initialTransition(orderMachine, bad as never);
    const [next, actions] = pureStep(orderMachine, null, bad, null);
    expect(next.status).toBe('error');
    expect(next.status).toBe(refNext.status);
    expect(String(next.error)).toBe(String(refNext.error));
    expect(typeAndParams(actions)).toStrictEqual(typeAndParams(refActions));
    expect(runStep(orderMachine, { snapshot: null, input: bad, timers: {} }, null, now).status).toBe(
      'failed',
    );
  });
});
