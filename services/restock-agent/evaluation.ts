/**
 * The figures `restock:eval` prints: forecast MASE at the lead-time horizon and the three policies
 * replayed over the held-out period.
 */
import { forecastSku, type ModelParams } from './model.ts';
import type { Shop } from './shop.ts';
import {
  agentPolicy,
  fixedPolicy,
  seasonalNaive,
  seasonalNaivePolicy,
  type SimResult,
  simulate,
} from './simulate.ts';

export interface PolicyFigures {
  fillRate: number;
  avgStock: number;
  stockoutDays: number;
}

export interface ShopFigures {
  seed: number;
  skus: number;
  days: number;
  mase: number;
  agent: PolicyFigures;
  fixed: PolicyFigures;
  seasonalNaive: PolicyFigures;
  /** The baseline with the higher fill rate, the one the targets compare with. */
  best: 'fixed' | 'seasonal-naive';
  targetsMet: { mase: boolean; fillRate: boolean; avgStock: boolean; stockoutDays: boolean };
  ok: boolean;
  line: string;
}

const figures = (r: SimResult): PolicyFigures => ({
  fillRate: Number((r.served / r.demand).toFixed(4)),
  avgStock: Number(r.avgStock.toFixed(1)),
  stockoutDays: r.stockoutDays,
});

/**
 * Mean over SKUs of the model's mean absolute error on the lead-time demand sums over the period,
 * divided by the lag-7 seasonal-naive forecast's on the same sums from the same days.
 */
export function leadTimeMase(shop: Shop, model: ModelParams, from: number, to: number): number {
  let total = 0;
  for (const sku of shop.skus) {
    const L = sku.leadTimeDays;
    let errModel = 0;
    let errNaive = 0;
    for (let t = from - 1; t + L < to; t++) {
      const f = forecastSku({ demand: sku.demand.slice(0, t + 1), promo: sku.promo }, model, L, L);
      let actual = 0;
      let naive = 0;
      let mean = 0;
      for (let h = 1; h <= L; h++) {
        actual += sku.demand[t + h]!;
        naive += seasonalNaive(sku.demand, t, t + h);
        mean += f.daily[h - 1]!;
      }
      errModel += Math.abs(actual - mean);
      errNaive += Math.abs(actual - naive);
    }
    total += errNaive > 0 ? errModel / errNaive : 1;
  }
  return total / shop.skus.length;
}

/** Replays days `from..to-1` of `shop` (by default its held-out period). */
export function evaluateShop(
  shop: Shop,
  model: ModelParams,
  version: string,
  from = shop.trainDays,
  to = shop.trainDays + shop.testDays,
): ShopFigures {
  const mase = Number(leadTimeMase(shop, model, from, to).toFixed(3));
  const agent = figures(simulate(shop, agentPolicy(model), from, to));
  const fixed = figures(simulate(shop, fixedPolicy(shop, model.reviewDays), from, to));
  const sn = figures(simulate(shop, seasonalNaivePolicy(shop, model.reviewDays), from, to));
  const best = sn.fillRate >= fixed.fillRate ? 'seasonal-naive' : 'fixed';
  const b = best === 'fixed' ? fixed : sn;
  const targetsMet = {
    mase: mase < 0.9,
    fillRate: agent.fillRate >= b.fillRate,
    avgStock: agent.avgStock <= b.avgStock,
    stockoutDays: agent.stockoutDays < b.stockoutDays,
  };
  const days = to - from;
  return {
    seed: shop.seed,
    skus: shop.skus.length,
    days,
    mase,
    agent,
    fixed,
    seasonalNaive: sn,
    best,
    targetsMet,
    ok: Object.values(targetsMet).every(Boolean),
    line:
      `restock-eval: model ${version} mase ${mase.toFixed(3)} fill-rate ${agent.fillRate.toFixed(4)} vs ${b.fillRate.toFixed(4)} baseline, ` +
      `avg-stock ${agent.avgStock.toFixed(1)} vs ${b.avgStock.toFixed(1)} baseline, ` +
      `stockout-days ${agent.stockoutDays} vs ${b.stockoutDays} baseline on ${shop.skus.length} skus x ${days} days`,
  };
}
