import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultModelPath, loadArtifact, modelVersion } from './artifact.ts';
import { evaluateShop } from './evaluation.ts';
import { forecastSku, type ModelParams, recommend, type SkuHistory } from './model.ts';
import { Random } from '../random.ts';
import { generateShop } from './shop.ts';
import { buildArtifact } from './training/build.ts';
import { recipe } from './training/recipe.ts';

const artifact = loadArtifact();
const params: ModelParams = artifact.model;
const none = (days: number) => new Array<boolean>(days).fill(false);

describe('synthetic shop', () => {
  it('is the same shop for the same seed, another for another seed', () => {
    const a = generateShop({ seed: 7 });
    expect(generateShop({ seed: 7 })).toEqual(a);
    expect(generateShop({ seed: 8 }).skus[0]!.demand).not.toEqual(a.skus[0]!.demand);
  });

  it('has the shape the issue asks for', () => {
    const shop = generateShop({ seed: 7 });
    expect(shop.skus).toHaveLength(60);
    expect(shop.testDays).toBeGreaterThanOrEqual(90);
    const kinds = new Set(shop.skus.map((s) => s.kind));
    expect(kinds).toEqual(new Set(['smooth', 'intermittent']));
    for (const s of shop.skus) {
      expect(s.demand).toHaveLength(shop.trainDays + shop.testDays);
      expect(s.leadTimeDays).toBeGreaterThanOrEqual(2);
      expect(s.leadTimeDays).toBeLessThanOrEqual(7);
      expect(s.demand.every((d) => Number.isInteger(d) && d >= 0)).toBe(true);
    }
    expect(shop.skus.some((s) => s.promo.some(Boolean))).toBe(true);
    expect(shop.skus.some((s) => s.truth.trend !== 0)).toBe(true);
  });
});

describe('model on simple series', () => {
  it('forecasts a constant series as that constant', () => {
    const h: SkuHistory = { demand: new Array(200).fill(10), promo: none(220) };
    const f = forecastSku(h, params, 14, 3);
    expect(f.kind).toBe('smooth');
    for (const d of f.daily) expect(d).toBeCloseTo(10, 1);
    expect(f.meanAbsError).toBeLessThan(0.5);
  });

  it('follows a weekly pattern', () => {
    const week = [5, 5, 5, 5, 10, 20, 20];
    const demand = Array.from({ length: 280 }, (_, t) => week[t % 7]!);
    const f = forecastSku({ demand, promo: none(300) }, params, 7, 3);
    // The forecast days are 280..286, weekdays 0..6 again.
    f.daily.forEach((d, k) => expect(d).toBeCloseTo(week[k]!, 0));
  });

  it('follows a trend', () => {
    const demand = Array.from({ length: 300 }, (_, t) => Math.round(10 + t / 10));
    const f = forecastSku({ demand, promo: none(320) }, params, 7, 3);
    expect(f.trendPerDay).toBeGreaterThan(0);
    expect(f.daily[6]!).toBeGreaterThan(38);
    expect(f.daily[6]!).toBeLessThan(42);
  });

  it('learns the lift of planned promotions and forecasts it', () => {
    // Five promotion days in every fifty; the history ends on day 289, so days 295..299 are ahead.
    const promo = Array.from({ length: 320 }, (_, t) => t % 50 >= 45);
    const demand = Array.from({ length: 290 }, (_, t) => (promo[t] ? 20 : 10));
    const f = forecastSku({ demand, promo }, params, 20, 3);
    expect(f.lift).toBeCloseTo(2, 1);
    expect(f.promoAhead.filter(Boolean)).toHaveLength(5);
    f.daily.forEach((d, k) => expect(d).toBeCloseTo(promo[290 + k] ? 20 : 10, 0));
  });

  it('treats an intermittent seller with Croston-SBA', () => {
    // Sells 3 units every 4th day: 0.75 a day, SBA's correction shades it a little.
    const demand = Array.from({ length: 200 }, (_, t) => (t % 4 === 0 ? 3 : 0));
    const f = forecastSku({ demand, promo: none(220) }, params, 7, 3);
    expect(f.kind).toBe('intermittent');
    expect(f.daily[0]!).toBeGreaterThan(0.65);
    expect(f.daily[0]!).toBeLessThanOrEqual(0.75);
  });
});

