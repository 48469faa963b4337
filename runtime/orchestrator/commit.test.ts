import { describe, expect, it } from 'vitest';
import type { Cleared, SagaDoc } from '../store/index.ts';
import { envelope } from '../wire/index.ts';
import { applyCommitted, type StepLimits, transitionOf } from './commit.ts';
import type { Change } from './decide.ts';
import { commandEntries, recordedContext } from './records.ts';

const now = new Date('2026-01-01T00:00:05Z');
const none: Cleared = { msgIds: [] };
const contextLimit = 16 * 1024;
const limits = (inboxSize: number): StepLimits => ({ inboxSize, historyContextBytes: contextLimit });
const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

const doc = (): SagaDoc => ({
  _id: 's-1',
  type: 'order',
  version: 1,
  status: 'running',
  state: 'a',
  context: { n: 0 },
  snapshot: { value: 'a' },
  input: {},
  rev: 4,
  outbox: {},
  inbox: ['e-1', 'e-2'],
  timers: {},
  nextWakeAt: null,
  correlationId: 'c-1',
  traceparent,
  createdAt: now,
  updatedAt: now,
  reason: null,
});

const reply = envelope({
  id: 'e-3',
  type: 'svc.done',
  sagaId: 's-1',
  sagaType: 'order',
  correlationId: 'c-1',
  causationId: 's-1:4:0',
  data: { ok: true },
});

const change = (over: Partial<Change> = {}): Change => ({
  status: 'running',
  state: 'b',
  context: { n: 1 },
  snapshot: { value: 'b' },
  reason: null,
  commands: [
    { type: 'svc.one', data: { x: 1 } },
    { type: 'svc.two', data: {} },
  ],
  resends: [],
  timers: {},
  timersSet: [],
  timersCancelled: [],
  stalled: [],
  ...over,
});

describe('commandEntries', () => {
  it('builds each command as the wire has it: ids from saga and revision, caused by the event', () => {
    const [one] = commandEntries(doc(), reply, change().commands, 5, now);
    expect(one).toStrictEqual({
      msgId: 's-1:5:0',
      subject: 'cmd.svc.one',
      createdAt: now,
      envelope: {
        id: 's-1:5:0',
        type: 'svc.one',
        schemaVersion: 1,
        occurredAt: now.toISOString(),
        sagaId: 's-1',
        sagaType: 'order',
        correlationId: 'c-1',
        causationId: 'e-3',
        traceparent,
        data: { x: 1 },
      },
    });
  });

  it("carries the event's trace, else the saga's, else none", () => {
    const other = '00-11111111111111111111111111111111-2222222222222222-01';
    const trace = (d: SagaDoc, tp: string | undefined) =>
      commandEntries(d, { id: 'e', traceparent: tp }, change().commands, 5, now)[0]!.envelope;
    expect(trace(doc(), other).traceparent).toBe(other);
    expect(trace(doc(), undefined).traceparent).toBe(traceparent);
    expect(trace({ ...doc(), traceparent: undefined }, undefined)).not.toHaveProperty('traceparent');
  });
});

describe('transitionOf', () => {
  it('writes the new state, the commands, the inbox (bounded), the history entry of the step, and removes what is done', () => {
    const d = doc();
    const done = { msgIds: ['s-1:4:0'], historyRevs: [4] };
    const t = transitionOf(d, reply, change({ timersCancelled: ['x'] }), done, undefined, limits(2), now);
    expect(t.cleared).toBe(done);
    expect(t).toMatchObject({ status: 'running', state: 'b', context: { n: 1 }, snapshot: { value: 'b' } });
    expect(t.outboxAdd.map((e) => e.msgId)).toEqual(['s-1:5:0', 's-1:5:1']);
    expect(t.inbox).toEqual(['e-2', 'e-3']);
    expect(t.history).toStrictEqual({
      sagaId: 's-1',
      rev: 5,
      event: { id: 'e-3', type: 'svc.done', data: { ok: true }, causationId: 's-1:4:0' },
      from: 'a',
      to: 'b',
      status: 'running',
      commands: [
        { msgId: 's-1:5:0', type: 'svc.one', data: { x: 1 } },
        { msgId: 's-1:5:1', type: 'svc.two', data: {} },
      ],
      timers: { set: [], cancelled: ['x'] },
      at: now,
      context: { n: 1 },
    });
    expect(d.rev).toBe(4);
  });

  it('records the context after the step in its history entry, or only its size when over the limit', () => {
    const big = { blob: 'é'.repeat(contextLimit / 2) };
    const t = transitionOf(doc(), reply, change({ context: big }), none, undefined, limits(2), now);
    expect(t.history).not.toHaveProperty('context');
    expect(t.history.contextOmitted).toEqual({
      bytes: Buffer.byteLength(JSON.stringify(big)),
      limit: contextLimit,
    });
    // At the limit exactly, it is kept.
    const fits = { s: 'x'.repeat(contextLimit - JSON.stringify({ s: '' }).length) };
    expect(recordedContext(fits, contextLimit)).toEqual({ context: fits });
    // A limit of 0 keeps no context at all, only its size.
    expect(recordedContext({}, 0)).toEqual({ contextOmitted: { bytes: 2, limit: 0 } });
  });

  it('arms a resend timer for each command with a policy, and none once the saga ended', () => {
    const policies = { 'svc.two': { resendAfterMs: 1000, maxResends: 2 } };
    const t = transitionOf(doc(), reply, change(), none, policies, limits(10), now);
    const armed = Object.values(t.timers);
    expect(armed.map((x) => [x.id, x.dueAt])).toEqual([
      ['jetsaga.resend.s-1:5:1', new Date(now.getTime() + 1000)],
    ]);
    expect(t.history.timers.set).toEqual([{ id: 'jetsaga.resend.s-1:5:1', dueAt: armed[0]!.dueAt }]);
    const timer = { id: 't', event: { type: 'x' }, dueAt: now };
    const ended = transitionOf(
      doc(),
      reply,
      change({ status: 'completed', timers: { t: timer } }),
      none,
      policies,
      limits(10),
      now,
    );
    expect(ended.timers).toEqual({});
    expect(ended.history.timers.set).toEqual([]);
  });

  it('writes resends after the commands, with their own msg ids', () => {
    const [resend] = commandEntries(doc(), reply, [{ type: 'svc.one', data: {} }], 2, now);
    const t = transitionOf(
      doc(),
      reply,
      change({ resends: [{ ...resend!, msgId: 's-1:2:0:resend:1' }] }),
      none,
      undefined,
      limits(10),
      now,
    );
    expect(t.outboxAdd.map((e) => e.msgId)).toEqual(['s-1:5:0', 's-1:5:1', 's-1:2:0:resend:1']);
    expect(t.history.commands.map((c) => c.msgId)).toEqual(['s-1:5:0', 's-1:5:1', 's-1:2:0:resend:1']);
  });
});

