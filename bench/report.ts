// The people-readable table of a benchmark result.
import type { Population } from '../test/scale/orders.ts';
import type { Layout } from '../test/cluster.ts';
import { type LevelResult, type OrderMix, quietCores } from './e2e.ts';
import type { LargestDoc } from './diagnostics/largest-docs.ts';
import type { FootprintResult } from './footprint.ts';
import type { RawResult } from './raw.ts';
import { cpuInRawPublishes, type Efficiency, type Summary } from './summary.ts';

export interface BenchResult {
  date: string;
  quick: boolean;
  durationSec: number;
  machine: { cpus: number; cpuModel: string; memGb: number; node: string };
  infra: string;
  distribution: { layout: Layout; roles: string[] };
  /** Who placed the orders (`--mix`). */
  mix: { name: OrderMix } & Population;
  startupSec: number | null;
  /** Unmeasured runs: `firstSec` at concurrency 16 before everything, `perLevelSec` at each level's own concurrency before it. */
  warmup: { firstSec: number; perLevelSec: number };
  /** The best of `rawPasses`, figure by figure. */
  raw: RawResult | null;
  rawPasses: RawResult[];
  levels: LevelResult[];
  bestConcurrency: number | null;
  efficiency: Efficiency;
  /** The largest document of each collection of the end-to-end database, largest first. */
  largestDocs: LargestDoc[];
  footprint: FootprintResult | null;
  profile: Array<{ role: string; file: string; text: string }>;
  notes: string[];
  summary: Summary;
}

const f = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits);
const int = (v: number | null | undefined) => f(v, 0);