describe('recommend', () => {
  const rng = new Random(1);
  const demand = Array.from({ length: 200 }, (_, t) => rng.poissonApprox(t % 7 === 5 ? 20 : 10));
  const history: SkuHistory = { demand, promo: none(230), stockoutDays: [195] };
  const opts = { model: params, modelVersion: artifact.version };

  it('orders up to the level when the position is at or below the reorder point', () => {
    const r = recommend(history, { onHand: 5, onOrder: 0, leadTimeDays: 4 }, opts);
    expect(r.restock).toBe(true);
    expect(r.qty).toBe(Math.ceil(r.orderUpTo - 5));
    expect(r.reorderPoint).toBeGreaterThan(r.forecast.mean);
    expect(r.forecast.low).toBeLessThanOrEqual(r.forecast.mean);
    expect(r.forecast.high).toBeGreaterThanOrEqual(r.forecast.mean);
    expect(r.modelVersion).toBe(artifact.version);
    expect(r.reasons.join('\n')).toMatch(/lead time 4 days/);
    expect(r.reasons.join('\n')).toMatch(/weekly pattern: busiest/);
    expect(r.reasons.join('\n')).toMatch(/recent stockouts: 1 day/);
    expect(r.reasons.join('\n')).toMatch(/safety stock [\d.]+ units covers/);
  });

  it('counts stock on order: no order while the position is above the reorder point', () => {
    const r = recommend(history, { onHand: 5, onOrder: 500, leadTimeDays: 4 }, opts);
    expect(r.restock).toBe(false);
    expect(r.qty).toBe(0);
  });

  it('is pure: the same input, the same recommendation', () => {
    const s = { onHand: 20, onOrder: 10, leadTimeDays: 3 };
    expect(recommend(history, s, opts)).toEqual(recommend(history, s, opts));
  });
});

describe('shipped artifact', () => {
  it('is the artifact its version names', () => {
    expect(artifact.version).toBe(modelVersion(artifact.model));
  });

  it('is what npm run restock:train writes, byte for byte', async () => {
    const { json } = await buildArtifact();
    expect(json).toBe(readFileSync(defaultModelPath, 'utf8'));
  });

  it(`meets the issue's targets on the held-out period of shop seed ${recipe.evalSeed}`, () => {
    const f = evaluateShop(generateShop({ seed: recipe.evalSeed, ...recipe.shop }), params, artifact.version);
    expect(f.line).toBe(artifact.evaluation.line);
    expect(f.skus).toBeGreaterThanOrEqual(50);
    expect(f.days).toBeGreaterThanOrEqual(90);
    expect(f.targetsMet).toEqual({ mase: true, fillRate: true, avgStock: true, stockoutDays: true });
  });

  it('meets them on a shop where the fixed baseline is the best one (seed 8, the tightest on stock)', () => {
    const f = evaluateShop(generateShop({ seed: 8, ...recipe.shop }), params, artifact.version);
    expect(f.best).toBe('fixed');
    expect(f.targetsMet).toEqual({ mase: true, fillRate: true, avgStock: true, stockoutDays: true });
  });

  // Known miss (see the README's "What did not work, and the margins"): on shop 5098 the fixed
  // baseline has the higher fill rate, 0.9868 against the agent's 0.9976, and holds 4266.8 units on
  // average against the agent's 4334.8, because it runs short of the SKUs whose demand rises. No
  // setting of the safety rule meets the average-stock target there without missing the stockout-day
  // target on shops 51 or 5063, where the seasonal naive is the best baseline. If this starts to
  // pass, the model got better: turn it into a plain `it`.
  it.fails('meets the average-stock target on shop 5098 (it does not: 4334.8 vs 4266.8 units)', () => {
    const f = evaluateShop(generateShop({ seed: 5098, ...recipe.shop }), params, artifact.version);
    expect(f.best).toBe('fixed');
    expect(f.targetsMet).toEqual({ mase: true, fillRate: true, avgStock: true, stockoutDays: true });
  });
});
