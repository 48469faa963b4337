import { describe, expect, it } from 'vitest';
import { orderFulfillment, orderMachine } from '../../sagas/order-fulfillment/index.ts';
import { editedOrderFulfillment } from '../fixtures/edited-order.ts';
import {
  isTerminal,
  type SagaDoc,
  type StoredHistoryEntry,
  withContexts,
} from '../../runtime/store/index.ts';
import type { Envelope } from '../../runtime/wire/index.ts';
import { applyCommitted, transitionOf } from '../../runtime/orchestrator/commit.ts';
import { defaultConfig } from '../../runtime/config.ts';
import { decide } from '../../runtime/orchestrator/decide.ts';
import { defineSaga, type SagaDefinition, SagaRegistry } from '../../runtime/orchestrator/definition.ts';
import { type RecordedSaga, replaySaga } from '../../runtime/orchestrator/replay.ts';
import {
  parseRecordedSagas,
  replayRecorded,
  replaySummary,
} from '../../runtime/orchestrator/replay-report.ts';

/**
 * Histories recorded the way the actor records them (decide, transitionOf, applyCommitted on a
 * cached document, the entries read back as JSON as the API serves them), then replayed. The
 * integration test (test/integration/replay.test.ts) does the same with the real runtime.
 */

type Reply = { type: string; data?: Record<string, unknown> };

const t0 = Date.parse('2026-03-01T10:00:00Z');

function record(
  def: SagaDefinition,
  input: Record<string, unknown>,
  respond: (command: string) => Reply | Reply[] | undefined,
  opts: { fireTimers?: boolean } = {},
): RecordedSaga {
  const sagaId = 'saga-1';
  const doc: SagaDoc = {
    _id: sagaId,
    type: def.type,
    version: def.version,
    status: 'running',
    state: null,
    context: null,
    snapshot: null,
    input: def.input.parse(input),
    rev: 0,
    outbox: {},
    inbox: [],
    timers: {},
    nextWakeAt: null,
    correlationId: sagaId,
    createdAt: new Date(t0),
    updatedAt: new Date(t0),
    reason: null,
  };
  const env = (id: string, type: string, data: Record<string, unknown>, causationId: string | null) =>
    ({
      id,
      type,
      schemaVersion: 1,
      occurredAt: new Date(t0).toISOString(),
      sagaId,
      sagaType: def.type,
      correlationId: sagaId,
      causationId,
      data,
    }) satisfies Envelope;
  const history: StoredHistoryEntry[] = [];
  const queue: Array<{ e: Envelope; at: number }> = [
    { e: env(`${sagaId}:start`, 'saga.started', {}, null), at: t0 },
  ];
  let clock = t0;
  while (queue.length > 0 || (opts.fireTimers && !isTerminal(doc.status))) {
    let next = queue.shift();
    if (!next) {
      const due = Object.values(doc.timers).sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime())[0];
      if (!due) break;
      const at = due.dueAt.getTime();
      next = { e: env(`timer:${due.id}:${at}`, 'saga.timer', { timerId: due.id, dueAt: at }, null), at };
    }
    clock = Math.max(clock + 7, next.at);
    const now = new Date(clock);
    const decision = decide(doc, def, next.e, now);
    if ('skip' in decision) continue;
    const t = transitionOf(doc, next.e, decision, { msgIds: [] }, def.policies, defaultConfig(), now);
    applyCommitted(doc, t, doc.rev + 1, now);
    history.push(JSON.parse(JSON.stringify(t.history)));
    for (const c of t.outboxAdd) {
      const replies = [respond(c.envelope.type) ?? []].flat();
      replies.forEach((r, i) =>
        queue.push({ e: env(`${c.msgId}:reply${i}`, r.type, r.data ?? {}, c.msgId), at: clock }),
      );
    }
  }
  // As the store's reads give it: each context whole.
  return {
    sagaId,
    type: def.type,
    version: def.version,
    input: doc.input,
    history: withContexts(history),
  } as unknown as RecordedSaga;
}

const orderInput = {
  customerId: 'c-1',
  currency: 'EUR',
  items: [{ sku: 'SKU-1', qty: 2, unitPrice: 10 }],
  payment: { token: 'tok_visa' },
  shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Lisbon', postalCode: '1000-001', country: 'PT' },
};

const verdict = { score: 0.1, threshold: 0.5, reasons: [], modelVersion: 'm-1' };
const happy = (command: string): Reply | Reply[] | undefined =>
  ({
    'inventory.reserve': { type: 'inventory.reserved' },
    // The fraud agent answers the authorization (its reply comes on its own).
    'payment.authorize': [
      { type: 'payment.authorized', data: { paymentId: 'pay-1' } },
      { type: 'fraud.approved', data: verdict },
    ],
    'payment.capture': { type: 'payment.captured' },
    'shipping.create-shipment': { type: 'shipping.shipment-created', data: { trackingNumber: 'TRK-1' } },
    'inventory.commit': { type: 'inventory.committed' },
  })[command];

const declined = (command: string): Reply | Reply[] | undefined =>
  command === 'payment.authorize'
    ? { type: 'payment.declined', data: { reason: 'card-declined' } }
    : command === 'inventory.release'
      ? { type: 'inventory.released' }
      : happy(command);

