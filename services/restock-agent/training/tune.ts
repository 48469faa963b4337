/** The two searches `restock:train` runs on the training periods of the tuning shops. */
import { averageDemandInterval, type Forecast, forecastSku, type ModelParams } from '../model.ts';
import type { Shop } from '../shop.ts';
import {
  agentPolicy,
  fixedPolicy,
  seasonalNaive,
  seasonalNaivePolicy,
  type SimResult,
  simulate,
} from '../simulate.ts';
import { type FixedParams, recipe } from './recipe.ts';

/** The shop as it stood after its first `days` days, seen as `days - testDays` + `testDays`. */
export function truncateShop(shop: Shop, days: number, testDays: number): Shop {
  return {
    seed: shop.seed,
    trainDays: days - testDays,
    testDays,
    skus: shop.skus.map((s) => ({ ...s, demand: s.demand.slice(0, days), promo: s.promo.slice(0, days) })),
  };
}

const isIntermittent = (demand: readonly number[], p: FixedParams) =>
  averageDemandInterval(demand.slice(-182)) > p.intermittentAdi;

/** Lag-7 seasonal naive's mean absolute lead-time-sum error over the origins the model is scored on. */
function naiveMae(demand: readonly number[], lead: number): number {
  let sum = 0;
  let n = 0;
  for (let t = 28; t + lead < demand.length; t++) {
    let actual = 0;
    let naive = 0;
    for (let h = 1; h <= lead; h++) {
      actual += demand[t + h]!;
      naive += seasonalNaive(demand, t, t + h);
    }
    sum += Math.abs(actual - naive);
    n++;
  }
  return n ? sum / n : 0;
}

export interface SmoothingChoice {
  smooth: ModelParams['smooth'];
  intermittent: ModelParams['intermittent'];
  relativeError: { smooth: number; intermittent: number };
}

/**
 * The smoothing constants with the lowest mean (over SKUs) ratio of the model's lead-time-sum error
 * to the seasonal naive's, on the training periods, each kind of SKU on its own.
 */
export function tuneSmoothing(shops: Shop[], fixed: FixedParams): SmoothingChoice {
  const g = recipe.grid;
  const series = shops.flatMap((shop) =>
    shop.skus.map((s) => {
      const demand = s.demand.slice(0, shop.trainDays);
      return {
        history: { demand, promo: s.promo },
        lead: s.leadTimeDays,
        intermittent: isIntermittent(demand, fixed),
        naive: naiveMae(demand, s.leadTimeDays),
      };
    }),
  );
  const score = (params: ModelParams, intermittent: boolean) => {
    const chosen = series.filter((s) => s.intermittent === intermittent && s.naive > 0);
    let total = 0;
    for (const s of chosen) total += forecastSku(s.history, params, s.lead, s.lead).meanAbsError / s.naive;
    return chosen.length ? total / chosen.length : 0;
  };
  const base: ModelParams = {
    ...fixed,
    smooth: { alpha: 0.1, beta: 0.01, gamma: 0.05, phi: 0.9, ...recipe.fixed.smooth },
    intermittent: { alpha: 0.1, ...recipe.fixed.intermittent },
    serviceQuantile: { intermittent: 0.95, smooth: [], above: 0.95 },
  };
  let best = { smooth: base.smooth, score: Infinity };
  for (const alpha of g.alpha)
    for (const beta of g.beta)
      for (const gamma of g.gamma)
        for (const phi of g.phi) {
          const smooth = { alpha, beta, gamma, phi, ...recipe.fixed.smooth };
          const s = score({ ...base, smooth }, false);
          if (s < best.score) best = { smooth, score: s };
        }
  let bestI = { intermittent: base.intermittent, score: Infinity };
  for (const alpha of g.intermittentAlpha) {
    const intermittent = { alpha, ...recipe.fixed.intermittent };
    const s = score({ ...base, intermittent }, true);
    if (s < bestI.score) bestI = { intermittent, score: s };
  }
  return {
    smooth: best.smooth,
    intermittent: bestI.intermittent,
    relativeError: { smooth: round(best.score, 4), intermittent: round(bestI.score, 4) },
  };
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

export interface ServiceChoice {
  serviceQuantile: ModelParams['serviceQuantile'];
  /** The worst relative margin over the tuning shops and the three policy targets. */
  worstMargin: number;
}

interface Replay {
  best: SimResult;
  forecasts: (sku: Shop['skus'][number], today: number) => Forecast;
  shop: Shop;
}

/**
 * The service quantiles with the widest worst-case margin on the three policy targets (fill rate
 * at least the best baseline's, no more average stock, fewer stockout days), each margin relative:
 * the share of the baseline's lost sales served, of its stock saved, of its stockout days avoided.
 * Replays the last `innerTestDays` of each training period with the history before them.
 */
export function tuneService(
  shops: Shop[],
  model: Omit<ModelParams, 'serviceQuantile'>,
  onProgress: (line: string) => void = () => {},
): ServiceChoice {
  const q = recipe.grid.quantile;
  const [b1, b2] = recipe.grid.bands;
  const replays: Replay[] = shops.map((full) => {
    const shop = truncateShop(full, full.trainDays, recipe.innerTestDays);
    const from = shop.trainDays;
    const to = shop.trainDays + shop.testDays;
    const fixed = simulate(shop, fixedPolicy(shop, model.reviewDays), from, to);
    const naive = simulate(shop, seasonalNaivePolicy(shop, model.reviewDays), from, to);
    const best = fixed.served / fixed.demand > naive.served / naive.demand ? fixed : naive;
    const cache = new Map<string, Forecast>();
    const placeholder: ModelParams = {
      ...model,
      serviceQuantile: { intermittent: 0.95, smooth: [], above: 0.95 },
    };
    const forecasts = (sku: Shop['skus'][number], today: number) => {
      const key = `${sku.id}:${today}`;
      let f = cache.get(key);
      if (!f) {
        f = forecastSku(
          { demand: sku.demand.slice(0, today + 1), promo: sku.promo },
          placeholder,
          sku.leadTimeDays + model.reviewDays,
          sku.leadTimeDays,
        );
        f.errors.sort((a, b) => a - b);
        cache.set(key, f);
      }
      return f;
    };
    return { best, forecasts, shop };
  });
  let chosen: ServiceChoice | undefined;
  for (const qi of q.intermittent)
    for (const q1 of q.low)
      for (const q2 of q.mid)
        for (const q3 of q.high) {
          const serviceQuantile = {
            intermittent: qi,
            smooth: [
              { below: b1, quantile: q1 },
              { below: b2, quantile: q2 },
            ],
            above: q3,
          };
          let worst = Infinity;
          for (const r of replays) {
            const from = r.shop.trainDays;
            const a = simulate(
              r.shop,
              agentPolicy({ ...model, serviceQuantile }, r.forecasts),
              from,
              from + r.shop.testDays,
            );
            const lost = (x: SimResult) => 1 - x.served / x.demand;
            worst = Math.min(
              worst,
              (lost(r.best) - lost(a)) / Math.max(1e-9, lost(r.best)),
              (r.best.avgStock - a.avgStock) / r.best.avgStock,
              (r.best.stockoutDays - a.stockoutDays) / Math.max(1, r.best.stockoutDays),
            );
          }
          if (!chosen || worst > chosen.worstMargin) {
            chosen = { serviceQuantile, worstMargin: worst };
            onProgress(`  service quantiles ${JSON.stringify(serviceQuantile)}: worst margin ${worst.toFixed(4)}`);
          }
        }
  return { serviceQuantile: chosen!.serviceQuantile, worstMargin: round(chosen!.worstMargin, 4) };
}
