// The figures of a run from its parts: the best of the raw passes, the efficiency and the latency
// ratios, and the summary that is the last line of the output (bench/README.md says what each means).
import { chainPercentiles } from './chain-tail.ts';
import type { LevelResult, OrderMix } from './e2e.ts';
import type { FootprintResult } from './footprint.ts';
import type { RawResult } from './raw.ts';
import { round } from './stats.ts';

/** The last line's keys, in order: the same as `summary` in bench/results/latest.json. */
export const summaryKeys = [
  'sagasPerSec',
  'p50Ms',
  'p99Ms',
  'efficiency',
  'rawPublishPerSec',
  'rawStoreOpsPerSec',
  'rssMbPer100kPassivated',
  'bestConcurrency',
  'p99MsAtConcurrency1',
  'latencyRatioC1',
  'latencyRatioC1Chained',
  'latencyRatioC1ChainP99',
  'messagesPerSaga',
  'storeWritesPerSaga',
  'cpuMsPerSaga',
  'cpuPerSagaInRawPublishes',
  'rssMbPer10kActive',
  'recoverySec',
  'recoverySagas',
  'mix',
  'quick',
] as const;

export type Summary = Record<(typeof summaryKeys)[number], number | boolean | string | null>;

/** A last line for a run that could not make its figures: every figure null, and why. */
export function failedSummary(error: string): Summary & { error: string } {
  return { ...(Object.fromEntries(summaryKeys.map((k) => [k, null])) as Summary), error };
}

/**
 * Store calls a saga makes beside its chain of waits rather than in it, by collection and call (so
 * the count is the same whether the roles run in one process or in many): the orchestrator's
 * history moves of long sagas (`saga_history.insertMany`, none in the bench's), outbox clears
 * (`sagas.bulkWrite`; alone at concurrency 1, where commits are single `updateOne`s) and timer
 * polls and sweeps (`sagas.find`), and the fraud agent's history reads (`find` on its two
 * collections, made while it records the payment). Everything else is a call some step waits for.
 */
const besideTheChain = new Set([
  'saga_history.insertMany',
  'sagas.bulkWrite',
  'sagas.find',
  'fraud_customer_events.find',
  'fraud_card_customers.find',
]);

/**
 * The raw round trips of one saga at concurrency 1 as a chain (raw-chain.ts): every message the saga
 * needs is delivered and starts a step whose first store call comes after the delivery; its other
 * store calls on the chain follow another store call. `ms` sums each leg's p50; `p99Ms` is the p99
 * of the whole chain's time, its legs drawn from the raw chain's samples (chain-tail.ts).
 */
function chainedRoundTrips(
  c1: LevelResult,
  chain: RawResult['chain'],
): { ms: number; p99Ms: number | null; storeCalls: number } | null {
  const { delivery, afterDelivery, afterStore } = chain;
  if (delivery.p50Ms === null || afterDelivery.p50Ms === null || afterStore.p50Ms === null) return null;
  let storeCalls = 0;
  for (const [call, n] of Object.entries(c1.storeCallsPerSagaByCollection))
    if (!besideTheChain.has(call)) storeCalls += n;
  const m = c1.messagesPerSaga;
  const ms = m * (delivery.p50Ms + afterDelivery.p50Ms) + Math.max(0, storeCalls - m) * afterStore.p50Ms;
  const tail = chainPercentiles(
    {
      delivery: delivery.samplesMs ?? [],
      afterDelivery: afterDelivery.samplesMs ?? [],
      afterStore: afterStore.samplesMs ?? [],
    },
    { messages: m, storeAfterStore: storeCalls - m },
  );
  return { ms, p99Ms: tail?.p99Ms ?? null, storeCalls };
}

/** A raw pass as the result file keeps it: the chain's samples only in the chosen one (`raw`). */
export function withoutSamples(r: RawResult): RawResult {
  const figure = ({ samplesMs: _, ...rest }: RawResult['chain']['delivery']) => rest;
  const { delivery, afterDelivery, afterStore } = r.chain;
  return {
    ...r,
    chain: {
      ...r.chain,
      delivery: figure(delivery),
      afterDelivery: figure(afterDelivery),
      afterStore: figure(afterStore),
    },
  };
}