describe('replaySaga', () => {
  it('reproduces a recorded history step by step, with the context of each revision', () => {
    const saga = record(orderFulfillment, orderInput, declined);
    expect(saga.history.at(-1)).toMatchObject({ to: 'compensated', status: 'compensated' });
    const result = replaySaga(orderFulfillment, saga);
    expect(result.divergence).toBeUndefined();
    expect(result.steps.map((s) => s.state)).toEqual(saga.history.map((h) => h.to));
    expect(result.steps.map((s) => s.context)).toEqual(
      saga.history.map((h) => (h as unknown as { context: unknown }).context),
    );
  });

  it('replays entries recorded before contexts and causation ids were kept', () => {
    const saga = record(orderFulfillment, orderInput, happy);
    const old = saga.history.map((h) => {
      const { context: _c, ...rest } = h as typeof h & { context?: unknown };
      return { ...rest, event: { id: h.event.id, type: h.event.type, data: h.event.data } };
    });
    expect(replaySaga(orderFulfillment, { ...saga, history: old }).divergence).toBeUndefined();
  });

  it('reproduces durable timers: a step timeout fires at the due time it was set with', () => {
    const saga = record(orderFulfillment, orderInput, () => undefined, { fireTimers: true });
    expect(saga.history.map((h) => h.event.type)).toContain('saga.timer');
    expect(replaySaga(orderFulfillment, saga).divergence).toBeUndefined();
  });

  it('parts where an edited transition moves the saga elsewhere, with what was recorded and what replays', () => {
    const saga = record(orderFulfillment, orderInput, declined);
    const at = saga.history.find((h) => h.event.type === 'payment.declined')!;
    const result = replaySaga(editedOrderFulfillment, saga);
    expect(result.divergence).toMatchObject({
      rev: at.rev,
      aspect: 'to',
      expected: 'compensating.releasingInventory',
      actual: 'compensating.voidingPayment',
    });
    expect(result.divergence!.message).toBe(
      `rev ${at.rev} (payment.declined): to: recorded "compensating.releasingInventory", replayed "compensating.voidingPayment"`,
    );
    // The steps before it were reproduced; the one that parts is the last replayed.
    expect(result.steps).toHaveLength(at.rev);
    // The same edit leaves a completed order alone: it never takes that transition.
    expect(
      replaySaga(editedOrderFulfillment, record(orderFulfillment, orderInput, happy)).divergence,
    ).toBeUndefined();
  });

  it('parts on timers when a delay changed, and on commands when their data did', () => {
    const saga = record(orderFulfillment, orderInput, happy);
    const slower = defineSaga({
      ...orderFulfillment,
      machine: orderMachine.provide({ delays: { stepTimeout: 45_000 } }),
    });
    expect(replaySaga(slower, saga).divergence).toMatchObject({ rev: 1, aspect: 'timers.set' });
    const otherInput = { ...saga, input: { ...(saga.input as object), currency: 'USD' } };
    expect(replaySaga(orderFulfillment, otherInput).divergence).toMatchObject({ rev: 2, aspect: 'commands' });
  });

  it('says when the record cannot be replayed: a missing revision, no start, more after the end', () => {
    const saga = record(orderFulfillment, orderInput, happy);
    const gap = { ...saga, history: saga.history.filter((h) => h.rev !== 3) };
    expect(replaySaga(orderFulfillment, gap).divergence).toMatchObject({ rev: 3, aspect: 'history' });
    const headless = { ...saga, history: saga.history.slice(1).map((h) => ({ ...h, rev: h.rev - 1 })) };
    expect(replaySaga(orderFulfillment, headless).divergence).toMatchObject({ rev: 1, aspect: 'history' });
    const last = saga.history.at(-1)!;
    const extra = { ...last, rev: last.rev + 1, event: { id: 'late', type: 'payment.captured', data: {} } };
    expect(
      replaySaga(orderFulfillment, { ...saga, history: [...saga.history, extra] }).divergence,
    ).toMatchObject({
      rev: last.rev + 1,
      aspect: 'step',
    });
  });
});

describe('replayRecorded and the export format', () => {
  const registry = new SagaRegistry().register(orderFulfillment);

  it('reads JSON lines and arrays of sagas as the API returns them, and names the line and field at fault', () => {
    const saga = record(orderFulfillment, orderInput, happy);
    const view = { ...saga, status: 'completed', links: { self: '/v1/sagas/saga-1' } };
    const lines = `${JSON.stringify(view)}\n\n${JSON.stringify(view)}\n`;
    expect(parseRecordedSagas(lines)).toHaveLength(2);
    expect(parseRecordedSagas(JSON.stringify([view]))[0]!.history).toHaveLength(saga.history.length);
    expect(() => parseRecordedSagas(`${JSON.stringify(view)}\n{"sagaId":"x"}`)).toThrow(/^line 2: type: /);
    expect(() => parseRecordedSagas('{nope')).toThrow(/^line 1: not JSON/);
  });

  it('tallies reproduced and diverged sagas, a version this build lacks among the diverged', () => {
    const ok = record(orderFulfillment, orderInput, happy);
    const v9 = { ...ok, version: 9 };
    expect(ok.history.at(-1)).toMatchObject({ to: 'completed', status: 'completed' });
    const report = replayRecorded(registry, [ok, v9]);
    expect(replaySummary(report)).toBe('replay: 2 sagas, 1 reproduced, 1 diverged');
    expect(report.diverged[0]!.divergence).toMatchObject({ rev: 0, aspect: 'definition' });
    expect(report.diverged[0]!.divergence!.message).toContain('saga order-fulfillment v9 is not registered');
    // `latest`: the newest definition of the type replays it.
    const latest = replayRecorded(registry, [v9], { version: 'latest' });
    expect(latest.diverged.map((r) => r.divergence?.message)).toEqual([]);
  });
});