describe('saga.ended', () => {
  const end = (over: Partial<Change> = {}) =>
    change({ status: 'compensated', state: 'done', reason: 'fraud', commands: [], ...over });

  it('is written into the outbox by the update that ends the saga, once, caused by the last event', () => {
    const t = transitionOf(
      doc(),
      reply,
      end({ output: { customerId: 'c-9' } }),
      none,
      undefined,
      limits(64),
      now,
    );
    expect(t.outboxAdd).toHaveLength(1);
    expect(t.outboxLeft).toBe(true);
    const [entry] = t.outboxAdd;
    expect(entry).toMatchObject({ msgId: 's-1:ended', subject: 'evt.saga.ended' });
    expect(entry!.envelope).toMatchObject({
      id: 's-1:ended',
      type: 'saga.ended',
      sagaId: 's-1',
      sagaType: 'order',
      correlationId: 'c-1',
      causationId: 'e-3',
      traceparent,
      data: {
        sagaType: 'order',
        version: 1,
        status: 'compensated',
        reason: 'fraud',
        state: 'done',
        output: { customerId: 'c-9' },
      },
    });
    // The runtime's announcement, not a command the machine asked for.
    expect(t.history.commands).toEqual([]);
  });

  it('goes out with the commands of the step that ends the saga, after them', () => {
    const t = transitionOf(
      doc(),
      reply,
      end({ commands: [{ type: 'svc.one', data: {} }] }),
      none,
      undefined,
      limits(64),
      now,
    );
    expect(t.outboxAdd.map((e) => e.msgId)).toEqual(['s-1:5:0', 's-1:ended']);
    expect(t.history.commands.map((c) => c.type)).toEqual(['svc.one']);
  });

  it('is not written by a step that leaves the saga running, nor again once it has ended', () => {
    expect(
      transitionOf(doc(), reply, change(), none, undefined, limits(64), now).outboxAdd.map((e) => e.msgId),
    ).toEqual(['s-1:5:0', 's-1:5:1']);
    const ended = { ...doc(), status: 'compensated' as const };
    expect(transitionOf(ended, reply, end(), none, undefined, limits(64), now).outboxAdd).toEqual([]);
  });

  it('has no output when the machine gave none (a runtime failure)', () => {
    const t = transitionOf(
      doc(),
      reply,
      end({ status: 'failed', reason: 'machine-error' }),
      none,
      undefined,
      limits(64),
      now,
    );
    expect(t.outboxAdd[0]!.envelope.data).not.toHaveProperty('output');
    expect(t.outboxAdd[0]!.envelope.data).toMatchObject({ status: 'failed', reason: 'machine-error' });
  });
});

describe('outboxLeft', () => {
  const withOutbox = (...ids: string[]) => {
    const d = doc();
    for (const id of ids)
      d.outbox[id] = { ...commandEntries(d, reply, [{ type: 'svc.do', data: {} }], 9, now)[0]!, msgId: id };
    return d;
  };
  it('is true while the outbox keeps an entry after the write, false once the write empties it', () => {
    const quiet = change({ commands: [] });
    expect(
      transitionOf(withOutbox('a', 'b'), reply, quiet, { msgIds: ['a'] }, undefined, limits(10), now)
        .outboxLeft,
    ).toBe(true);
    expect(
      transitionOf(withOutbox('a', 'b'), reply, quiet, { msgIds: ['a', 'b'] }, undefined, limits(10), now)
        .outboxLeft,
    ).toBe(false);
    expect(transitionOf(withOutbox(), reply, quiet, none, undefined, limits(10), now).outboxLeft).toBe(false);
    expect(
      transitionOf(withOutbox('a'), reply, change(), { msgIds: ['a'] }, undefined, limits(10), now)
        .outboxLeft,
    ).toBe(true);
  });
});

describe('applyCommitted', () => {
  it('makes the cached document what the store holds after the write, its history left out', () => {
    const d = doc();
    const t = transitionOf(d, reply, change(), none, undefined, limits(10), now, { revs: [1, 2], base: 2 });
    applyCommitted(d, t, 5, now);
    expect(d).toMatchObject({ rev: 5, state: 'b', status: 'running', context: { n: 1 }, inbox: t.inbox });
    expect(Object.keys(d.outbox)).toEqual(['s-1:5:0', 's-1:5:1']);
    expect(d.historyBase).toBe(2);
    expect(d.history).toBeUndefined();
  });
});