/** The best of the raw passes: highest throughputs, lowest latencies (each with its own p99). */
export function bestRaw(passes: RawResult[]): RawResult | null {
  if (passes.length === 0) return null;
  const by = <T>(pick: (r: RawResult) => T, better: (a: T, b: T) => boolean) =>
    passes.reduce((a, b) => (better(pick(b), pick(a)) ? b : a));
  const lower = (a: number | null, b: number | null) => a !== null && (b === null || a < b);
  const higher = (a: number, b: number) => a > b;
  const syncPub = by((r) => r.publish.syncP50Ms, lower);
  const pipe = by((r) => r.publish.pipelinedPerSec, higher);
  const cons = by((r) => r.consume.perSec, higher);
  const storeLat = by((r) => r.store.latencyP50Ms, lower);
  const storeTput = by((r) => r.store.maxPerSec, higher);
  const chainMs = (r: RawResult) =>
    [r.chain.delivery, r.chain.afterDelivery, r.chain.afterStore].reduce(
      (sum, fig) => sum + (fig.p50Ms ?? Number.POSITIVE_INFINITY),
      0,
    );
  const chain = by(chainMs, (a, b) => a < b);
  const perSecByConcurrency: Record<string, number> = {};
  for (const p of passes)
    for (const [c, v] of Object.entries(p.store.perSecByConcurrency))
      perSecByConcurrency[c] = Math.max(perSecByConcurrency[c] ?? 0, v);
  return {
    publish: {
      ...pipe.publish,
      syncCount: syncPub.publish.syncCount,
      syncP50Ms: syncPub.publish.syncP50Ms,
      syncP99Ms: syncPub.publish.syncP99Ms,
    },
    consume: cons.consume,
    store: {
      ...storeTput.store,
      latencyP50Ms: storeLat.store.latencyP50Ms,
      latencyP99Ms: storeLat.store.latencyP99Ms,
      perSecByConcurrency,
    },
    chain: chain.chain,
  };
}

/** The efficiency and the latency ratios (bench/README.md, "Efficiency"), as the result file keeps them. */
export interface Efficiency {
  value: number | null;
  boundSagasPerSec: number | null;
  formula: string;
  /** p99 at concurrency 1 over the summed raw round trips of one saga. */
  latencyRatioC1: number | null;
  rawRoundTripsMsPerSaga: number | null;
  /** p99 at concurrency 1 over the same round trips chained the way the saga makes them (raw-chain.ts). */
  latencyRatioC1Chained: number | null;
  /** p50 at concurrency 1 over the same chain (its legs' p50s): the typical saga against its floor. */
  p50RatioC1Chained: number | null;
  chainedRoundTripsMsPerSaga: number | null;
  /** Store calls per saga that some step waits for (all but those made beside the chain). */
  chainStoreCallsPerSaga: number | null;
  /** p99 at concurrency 1 over the p99 of that chain's time, its legs drawn from the raw chain's samples (chain-tail.ts). */
  latencyRatioC1ChainP99: number | null;
  chainP99MsPerSaga: number | null;
}

/** The level with the most sagas a second. */
export function bestLevel(levels: LevelResult[]): LevelResult | null {
  return levels.reduce<LevelResult | null>((b, l) => (!b || l.sagasPerSec > b.sagasPerSec ? l : b), null);
}

