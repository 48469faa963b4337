/**
 * The synthetic shop: daily demand for a catalogue of SKUs, generated from one seed.
 *
 * Every SKU is one of two kinds:
 * - `smooth`: a base level (log-normal, median 10 a day) that drifts along a linear trend (60% of
 *   SKUs; from -50% to +80% over the whole horizon), a weekly profile (weekend-heavy, weekday-heavy
 *   or Friday-peaked, amplitude 0 to 0.6), planned promotions (half of the SKUs: 3 to 7 days, every
 *   3 to 8 weeks, lifting demand 1.5x to 2.5x) and noise (Poisson around a log-normal day
 *   factor, so more spread than Poisson alone);
 * - `intermittent` (30%): most days sell nothing; a day sells with probability 8% to 45% (shaped by a
 *   weak weekly profile, lifted by promotions), a selling day sells 1 + Poisson(0 to 3) units.
 *
 * The promotion calendar is planned, so it is known in advance: the shop knows it, and so does the
 * agent (the baselines, as the issue specifies them, do not use it). Each SKU has a supplier lead
 * time of 2 to 7 days. Day 0 is a Monday; days `0..trainDays-1` are the training period, the next
 * `testDays` the held-out period. The same seed always yields the same shop.
 */
import { Random } from '../random.ts';

export type SkuKind = 'smooth' | 'intermittent';

export interface Sku {
  id: string;
  kind: SkuKind;
  leadTimeDays: number;
  /** Units demanded per day (including demand the shop could not serve), one entry per day. */
  demand: number[];
  /** Planned promotion per day, known in advance for the whole horizon. */
  promo: boolean[];
  /** The generating parameters, for the README and the tests; the model never reads them. */
  truth: { base: number; trend: number; weekly: number[]; lift: number; noise: number };
}

export interface Shop {
  seed: number;
  trainDays: number;
  testDays: number;
  skus: Sku[];
}

export interface ShopOptions {
  seed: number;
  skus?: number;
  trainDays?: number;
  testDays?: number;
}

const templates: readonly (readonly number[])[] = [
  [-0.5, -0.4, -0.3, -0.1, 0.3, 1, 0.9], // weekend-heavy (Mon..Sun)
  [0.4, 0.5, 0.5, 0.4, 0.2, -0.9, -1.1], // weekday-heavy
  [-0.3, -0.2, -0.1, 0.2, 1, 0.1, -0.7], // Friday peak
];

function weeklyProfile(rng: Random, amplitude: number): number[] {
  const shape = templates[rng.int(0, templates.length - 1)]!;
  const raw = shape.map((s) => Math.max(0.15, 1 + amplitude * (s + 0.15 * rng.normal())));
  const mean = raw.reduce((a, b) => a + b, 0) / 7;
  return raw.map((r) => r / mean);
}

function promoCalendar(rng: Random, days: number, on: boolean): boolean[] {
  const promo = new Array<boolean>(days).fill(false);
  if (!on) return promo;
  let day = rng.int(7, 40);
  while (day < days) {
    const length = rng.int(3, 7);
    for (let d = day; d < Math.min(days, day + length); d++) promo[d] = true;
    day += length + rng.int(21, 56);
  }
  return promo;
}

export function generateShop(options: ShopOptions): Shop {
  const { seed, skus = 60, trainDays = 364, testDays = 112 } = options;
  const days = trainDays + testDays;
  const rng = new Random(seed);
  const list: Sku[] = [];
  for (let i = 0; i < skus; i++) {
    const kind: SkuKind = rng.chance(0.3) ? 'intermittent' : 'smooth';
    const leadTimeDays = rng.int(2, 7);
    const promo = promoCalendar(rng, days, rng.chance(0.5));
    const lift = rng.uniform(1.5, 2.5);
    const demand: number[] = [];
    let truth: Sku['truth'];
    if (kind === 'smooth') {
      const base = Math.min(80, Math.max(2, rng.logNormal(10, 0.8)));
      const trend = rng.chance(0.6) ? rng.uniform(-0.5, 0.8) : 0;
      const weekly = weeklyProfile(rng, rng.uniform(0, 0.6));
      const noise = rng.uniform(0.05, 0.3);
      truth = { base, trend, weekly, lift, noise };
      for (let t = 0; t < days; t++) {
        const level = base * Math.max(0.2, 1 + (trend * t) / days);
        const mean = level * weekly[t % 7]! * (promo[t] ? lift : 1);
        demand.push(rng.poissonApprox(mean * Math.exp(noise * rng.normal() - (noise * noise) / 2)));
      }
    } else {
      const p = rng.uniform(0.08, 0.45);
      const size = rng.uniform(0, 3);
      const weekly = weeklyProfile(rng, rng.uniform(0, 0.3));
      truth = { base: p * (1 + size), trend: 0, weekly, lift, noise: 0 };
      for (let t = 0; t < days; t++) {
        const pt = Math.min(0.95, p * weekly[t % 7]! * (promo[t] ? lift : 1));
        demand.push(rng.chance(pt) ? 1 + rng.poissonApprox(size) : 0);
      }
    }
    list.push({ id: `sku-${String(i + 1).padStart(3, '0')}`, kind, leadTimeDays, demand, promo, truth });
  }
  return { seed, trainDays, testDays, skus: list };
}
