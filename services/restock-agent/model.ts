/**
 * The restock model: a daily demand forecast per SKU and the order-up-to policy built on it.
 *
 * - A SKU whose average interval between selling days is above `intermittentAdi` is intermittent:
 *   its rate is Croston's with the Syntetos-Boylan correction (SBA), times the promotion lift.
 * - Any other SKU gets Holt-Winters with a damped additive trend and a multiplicative weekly profile.
 *   Planned promotion days are forecast with a lift learned from past promotions and do not move
 *   the level, trend or weekly profile.
 * - The safety stock is not z times a sigma: while fitting, the model forecasts the lead-time sum
 *   from every past day and keeps the errors (as a ratio to the forecast for smooth SKUs, in units for
 *   intermittent ones), split by whether the window held a promotion day; the safety stock is the
 *   empirical quantile of the errors like the coming lead time's that `ModelParams.safety` picks.
 * - Policy: review every day, reorder point = forecast over the lead time (day by day, with the weekly
 *   shape and the promotions) + safety stock; when the inventory position (on hand + on order) is at or
 *   below it, order up to the reorder point + the forecast of the `reviewDays` after the lead time.
 *
 * Everything here is pure: the same history and parameters give the same recommendation.
 */

export interface ModelParams {
  smooth: { alpha: number; beta: number; gamma: number; phi: number; liftAlpha: number };
  intermittent: { alpha: number; liftAlpha: number };
  /** Average days between selling days above which a SKU is intermittent (Syntetos-Boylan: 1.32). */
  intermittentAdi: number;
  /**
   * The safety stock is the error quantile q (between `minQuantile` and `maxQuantile`, in steps of
   * 0.005) that minimises `unitCost` x safety units + (1 - q): the chance of running out before an
   * order arrives is worth `1 / unitCost` units of stock. A unit buys more on a slow or steady
   * seller than on a fast or erratic one, so each SKU gets the service level its errors make cheap.
   */
  safety: { unitCost: number; minQuantile: number; maxQuantile: number };
  /** At most this many past forecast origins (the latest) make the error distribution. */
  errorWindow: number;
  /** The order-up-to level covers this many days after the lead time. */
  reviewDays: number;
}

export interface SkuHistory {
  /** Units demanded per day, oldest first; the last entry is today. */
  demand: readonly number[];
  /** Planned promotions per day from the same first day: past days and at least the days ahead. */
  promo: readonly boolean[];
  /** Weekday of the first day, 0 = Monday (the synthetic shop's day 0); only the reasons name days. */
  firstWeekday?: number;
  /** Days (same indexing as `demand`) on which some demand could not be served, if known. */
  stockoutDays?: readonly number[];
}

export interface StockPosition {
  onHand: number;
  onOrder: number;
  leadTimeDays: number;
}

export interface Forecast {
  kind: 'smooth' | 'intermittent';
  /** Mean demand for each of the next `horizon` days. */
  daily: number[];
  /** Lead-time-sum errors of past forecasts (ratio to the forecast when smooth, units when intermittent). */
  errors: number[];
  /** The same errors split by whether the forecast window held a planned promotion day. */
  regularErrors: number[];
  promoErrors: number[];
  /** Planned promotions over the next `horizon` days. */
  promoAhead: boolean[];
  /** Trend per day as a share of the level (smooth only). */
  trendPerDay: number;
  /** Weekly profile for the next 7 days, mean 1 (smooth only). */
  weekly: number[];
  lift: number;
  /** Mean absolute lead-time-sum error (units) of the past forecasts, over every origin. */
  meanAbsError: number;
}

