import { describe, expect, it } from 'vitest';
import {
  applyContextChanges,
  contextChangesOf,
  contextKeyframeEvery,
  keyframeOf,
  type StoredHistoryEntry,
  withContexts,
} from '../store/index.ts';
import { recordedContext } from './records.ts';

const entry = (rev: number, stored: Partial<StoredHistoryEntry>): StoredHistoryEntry => ({
  sagaId: 's-1',
  rev,
  event: { id: `e${rev}`, type: 'tick', data: {} },
  from: null,
  to: null,
  status: 'running',
  commands: [],
  timers: { set: [], cancelled: [] },
  at: new Date(0),
  ...stored,
});

describe('history contexts stored as changes', () => {
  it('a change holds the fields whose value is new and the fields gone', () => {
    const items = [{ sku: 'SKU-1', qty: 1 }];
    const before = { orderId: 'o-1', items, paymentId: null, step: 1 };
    const after = { orderId: 'o-1', items, paymentId: 'pay-1', step: 2, fraud: { score: 0.1 } };
    expect(contextChangesOf(before, after)).toEqual({
      set: { paymentId: 'pay-1', step: 2, fraud: { score: 0.1 } },
    });
    const { step: _step, ...dropped } = after;
    expect(contextChangesOf(after, dropped)).toEqual({ set: {}, unset: ['step'] });
    expect(applyContextChanges(before, contextChangesOf(before, after)!)).toEqual(after);
    expect(applyContextChanges(after, contextChangesOf(after, dropped)!)).toEqual(dropped);
  });

  it('keeps a field named __proto__ as a field', () => {
    const before = JSON.parse('{"a":1,"__proto__":{"x":1}}') as Record<string, unknown>;
    const after = JSON.parse('{"a":1,"__proto__":{"x":2}}') as Record<string, unknown>;
    const changes = contextChangesOf(before, after)!;
    expect(Object.keys(changes.set)).toEqual(['__proto__']);
    expect(JSON.stringify(applyContextChanges(before, changes))).toBe(JSON.stringify(after));
  });

  it('is null where only the whole context will do', () => {
    expect(contextChangesOf(null, { a: 1 })).toBeNull();
    expect(contextChangesOf({ a: 1 }, [1, 2])).toBeNull();
    expect(contextChangesOf({ a: 1 }, 'text')).toBeNull();
    // Every field new (a context read back from the store has new references throughout).
    expect(contextChangesOf({ a: { x: 1 } }, { a: { x: 1 } })).toBeNull();
  });

  it('keyframes are revisions 1, 33, 65, ...', () => {
    expect(contextKeyframeEvery).toBe(32);
    expect([1, 2, 32, 33, 34, 64, 65, 97].map(keyframeOf)).toEqual([1, 1, 1, 33, 33, 33, 65, 97]);
  });

  it('an entry records its context whole at a keyframe, after one over the limit, else its changes', () => {
    const limit = 1024;
    const prev = { a: 1, b: 'x' };
    const next = { ...prev, a: 2 };
    expect(recordedContext(next, limit, { rev: 2, previousContext: prev })).toEqual({
      contextChanges: { set: { a: 2 } },
    });
    expect(recordedContext(next, limit, { rev: 33, previousContext: prev })).toEqual({ context: next });
    const big = { ...prev, blob: 'y'.repeat(limit) };
    expect(recordedContext({ ...big, a: 2 }, limit, { rev: 5, previousContext: prev })).toEqual({
      contextOmitted: { bytes: JSON.stringify({ ...big, a: 2 }).length, limit },
    });
    const { blob: _blob, ...small } = big;
    expect(recordedContext(small, limit, { rev: 6, previousContext: big })).toEqual({ context: small });
    expect(recordedContext(next, limit)).toEqual({ context: next });
  });

  it('the reads rebuild each context whole, and give none where the chain is broken', () => {
    const stored = [
      entry(1, { context: { a: 1, b: 1 } }),
      entry(2, { contextChanges: { set: { a: 2 } } }),
      entry(3, { contextChanges: { set: { c: 3 }, unset: ['b'] } }),
      entry(4, { contextOmitted: { bytes: 99_999, limit: 16_384 } }),
      entry(5, { context: { a: 5 } }),
      entry(6, { contextChanges: { set: { a: 6 } } }),
      // Rev 7 is missing from what was read: rev 8's changes have nothing to apply to.
      entry(8, { contextChanges: { set: { a: 8 } } }),
      // Written before jetsaga recorded contexts: no context, nor after it.
      entry(9, {}),
      entry(10, { contextChanges: { set: { a: 10 } } }),
    ];
    const read = withContexts(stored);
    expect(read.map((h) => h.context)).toEqual([
      { a: 1, b: 1 },
      { a: 2, b: 1 },
      { a: 2, c: 3 },
      undefined,
      { a: 5 },
      { a: 6 },
      undefined,
      undefined,
      undefined,
    ]);
    expect(read.some((h) => 'contextChanges' in h)).toBe(false);
    expect(read[3]).toHaveProperty('contextOmitted');
    // The stored entries are left as they were.
    expect(stored[1]).toHaveProperty('contextChanges');
    expect(stored[0]!.context).toEqual({ a: 1, b: 1 });
  });

  it('a saga of many steps reads back the contexts it recorded', () => {
    let rng = 7;
    const random = () => (rng = (rng * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const contexts: Record<string, unknown>[] = [];
    let context: Record<string, unknown> = { orderId: 'o-1', items: [{ sku: 'SKU-1' }] };
    const stored: StoredHistoryEntry[] = [];
    for (let rev = 1; rev <= 100; rev++) {
      const previousContext = context;
      const key = `k${Math.floor(random() * 6)}`;
      context = { ...context, [key]: { rev } };
      if (random() < 0.2) delete context[`k${Math.floor(random() * 6)}`];
      contexts.push(context);
      stored.push(entry(rev, recordedContext(context, 16_384, { rev, previousContext })));
    }
    expect(stored.filter((h) => 'context' in h).map((h) => h.rev)).toEqual([1, 33, 65, 97]);
    expect(withContexts(stored).map((h) => h.context)).toEqual(contexts);
  });
});