export function formatTable(r: BenchResult): string {
  const out: string[] = [];
  const row = (cells: string[], widths: number[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  out.push(
    `jetsaga bench ${r.quick ? '(quick) ' : ''}${r.date} — ${r.machine.cpus} CPUs, ${r.machine.cpuModel}, node ${r.machine.node}`,
  );
  out.push(`infrastructure: ${r.infra}`);
  out.push(
    `processes: ${r.distribution.layout === 'all' ? 'every role in one process (--layout all)' : `one per role (${r.distribution.roles.length})`}`,
  );
  out.push(
    `orders: --mix ${r.mix.name}, ${r.mix.customers.toLocaleString('en-US')} customers, ${r.mix.ownCards ? 'each with a card of their own' : 'all on one test card'}`,
  );
  out.push(
    `warm-up (unmeasured): ${r.warmup.firstSec} s at concurrency 16 first, then ${r.warmup.perLevelSec} s at each level's concurrency right before it`,
  );
  out.push('');
  if (r.raw) {
    const { publish, consume, store } = r.raw;
    out.push(
      `raw bounds (no jetsaga code in between; best of ${r.rawPasses.length} passes, before and after the end-to-end levels)`,
    );
    out.push(
      `  JetStream publish + PubAck, one at a time      p50 ${f(publish.syncP50Ms, 2)} ms   p99 ${f(publish.syncP99Ms, 2)} ms   (${publish.payloadBytes} B payload)`,
    );
    out.push(
      `  JetStream publish, ${publish.window} in flight               ${int(publish.pipelinedPerSec)} msgs/s`,
    );
    out.push(
      `  durable pull consume + ack (batch ${consume.pullBatch})         ${int(consume.perSec)} msgs/s`,
    );
    out.push(
      `  MongoDB updateOne({_id, rev}), one at a time   p50 ${f(store.latencyP50Ms, 2)} ms   p99 ${f(store.latencyP99Ms, 2)} ms   (${store.docBytes} B doc)`,
    );
    out.push(
      `  MongoDB updateOne({_id, rev}) by concurrency   ${Object.entries(store.perSecByConcurrency)
        .map(([c, v]) => `c=${c}: ${int(v)}/s`)
        .join('   ')}`,
    );
    const { chain } = r.raw;
    const fig = (x: typeof chain.delivery) => `p50 ${f(x.p50Ms, 2)} ms   p99 ${f(x.p99Ms, 2)} ms`;
    out.push(`  chained as a saga's hops (${chain.hops} hops, one process; raw-chain.ts):`);
    out.push(`    publish -> delivered to a pull consumer     ${fig(chain.delivery)}`);
    out.push(`    store call right after a delivery          ${fig(chain.afterDelivery)}`);
    out.push(`    store call right after a store call        ${fig(chain.afterStore)}`);
    out.push('');
  }
  if (r.levels.length > 0) {
    out.push(
      'end to end: order-fulfillment through the API, closed loop (latency = saga createdAt -> endedAt)',
    );
    const w = [5, 8, 6, 7, 7, 7, 10, 12, 11, 12, 16];
    out.push(
      row(
        [
          'conc',
          'sagas/s',
          'sagas',
          'p50 ms',
          'p95 ms',
          'p99 ms',
          'msgs/saga',
          'writes/saga',
          'calls/saga',
          'CPU ms/saga',
          'CPU in raw pubs',
        ],
        w,
      ),
    );
    for (const l of r.levels) {
      out.push(
        row(
          [
            String(l.concurrency),
            f(l.sagasPerSec),
            String(l.sagas),
            int(l.latencyMs.p50),
            int(l.latencyMs.p95),
            int(l.latencyMs.p99),
            f(l.messagesPerSaga),
            f(l.storeWritesPerSaga),
            f(l.storeCommandsPerSaga),
            f(l.cpuSecPerSagaTotal === null ? null : l.cpuSecPerSagaTotal * 1000, 2),
            int(cpuInRawPublishes(l, r.raw)),
          ],
          w,
        ),
      );
    }
    const withMachine = r.levels.filter((l) => l.machine);
    if (withMachine.length > 0)
      out.push(
        `whole machine during each level (/proc/stat), busy / stolen by the host: ${withMachine
          .map((l) => `c=${l.concurrency} ${f(l.machine!.busyPct, 0)} % / ${f(l.machine!.stealPct)} %`)
          .join(' · ')}`,
      );
    const settled = r.levels.filter((l) => l.settle);
    if (settled.length > 0)
      out.push(
        `quiet before each level (CPU of the measured processes under ${quietCores} cores): ${settled
          .map(
            (l) =>
              `c=${l.concurrency} ${l.settle!.sec} s${l.settle!.quiet ? '' : ` (gave up at ${l.settle!.busyCores} cores)`}`,
          )
          .join(' · ')}`,
      );
    const best = r.levels.find((l) => l.concurrency === r.bestConcurrency);
    if (best) {
      out.push('');
      out.push(`CPU ms per saga by process at concurrency ${best.concurrency}:`);
      const entries = Object.entries(best.cpuSecPerSaga).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0));
      out.push(`  ${entries.map(([k, v]) => `${k} ${f(v === null ? null : v * 1000, 2)}`).join(' · ')}`);
      out.push(
        `store writes per saga by process: ${Object.entries(best.storeWritesPerSagaByRole)
          .map(([k, v]) => `${k} ${v}`)
          .join(' · ')}`,
      );
      out.push(
        `store calls per saga: ${Object.entries(best.storeCommandsByName)
          .map(([k, v]) => `${k} ${v}`)
          .join(' · ')}`,
      );
      for (const [role, calls] of Object.entries(best.storeCallsPerSagaByRole))
        out.push(
          `  ${role}: ${Object.entries(calls)
            .map(([k, v]) => `${k} ${v}`)
            .join(' · ')}`,
        );
      out.push(
        `largest documents after the run: ${r.largestDocs
          .slice(0, 4)
          .map((d) => `${d.collection} ${d.maxId} ${(d.maxBytes / 1024).toFixed(1)} KB`)
          .join(' · ')}`,
      );
      out.push(
        `outcomes: ${Object.entries(best.outcomes)
          .map(([k, v]) => `${k} ${v}`)
          .join(' · ')}`,
      );
    }
    const c1 = r.levels.find((l) => l.concurrency === 1);
    if (c1?.hops) {
      out.push('');
      out.push(`at concurrency 1, latency by outcome (p50 / p99 ms, transitions):`);
      for (const [k, v] of Object.entries(c1.hops.byOutcome))
        out.push(
          `  ${k.padEnd(40)} ${String(v.count).padStart(5)}  ${int(v.p50)} / ${int(v.p99)}  ${f(v.transitions)}`,
        );
      out.push(`  gap before each transition, by its event (p50 / p95 / p99 ms):`);
      for (const [k, v] of Object.entries(c1.hops.byEvent))
        out.push(`  ${k.padEnd(40)} ${String(v.count).padStart(5)}  ${f(v.p50)} / ${f(v.p95)} / ${f(v.p99)}`);
      if (c1.hops.legs) {
        out.push(
          `  each hop in legs, by who answered (p50 / p95 ms): step = orchestrator step -> command stored,`,
        );
        out.push(
          `  answer = stored -> answer made (delivery, handler), reply = -> answer stored, back = -> next step`,
        );
        const sp = (v: { p50: number | null; p95: number | null } | null) =>
          v ? `${f(v.p50)} / ${f(v.p95)}`.padStart(12) : 'n/a'.padStart(12);
        out.push(
          `  ${''.padEnd(12)} ${'hops'.padStart(5)} ${['step', 'answer', 'reply', 'back'].map((h) => h.padStart(12)).join(' ')}`,
        );
        for (const [k, v] of Object.entries(c1.hops.legs))
          out.push(
            `  ${k.padEnd(12)} ${String(v.count).padStart(5)} ${[v.step, v.answer, v.reply, v.back].map(sp).join(' ')}`,
          );
      }
    }
    out.push('');
  }
  out.push(
    `efficiency at the best concurrency (${r.bestConcurrency ?? 'n/a'}): ${f(r.efficiency.value, 3)} of a bound of ${f(r.efficiency.boundSagasPerSec)} sagas/s`,
  );
  out.push(`  bound = ${r.efficiency.formula}`);
  out.push(
    `p99 at concurrency 1 = ${f(r.efficiency.latencyRatioC1, 2)} x the raw round trips of one saga, each at its hot-loop p50 (${f(r.efficiency.rawRoundTripsMsPerSaga)} ms)`,
  );
  out.push(
    `                      = ${f(r.efficiency.latencyRatioC1Chained, 2)} x the same round trips chained as the saga makes them (${f(r.efficiency.chainedRoundTripsMsPerSaga)} ms: ${f(r.efficiency.chainStoreCallsPerSaga)} store calls on its chain)`,
  );
  out.push(
    `                      = ${f(r.efficiency.latencyRatioC1ChainP99, 2)} x the p99 of that chain (${f(r.efficiency.chainP99MsPerSaga)} ms: each leg drawn from the raw chain's samples, 20,000 draws)`,
  );
  out.push(
    `p50 at concurrency 1 = ${f(r.efficiency.p50RatioC1Chained ?? null, 2)} x the chained round trips (${f(r.efficiency.chainedRoundTripsMsPerSaga)} ms)`,
  );
  out.push('');
  const fp = r.footprint;
  if (fp) {
    out.push(`footprint (${fp.sagas} sagas, ${fp.docBytes} B each, inserted in ${f(fp.insertSec)} s)`);
    out.push(`  orchestrator RSS, idle after one saga        ${f(fp.baselineRssMb)} MB`);
    out.push(
      `  with ${fp.sagas} passivated sagas on timers       ${f(fp.passivated.rssMb)} MB  -> ${f(fp.passivated.rssMbPer100k)} MB per 100k (marginal, scaled linearly)`,
    );
    out.push(
      `  idle CPU with them: orchestrator ${f(fp.passivated.idleCpuPerSec.orchestrator, 3)} s/s, store ${f(fp.passivated.idleCpuPerSec.store, 3)} s/s; start ${f(fp.passivated.startSec)} s`,
    );
    out.push(
      `  with ${fp.active.actors ?? 'n/a'} live actors, after a GC            ${f(fp.active.rssMb)} MB  -> ${f(fp.active.rssMbPer10k)} MB per 10k (activated in ${f(fp.active.activateSec)} s)`,
    );
    out.push(
      `  V8 heap after a full GC: ${f(fp.active.heapMbAfterGc)} MB with the live actors, ${f(fp.active.baselineHeapMbAfterGc)} MB idle (${f(fp.active.heapKbPerActor)} KB per actor); heap reserved ${f(fp.active.heapTotalMb)} MB, outside the heap ${f(fp.active.externalMb)} MB`,
    );
    out.push(
      `  recovery after a restart, all timers due:   ${f(fp.recovery.sec)} s for ${fp.recovery.recovered} sagas (${int(fp.recovery.sagasPerSec)}/s, ${f(fp.recovery.timerFiringsPerSaga, 2)} timer firings per saga, ${fp.recovery.maxActorsSeen} live actors at most, peak RSS ${f(fp.recovery.peakRssMb)} MB)`,
    );
    out.push(
      `  CPU during the recovery (cores busy): orchestrator ${f(fp.recovery.cpuPerSec.orchestrator, 2)}, store ${f(fp.recovery.cpuPerSec.store, 2)}, nats-server ${f(fp.recovery.cpuPerSec.nats, 2)}`,
    );
    if (fp.recovery.note) out.push(`  note: ${fp.recovery.note}`);
    out.push('');
  }
  for (const p of r.profile) {
    out.push(p.text);
    out.push('');
  }
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n');
}
