// The tail of a saga's raw chain: the sum of the round trips one saga waits for is itself a
// distribution, and its p99 is what a saga's p99 can be set against (the sum of the legs' medians
// is the chain's typical time, not its tail). Pure: no I/O, seeded, so a result file recomputes.

import { prng } from '../test/scale/orders.ts';
import { percentile } from './stats.ts';

/** How many legs of each kind one saga's chain has (fractions: the mean over a level's sagas). */
export interface ChainShape {
  /** Messages: each is delivered, then a store call follows its delivery. */
  messages: number;
  /** Store calls that follow another store call. */
  storeAfterStore: number;
}

/** Ascending samples of each leg, in ms (raw-chain.ts: `ChainFigure.samplesMs`). */
export interface ChainLegs {
  delivery: readonly number[];
  afterDelivery: readonly number[];
  afterStore: readonly number[];
}

/**
 * Percentiles of the chain's total over `draws` simulated sagas: each leg drawn independently from
 * its measured samples, a fractional count taking one more leg with that probability. Independent
 * draws spread the raw chain's slow legs over sagas, so a real chain whose slow legs come together
 * (a pause that hits a whole hop) has a heavier tail than this: the figure errs towards a stricter
 * yardstick. Null when a leg the shape needs has no samples.
 */
export function chainPercentiles(
  legs: ChainLegs,
  shape: ChainShape,
  opts: { draws?: number; seed?: number } = {},
): { p50Ms: number; p99Ms: number } | null {
  const draws = opts.draws ?? 20_000;
  const random = prng(opts.seed ?? 1);
  const parts: Array<[readonly number[], number]> = [
    [legs.delivery, shape.messages],
    [legs.afterDelivery, shape.messages],
    [legs.afterStore, Math.max(0, shape.storeAfterStore)],
  ];
  if (parts.some(([samples, n]) => n > 0 && samples.length === 0)) return null;
  const totals: number[] = [];
  for (let i = 0; i < draws; i++) {
    let total = 0;
    for (const [samples, n] of parts) {
      const count = Math.floor(n) + (random() < n - Math.floor(n) ? 1 : 0);
      for (let k = 0; k < count; k++) total += samples[Math.floor(random() * samples.length)]!;
    }
    totals.push(total);
  }
  totals.sort((a, b) => a - b);
  return { p50Ms: percentile(totals, 50)!, p99Ms: percentile(totals, 99)! };
}