/** The best level's throughput over what the broker and the store allow for its operations, and p99 at c=1 over the raw round trips. */
export function efficiencyOf(levels: LevelResult[], raw: RawResult | null): Efficiency {
  const best = bestLevel(levels);
  const rawPublishPerSec = raw?.publish.pipelinedPerSec ?? null;
  const rawStoreOpsPerSec = raw?.store.maxPerSec ?? null;
  let bound: number | null = null;
  if (best && rawPublishPerSec && rawStoreOpsPerSec && best.storeWritesPerSaga !== null)
    bound = 1 / (best.messagesPerSaga / rawPublishPerSec + best.storeWritesPerSaga / rawStoreOpsPerSec);
  const c1 = levels.find((l) => l.concurrency === 1);
  const rawRoundTrips =
    c1 &&
    raw &&
    raw.publish.syncP50Ms !== null &&
    raw.store.latencyP50Ms !== null &&
    c1.storeCommandsPerSaga !== null
      ? c1.messagesPerSaga * raw.publish.syncP50Ms + c1.storeCommandsPerSaga * raw.store.latencyP50Ms
      : null;
  const chained = c1 && raw ? chainedRoundTrips(c1, raw.chain) : null;
  const p99C1 = c1?.latencyMs.p99 ?? null;
  return {
    value: round(best && bound ? best.sagasPerSec / bound : null, 3),
    boundSagasPerSec: round(bound, 1),
    formula: '1 / (messagesPerSaga / rawPublishPerSec + storeWritesPerSaga / rawStoreOpsPerSec)',
    latencyRatioC1: round(p99C1 !== null && rawRoundTrips ? p99C1 / rawRoundTrips : null, 2),
    rawRoundTripsMsPerSaga: round(rawRoundTrips, 1),
    latencyRatioC1Chained: round(p99C1 !== null && chained ? p99C1 / chained.ms : null, 2),
    p50RatioC1Chained: round(c1?.latencyMs.p50 != null && chained ? c1.latencyMs.p50 / chained.ms : null, 2),
    chainedRoundTripsMsPerSaga: round(chained?.ms ?? null, 1),
    chainStoreCallsPerSaga: round(chained?.storeCalls ?? null, 2),
    latencyRatioC1ChainP99: round(p99C1 !== null && chained?.p99Ms ? p99C1 / chained.p99Ms : null, 2),
    chainP99MsPerSaga: round(chained?.p99Ms ?? null, 1),
  };
}

/**
 * The CPU of a saga at the best level (every process) in units of the same run's raw publish: how
 * many raw pipelined publishes that CPU time would have made. The machine's speed drifts from day
 * to day by a factor of two; this ratio does not, so runs of different days compare on it.
 */
export function cpuInRawPublishes(best: LevelResult | null, raw: RawResult | null): number | null {
  const cpuMs = best?.cpuSecPerSagaTotal != null ? best.cpuSecPerSagaTotal * 1000 : null;
  const perSec = raw?.publish.pipelinedPerSec ?? null;
  return round(cpuMs !== null && perSec ? (cpuMs * perSec) / 1000 : null, 0);
}

/** The last line: the headline figures of the best level, the raw bounds, the ratios and the footprint. */
export function summaryOf(parts: {
  levels: LevelResult[];
  raw: RawResult | null;
  efficiency: Efficiency;
  footprint: FootprintResult | null;
  mix: OrderMix;
  quick: boolean;
}): Summary {
  const { levels, raw, efficiency: e, footprint: fp } = parts;
  const best = bestLevel(levels);
  const c1 = levels.find((l) => l.concurrency === 1);
  return {
    sagasPerSec: round(best?.sagasPerSec ?? null, 1),
    p50Ms: round(best?.latencyMs.p50 ?? null, 0),
    p99Ms: round(best?.latencyMs.p99 ?? null, 0),
    efficiency: e.value,
    rawPublishPerSec: round(raw?.publish.pipelinedPerSec ?? null, 0),
    rawStoreOpsPerSec: round(raw?.store.maxPerSec ?? null, 0),
    rssMbPer100kPassivated: round(fp?.passivated.rssMbPer100k ?? null, 1),
    bestConcurrency: best?.concurrency ?? null,
    p99MsAtConcurrency1: round(c1?.latencyMs.p99 ?? null, 0),
    latencyRatioC1: e.latencyRatioC1,
    latencyRatioC1Chained: e.latencyRatioC1Chained,
    latencyRatioC1ChainP99: e.latencyRatioC1ChainP99,
    messagesPerSaga: round(best?.messagesPerSaga ?? null, 2),
    storeWritesPerSaga: round(best?.storeWritesPerSaga ?? null, 2),
    cpuMsPerSaga: round(best?.cpuSecPerSagaTotal != null ? best.cpuSecPerSagaTotal * 1000 : null, 2),
    cpuPerSagaInRawPublishes: cpuInRawPublishes(best, raw),
    rssMbPer10kActive: round(fp?.active.rssMbPer10k ?? null, 1),
    recoverySec: round(fp?.recovery.sec ?? null, 1),
    recoverySagas: fp ? fp.sagas : null,
    mix: parts.mix,
    quick: parts.quick,
  };
}
