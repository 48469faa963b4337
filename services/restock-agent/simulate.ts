/**
 * Replays a shop's held-out period day by day for one restock policy.
 *
 * Each day: orders due that morning arrive; the day's demand is served from stock on hand (what
 * cannot be served is lost); in the evening the policy looks at the history up to today and the
 * inventory position (on hand + on order) and may place an order, which arrives `leadTimeDays`
 * mornings later. The shop records every unit demanded, served or not, so every policy sees the
 * true demand history. Every policy starts the period with its own order-up-to level on hand.
 *
 * The two baselines are the issue's, with the same service-level rule (z for a 95% cycle service
 * level times a standard deviation scaled by the square root of the lead time) and the same
 * review period:
 * - `fixed`: reorder point = training mean x lead time + z x training sd x sqrt(lead time), order
 *   quantity = training mean x review days, both fixed for the whole period;
 * - `seasonal-naive`: each day's forecast is the demand seven days earlier (fourteen beyond a week);
 *   reorder point = forecast over the lead time + z x sd of the training period's lag-7 differences x
 *   sqrt(lead time); order up to it + the forecast of the review days after the lead time.
 */
import { type Forecast, forecastSku, levels, type ModelParams } from './model.ts';
import type { Shop, Sku } from './shop.ts';

export const Z95 = 1.6449;

export interface Decision {
  reorderPoint: number;
  /** Units to order when the position is at or below the reorder point. */
  order: (position: number) => number;
  /** The stock level a policy starts the period with. */
  target: number;
}

export type Policy = (sku: Sku, today: number) => Decision;

function meanSd(xs: readonly number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1);
  return { mean, sd: Math.sqrt(v) };
}

export function fixedPolicy(shop: Shop, reviewDays: number): Policy {
  const cache = new Map<string, Decision>();
  return (sku) => {
    let d = cache.get(sku.id);
    if (!d) {
      const { mean, sd } = meanSd(sku.demand.slice(0, shop.trainDays));
      const L = sku.leadTimeDays;
      const reorderPoint = mean * L + Z95 * sd * Math.sqrt(L);
      const q = Math.max(1, Math.round(mean * reviewDays));
      d = {
        reorderPoint,
        order: (position) => q * Math.max(1, Math.ceil((reorderPoint - position + 1e-9) / q)),
        target: Math.ceil(reorderPoint + q),
      };
      cache.set(sku.id, d);
    }
    return d;
  };
}

/** Lag-7 forecast of day `day` made at the end of `today`: the latest same weekday known. */
export function seasonalNaive(demand: readonly number[], today: number, day: number): number {
  let d = day - 7;
  while (d > today) d -= 7;
  return demand[d] ?? 0;
}

export function seasonalNaivePolicy(shop: Shop, reviewDays: number): Policy {
  const sds = new Map<string, number>();
  return (sku, today) => {
    let sd = sds.get(sku.id);
    if (sd === undefined) {
      const diffs: number[] = [];
      for (let t = 7; t < shop.trainDays; t++) diffs.push(sku.demand[t]! - sku.demand[t - 7]!);
      sd = meanSd(diffs).sd;
      sds.set(sku.id, sd);
    }
    const L = sku.leadTimeDays;
    let lead = 0;
    let cycle = 0;
    for (let h = 1; h <= L + reviewDays; h++) {
      const f = seasonalNaive(sku.demand, today, today + h);
      if (h <= L) lead += f;
      else cycle += f;
    }
    const reorderPoint = lead + Z95 * sd * Math.sqrt(L);
    const upTo = reorderPoint + cycle;
    return { reorderPoint, order: (position) => Math.ceil(upTo - position), target: Math.ceil(upTo) };
  };
}

/**
 * The agent's policy: the levels `recommend` computes. `forecasts` may supply the forecast (the
 * training search replays many service levels on the same forecasts); by default it is fitted.
 */
export function agentPolicy(
  model: ModelParams,
  forecasts: (sku: Sku, today: number) => Forecast = (sku, today) =>
    forecastSku(
      { demand: sku.demand.slice(0, today + 1), promo: sku.promo },
      model,
      sku.leadTimeDays + model.reviewDays,
      sku.leadTimeDays,
    ),
): Policy {
  return (sku, today) => {
    const l = levels(forecasts(sku, today), sku.leadTimeDays, model);
    return {
      reorderPoint: l.reorderPoint,
      order: (position) => Math.ceil(l.orderUpTo - position),
      target: Math.ceil(l.orderUpTo),
    };
  };
}

export interface SimResult {
  demand: number;
  served: number;
  /** Sum over SKUs of the average units on hand at the end of a day. */
  avgStock: number;
  stockoutDays: number;
}

/** Replays days `from..to-1` of every SKU with `policy`, which decides from the history up to each day. */
export function simulate(shop: Shop, policy: Policy, from: number, to: number, skus = shop.skus): SimResult {
  let demand = 0;
  let served = 0;
  let stockDays = 0;
  let stockoutDays = 0;
  for (const sku of skus) {
    const L = sku.leadTimeDays;
    let onHand = policy(sku, from - 1).target;
    const arriving = new Array<number>(to + L + 1).fill(0);
    let onOrder = 0;
    for (let t = from; t < to; t++) {
      onHand += arriving[t]!;
      onOrder -= arriving[t]!;
      const want = sku.demand[t]!;
      const serve = Math.min(onHand, want);
      onHand -= serve;
      demand += want;
      served += serve;
      if (serve < want) stockoutDays++;
      stockDays += onHand;
      const d = policy(sku, t);
      const position = onHand + onOrder;
      if (position <= d.reorderPoint) {
        const qty = Math.max(0, Math.round(d.order(position)));
        if (qty > 0) {
          arriving[t + L] = arriving[t + L]! + qty;
          onOrder += qty;
        }
      }
    }
  }
  return { demand, served, avgStock: stockDays / (to - from), stockoutDays };
}