export interface Recommendation {
  restock: boolean;
  qty: number;
  reorderPoint: number;
  orderUpTo: number;
  forecast: { mean: number; low: number; high: number };
  /** Mean absolute lead-time error of the model's past forecasts of this SKU (units). */
  meanAbsError: number;
  reasons: string[];
  modelVersion: string;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Linear-interpolated empirical quantile; 0 for no data. */
export function quantile(values: readonly number[], q: number): number {
  return sortedQuantile(
    [...values].sort((a, b) => a - b),
    q,
  );
}

/** `quantile` of values already sorted ascending. */
export function sortedQuantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const pos = Math.min(1, Math.max(0, q)) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Average number of days between selling days (Infinity when nothing sold). */
export function averageDemandInterval(demand: readonly number[]): number {
  const selling = demand.filter((d) => d > 0).length;
  return selling === 0 ? Infinity : demand.length / selling;
}

function leadSum(daily: readonly number[], from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += daily[i]!;
  return s;
}

/**
 * Fits the model on the whole history and forecasts `horizon` days; `leadTimeDays` is the horizon
 * whose past errors are collected.
 */
export function forecastSku(
  history: SkuHistory,
  params: ModelParams,
  horizon: number,
  leadTimeDays: number,
): Forecast {
  const adi = averageDemandInterval(history.demand.slice(-182));
  return adi > params.intermittentAdi
    ? forecastIntermittent(history, params, horizon, leadTimeDays)
    : forecastSmooth(history, params, horizon, leadTimeDays);
}

function forecastSmooth(h: SkuHistory, p: ModelParams, horizon: number, lead: number): Forecast {
  const { alpha, beta, gamma, phi, liftAlpha } = p.smooth;
  const y = h.demand;
  const n = y.length;
  const promo = (t: number) => h.promo[t] === true;
  // Initial state from the first four weeks' regular days.
  const init = Math.min(n, 28);
  const byDay = Array.from({ length: 7 }, () => ({ s: 0, c: 0 }));
  let sum = 0;
  let count = 0;
  for (let t = 0; t < init; t++) {
    if (promo(t)) continue;
    byDay[t % 7]!.s += y[t]!;
    byDay[t % 7]!.c++;
    sum += y[t]!;
    count++;
  }
  let level = Math.max(0.1, count ? sum / count : 1);
  const season = byDay.map((d) => (d.c ? clampSeason(d.s / d.c / level) : 1));
  normalise(season);
  let trend = 0;
  let lift = 1.5;
  // One step per day; the lead-time forecast from each origin is kept to measure its error later.
  const backtest = new Backtest(lead, promo, true);
  const ahead = (t: number, steps: number, lvl: number, tr: number, lf: number) => {
    let damp = 0;
    let f = 0;
    for (let k = 1; k <= steps; k++) {
      damp = damp * phi + 1;
      const d = t + k;
      f += Math.max(0, lvl + tr * phi * damp) * season[d % 7]! * (promo(d) ? lf : 1);
    }
    return f;
  };
  for (let t = 0; t < n; t++) {
    const yt = y[t]!;
    const base = Math.max(0.05, level + phi * trend);
    const s = season[t % 7]!;
    if (t >= init) {
      if (promo(t)) {
        lift = Math.min(5, Math.max(1, (1 - liftAlpha) * lift + liftAlpha * (yt / (base * s))));
        level = base;
        trend *= phi;
      } else {
        const newLevel = Math.max(0.05, alpha * (yt / s) + (1 - alpha) * base);
        trend = beta * (newLevel - level) + (1 - beta) * phi * trend;
        season[t % 7] = clampSeason(gamma * (yt / newLevel) + (1 - gamma) * s);
        level = newLevel;
      }
    }
    backtest.observe(t, yt);
    if (t >= init && t + lead < n + horizon) backtest.forecastFrom(t, ahead(t, lead, level, trend, lift));
  }
  // `due` is the first day of the window; the loop above sums the days due..due+lead-1.
  const daily: number[] = [];
  let damp = 0;
  for (let k = 1; k <= horizon; k++) {
    damp = damp * phi + 1;
    const d = n - 1 + k;
    daily.push(Math.max(0, level + trend * phi * damp) * season[d % 7]! * (promo(d) ? lift : 1));
  }
  const weekly = Array.from({ length: 7 }, (_, k) => season[(n + k) % 7]!);
  return {
    kind: 'smooth',
    daily,
    ...backtest.figures(p.errorWindow),
    promoAhead: Array.from({ length: horizon }, (_, k) => promo(n + k)),
    trendPerDay: trend / Math.max(0.05, level),
    weekly,
    lift,
  };
}

function forecastIntermittent(h: SkuHistory, p: ModelParams, horizon: number, lead: number): Forecast {
  const { alpha, liftAlpha } = p.intermittent;
  const y = h.demand;
  const n = y.length;
  const promo = (t: number) => h.promo[t] === true;
  // Croston: smoothed size of a selling day and smoothed interval between selling days.
  let size = 0;
  let interval = 0;
  let since = 1;
  let started = false;
  let lift = 1.5;
  let promoSeen = 0;
  const rate = () => (started ? ((1 - alpha / 2) * size) / interval : 0);
  const backtest = new Backtest(lead, promo, false);
  const ahead = (t: number, steps: number) => {
    let f = 0;
    for (let k = 1; k <= steps; k++) f += rate() * (promo(t + k) ? lift : 1);
    return f;
  };
  for (let t = 0; t < n; t++) {
    const yt = y[t]!;
    if (promo(t)) {
      // Promotion days teach the lift (against the regular rate) and leave the regular rate alone.
      if (started && rate() > 0) {
        promoSeen++;
        const a = Math.max(liftAlpha, 1 / promoSeen);
        lift = Math.min(5, Math.max(1, (1 - a) * lift + a * (yt / rate())));
      }
      since++;
    } else if (yt > 0) {
      if (!started) {
        size = yt;
        interval = since;
        started = true;
      } else {
        size = alpha * yt + (1 - alpha) * size;
        interval = alpha * since + (1 - alpha) * interval;
      }
      since = 1;
    } else {
      since++;
    }
    backtest.observe(t, yt);
    if (t >= 28 && started) backtest.forecastFrom(t, ahead(t, lead));
  }
  const daily = Array.from({ length: horizon }, (_, k) => rate() * (promo(n + k) ? lift : 1));
  return {
    kind: 'intermittent',
    daily,
    ...backtest.figures(p.errorWindow),
    promoAhead: Array.from({ length: horizon }, (_, k) => promo(n + k)),
    trendPerDay: 0,
    weekly: [1, 1, 1, 1, 1, 1, 1],
    lift,
  };
}

/**
 * The rolling-origin backtest each fit runs in its one pass: a forecast of the lead-time demand sum
 * made at the end of day t (the window t+1..t+lead) is scored once the window's last day is seen,
 * as a ratio to the forecast (`relative`, smooth SKUs) or in units (intermittent ones).
 */
class Backtest {
  private readonly pending: { due: number; forecast: number; actual: number; promo: boolean }[] = [];
  private readonly errors: number[] = [];
  private readonly errorPromo: boolean[] = [];
  private absSum = 0;

