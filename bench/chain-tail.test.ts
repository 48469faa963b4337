import { describe, expect, it } from 'vitest';
import { chainPercentiles } from './chain-tail.ts';

const same = (v: number, n = 100) => Array.from({ length: n }, () => v);

describe('chainPercentiles (the tail of a saga-shaped raw chain)', () => {
  it('adds each kind of leg as many times as the shape says', () => {
    const r = chainPercentiles(
      { delivery: same(1), afterDelivery: same(2), afterStore: same(0.5) },
      { messages: 3, storeAfterStore: 2 },
    );
    expect(r).toEqual({ p50Ms: 10, p99Ms: 10 });
  });

  it('takes a fractional leg in that share of the sagas', () => {
    const legs = { delivery: same(1), afterDelivery: same(0), afterStore: same(0) };
    // One saga in five has the leg: the median has none, the p99 has it.
    expect(chainPercentiles(legs, { messages: 0.2, storeAfterStore: 0 })).toEqual({ p50Ms: 0, p99Ms: 1 });
    expect(chainPercentiles(legs, { messages: 0.9, storeAfterStore: 0 })).toEqual({ p50Ms: 1, p99Ms: 1 });
  });

  it('puts a rare slow leg into the p99 of a long chain, where the sum of the medians has none', () => {
    // 1 leg in 100 takes 10 ms: a chain of 20 such legs meets one in about 18 % of sagas.
    const slow = [...same(0.1, 99), 10];
    const r = chainPercentiles(
      { delivery: slow, afterDelivery: slow, afterStore: slow },
      { messages: 10, storeAfterStore: 0 },
    );
    expect(r?.p50Ms).toBeCloseTo(2, 6);
    expect(r?.p99Ms).toBeGreaterThanOrEqual(10);
  });

  it('gives the same figure for the same seed, and none without samples for a leg it needs', () => {
    const legs = { delivery: [0.1, 0.2, 0.9], afterDelivery: [0.2, 0.3, 1.5], afterStore: [0.1, 0.4] };
    const shape = { messages: 10.8, storeAfterStore: 12.5 };
    expect(chainPercentiles(legs, shape, { seed: 7 })).toEqual(chainPercentiles(legs, shape, { seed: 7 }));
    expect(chainPercentiles({ ...legs, afterStore: [] }, shape)).toBeNull();
    expect(chainPercentiles({ ...legs, afterStore: [] }, { messages: 2, storeAfterStore: 0 })).not.toBeNull();
  });
});