  constructor(
    private readonly lead: number,
    private readonly promo: (t: number) => boolean,
    private readonly relative: boolean,
  ) {}

  /** Day t's demand: added to the windows it falls in; the windows it ends are scored. */
  observe(t: number, demand: number): void {
    const lead = this.lead;
    for (const q of this.pending) if (q.due > t - lead && q.due <= t) q.actual += demand;
    while (this.pending.length && this.pending[0]!.due + lead - 1 <= t) {
      const q = this.pending.shift()!;
      this.errors.push(
        this.relative ? (q.actual - q.forecast) / Math.max(1, q.forecast) : q.actual - q.forecast,
      );
      this.errorPromo.push(q.promo);
      this.absSum += Math.abs(q.actual - q.forecast);
    }
  }

  /** The lead-time forecast made at the end of day t. */
  forecastFrom(t: number, forecast: number): void {
    let promo = false;
    for (let k = 1; k <= this.lead; k++) if (this.promo(t + k)) promo = true;
    this.pending.push({ due: t + 1, forecast, actual: 0, promo });
  }

  /** The last `window` errors (all, and split by promotion) and the mean absolute error in units. */
  figures(window: number) {
    return {
      ...splitErrors(this.errors, this.errorPromo, window),
      meanAbsError: this.errors.length ? this.absSum / this.errors.length : 0,
    };
  }
}

function splitErrors(errors: number[], promo: boolean[], window: number) {
  const e = errors.slice(-window);
  const flags = promo.slice(-window);
  return {
    errors: e,
    regularErrors: e.filter((_, i) => !flags[i]),
    promoErrors: e.filter((_, i) => flags[i]),
  };
}

function clampSeason(s: number): number {
  return Math.min(4, Math.max(0.1, s));
}

function normalise(season: number[]): void {
  const mean = season.reduce((a, b) => a + b, 0) / season.length;
  for (let i = 0; i < season.length; i++) season[i] = season[i]! / mean;
}

/**
 * The past errors that resemble the coming lead time: those of windows with a promotion day when one
 * is planned within it, the others when none is (all of them while either kind has fewer than 20).
 */
export function errorsFor(f: Forecast, lead: number): number[] {
  const chosen = f.promoAhead.slice(0, lead).some(Boolean) ? f.promoErrors : f.regularErrors;
  return chosen.length >= 20 ? chosen : f.errors;
}

/** Safety stock in units over the lead time, and the error quantile it covers (see `ModelParams.safety`). */
export function safetyStock(
  f: Forecast,
  leadForecast: number,
  lead: number,
  p: ModelParams['safety'],
): { units: number; quantile: number } {
  const sorted = [...errorsFor(f, lead)].sort((a, b) => a - b);
  const scale = f.kind === 'smooth' ? Math.max(1, leadForecast) : 1;
  let best = { units: 0, quantile: p.minQuantile, cost: Infinity };
  const steps = Math.round((p.maxQuantile - p.minQuantile) / 0.005);
  for (let i = 0; i <= steps; i++) {
    const q = p.minQuantile + i * 0.005;
    const units = Math.max(0, sortedQuantile(sorted, q) * scale);
    const cost = p.unitCost * units + (1 - q);
    if (cost < best.cost) best = { units, quantile: q, cost };
  }
  return { units: best.units, quantile: Number(best.quantile.toFixed(3)) };
}

/** The lead-time forecast's interval: its 5% and 95% error quantiles added to the mean. */
function interval(f: Forecast, mean: number): { low: number; high: number } {
  const scale = f.kind === 'smooth' ? Math.max(1, mean) : 1;
  return {
    low: Math.max(0, mean + quantile(f.errors, 0.05) * scale),
    high: Math.max(0, mean + quantile(f.errors, 0.95) * scale),
  };
}

/**
 * The policy's levels from a forecast of at least `lead + reviewDays` days: the reorder point covers
 * the lead time's forecast plus the safety stock, the order-up-to level the review days after it too.
 */
export function levels(
  f: Forecast,
  lead: number,
  p: ModelParams,
): { leadForecast: number; reorderPoint: number; orderUpTo: number; serviceQuantile: number } {
  const leadForecast = leadSum(f.daily, 0, lead);
  const safety = safetyStock(f, leadForecast, lead, p.safety);
  const reorderPoint = leadForecast + safety.units;
  const orderUpTo = reorderPoint + leadSum(f.daily, lead, lead + p.reviewDays);
  return { leadForecast, reorderPoint, orderUpTo, serviceQuantile: safety.quantile };
}

/**
 * What the restock reactor publishes for one SKU: whether to order, how much, the reorder point, the
 * lead-time forecast with its interval, and the reasons in words.
 */
export function recommend(
  history: SkuHistory,
  stock: StockPosition,
  params: { model: ModelParams; modelVersion: string },
): Recommendation {
  const p = params.model;
  const lead = Math.max(1, Math.round(stock.leadTimeDays));
  const f = forecastSku(history, p, lead + p.reviewDays, lead);
  const { leadForecast, reorderPoint, orderUpTo, serviceQuantile } = levels(f, lead, p);
  const position = stock.onHand + stock.onOrder;
  const restock = position <= reorderPoint;
  const qty = restock ? Math.max(1, Math.ceil(orderUpTo - position)) : 0;
  const { low, high } = interval(f, leadForecast);
  return {
    restock,
    qty,
    reorderPoint: round2(reorderPoint),
    orderUpTo: round2(orderUpTo),
    forecast: { mean: round2(leadForecast), low: round2(low), high: round2(high) },
    meanAbsError: round2(f.meanAbsError),
    reasons: [
      ...reasons(history, f, lead, leadForecast, position, round2(reorderPoint)),
      `safety stock ${(reorderPoint - leadForecast).toFixed(1)} units covers ${(serviceQuantile * 100).toFixed(1)}% of past lead-time forecast errors`,
    ],
    modelVersion: params.modelVersion,
  };
}

const dayNames = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function reasons(
  h: SkuHistory,
  f: Forecast,
  lead: number,
  leadForecast: number,
  position: number,
  reorderPoint: number,
): string[] {
  const out: string[] = [];
  const n = h.demand.length;
  out.push(
    `lead time ${lead} days: ${leadForecast.toFixed(1)} units expected before an order placed today arrives`,
  );
  out.push(
    position <= reorderPoint
      ? `stock position ${position} (on hand + on order) is at or below the reorder point ${reorderPoint}`
      : `stock position ${position} is above the reorder point ${reorderPoint}`,
  );
  if (f.kind === 'intermittent') out.push('intermittent seller: most days sell nothing (Croston-SBA rate)');
  if (f.kind === 'smooth' && Math.abs(f.trendPerDay) * 28 >= 0.05) {
    const pct = Math.round(f.trendPerDay * 28 * 100);
    out.push(`trend: demand ${pct > 0 ? 'rising' : 'falling'} about ${Math.abs(pct)}% over four weeks`);
  }
  const peak = Math.max(...f.weekly);
  const trough = Math.min(...f.weekly);
  if (f.kind === 'smooth' && peak - trough >= 0.25) {
    const at = (v: number) => dayNames[((h.firstWeekday ?? 0) + n + f.weekly.indexOf(v)) % 7]!;
    out.push(
      `weekly pattern: busiest ${at(peak)} (x${peak.toFixed(2)}), quietest ${at(trough)} (x${trough.toFixed(2)})`,
    );
  }
  if (h.promo.slice(n, n + lead).some(Boolean)) {
    out.push(`planned promotion within the lead time (lift x${f.lift.toFixed(2)})`);
  }
  const recent = (h.stockoutDays ?? []).filter((d) => d > n - 1 - 28 && d <= n - 1).length;
  if (recent > 0) out.push(`recent stockouts: ${recent} day${recent > 1 ? 's' : ''} in the last four weeks`);
  return out;
}
