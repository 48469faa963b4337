// End to end: the roles as processes (test/cluster.ts), order-fulfillment sagas started through the HTTP
// API by a closed loop of N workers (start one, wait until it is terminal, start the next), and what each
// saga cost: CPU seconds per process, stream messages, MongoDB writes and calls.
import http from 'node:http';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Collection } from 'mongodb';
import { idempotencyKeyHeader } from '../runtime/http/idempotency.ts';
import { topology } from '../runtime/messaging/index.ts';
import type { SagaDoc } from '../runtime/store/index.ts';
import type { Cluster } from '../test/cluster.ts';
import { hotPopulation, planOrders, type Population, shopPopulation } from '../test/scale/orders.ts';
import type { OrderInput } from '../sagas/order-fulfillment/index.ts';
import { type HopBreakdown, hopBreakdown, type StreamMarks } from './diagnostics/hops.ts';
import { cpuSeconds, type MachineTicks, machineTicks } from './proc.ts';
import { type MongoCounts, roleStats } from './role-stats.ts';
import { round, sleep, summarize } from './stats.ts';

const terminal = ['completed', 'compensated', 'failed', 'cancelled'];

/**
 * Who places the bench's orders (`--mix`): `shop`, a shop's many customers with a card each (the
 * default), or `hot`, the scale test's 50 customers on one shared test card, where every fraud
 * verdict reads a full history (see test/scale/orders.ts).
 */
export type OrderMix = 'shop' | 'hot';
export const orderMixes: Record<OrderMix, Population> = { shop: shopPopulation, hot: hotPopulation };

/** An unbounded, reproducible order mix (test/scale/orders.ts), in chunks with unique order ids. */
export function orderSource(seed: number, prefix: string, population: Population): () => OrderInput {
  let chunk = 0;
  let queue: OrderInput[] = [];
  return () => {
    if (queue.length === 0) {
      queue = planOrders(1000, seed + chunk, `${prefix}-${chunk}`, population).map((o) => o.input);
      chunk++;
    }
    return queue.shift()!;
  };
}

/** POSTs orders to the API over kept-alive sockets. */
export class ApiClient {
  private readonly agent: http.Agent;
  private readonly url: URL;

  constructor(base: string, maxSockets: number) {
    this.url = new URL('/v1/saga-types/order-fulfillment/sagas', base);
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  /**
   * Starts one order. A keep-alive socket the server closes (after 5 s idle) just as it is reused
   * resets the request; at concurrency 256 hundreds of sockets idle that long between a worker's
   * sagas. The request is then sent again with the same `Idempotency-Key` (the order id), so a
   * request that did reach the API starts its saga once.
   */
  async start(order: OrderInput): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.post(order);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (attempt >= 3 || (code !== 'ECONNRESET' && code !== 'EPIPE')) throw err;
      }
    }
  }

  private post(order: OrderInput): Promise<string> {
    const body = JSON.stringify(order);
    return new Promise((resolve, reject) => {
      const req = http.request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            [idempotencyKeyHeader]: order.orderId,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            if (res.statusCode !== 202)
              reject(new Error(`start failed: ${res.statusCode} ${text.slice(0, 500)}`));
            else resolve((JSON.parse(text) as { sagaId: string }).sagaId);
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface Finished {
  sagaId: string;
  status: string;
  reason: string | null;
  /** Server side: createdAt -> endedAt of the saga document. */
  serverMs: number;
  /** When this process saw it terminal (performance.now()). */
  seenAt: number;
}

/** The longest the watcher waits between two polls: how late it may see a saga end at worst. */
const maxPollGapMs = 500;

/**
 * The wait between two polls of `pending` sagas: 1 ms per pending saga, at least `minGapMs`, at most
 * half a second. Each poll reads every pending saga's document, so the store reads about a thousand
 * documents a second for the watcher whatever the concurrency, and all of that is counted as the
 * store's CPU per saga. Polling every 5 ms read 12,800 documents a second at concurrency 64; a gap
 * capped at 50 ms still read 5,000 a second at 256, some 25 documents per saga (JOURNAL.md, twelfth
 * pass). The price: a saga's end is seen up to `pending` ms late, which delays only its worker's
 * next start; latencies are read from the documents.
 */
export function pollGapMs(pending: number, minGapMs: number): number {
  return Math.max(minGapMs, Math.min(maxPollGapMs, pending));
}

/**
 * Waits for sagas to become terminal with one query for all pending ids at a time (not one poll
 * per saga), paced so that the load it adds to the store does not grow with the concurrency.
 */
export class TerminalWatcher {
  private readonly pending = new Map<string, { resolve: (f: Finished) => void; since: number }>();
  private running = true;
  private wake?: () => void;
  private readonly loop: Promise<void>;
  queries = 0;
  /** Polls the store failed; the sagas they were for stay pending and the next poll asks again. */
  failedQueries = 0;
  lastFailure: string | null = null;

  constructor(
    readonly sagas: Collection<SagaDoc>,
    private readonly gapMs: number,
    private readonly timeoutMs: number,
  ) {
    this.loop = this.run();
  }

  wait(sagaId: string): Promise<Finished> {
    return new Promise((resolve) => {
      this.pending.set(sagaId, { resolve, since: performance.now() });
      this.wake?.();
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.pending.size === 0) {
        await new Promise<void>((r) => {
          this.wake = r;
          setTimeout(r, 50);
        });
        this.wake = undefined;
        continue;
      }
      const ids = [...this.pending.keys()];
      const t0 = performance.now();
      // `_id` alone: the MongoDB-wire server uses its _id index only when nothing else is in the
      // filter (with a status condition beside it, every poll scanned the whole collection).
      const docs = await this.sagas
        .find(
          { _id: { $in: ids } },
          { projection: { status: 1, reason: 1, createdAt: 1, endedAt: 1, updatedAt: 1 } },
        )
        .toArray()
        .catch((err: unknown) => {
          // One failed read must not end the run (the local store failed reads with "Chunk N not
          // found", an H2 race, before it pinned them): the sagas stay pending for the next poll.
          this.failedQueries++;
          this.lastFailure = err instanceof Error ? err.message : String(err);
          return [];
        });
      this.queries++;
      const now = performance.now();
      for (const d of docs) {
        if (!terminal.includes(d.status)) continue;
        const p = this.pending.get(d._id);
        if (!p) continue;
        this.pending.delete(d._id);
        const end = d.endedAt ?? d.updatedAt;
        p.resolve({
          sagaId: d._id,
          status: d.status,
          reason: d.reason ?? null,
          serverMs: end.getTime() - d.createdAt.getTime(),
          seenAt: now,
        });
      }
      for (const [id, p] of this.pending) {
        if (now - p.since > this.timeoutMs) {
          this.pending.delete(id);
          p.resolve({ sagaId: id, status: 'timeout', reason: null, serverMs: Number.NaN, seenAt: now });
        }
      }
      const gap = pollGapMs(ids.length, this.gapMs);
      const spent = performance.now() - t0;
      if (spent < gap) await sleep(gap - spent);
    }
  }

  async close(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }
}

/** Where every CPU second and every operation went, read before and after a run. */
export interface Snapshot {
  at: number;
  cpu: Record<string, number | null>;
  mongo: Record<string, MongoCounts | null>;
  messages: { cmd: number; evt: number; dlq: number };
  /** The streams' last sequences: the messages after them are the level's (hops.ts, legs). */
  lastSeq: { cmd: number; evt: number };
  /** The machine's CPU time from /proc/stat (all processes, in clock ticks): null where there is none. */
  machine: MachineTicks | null;
}

export interface Observed {
  cluster: Cluster;
  /** Other processes whose CPU counts: nats-server, the MongoDB-wire server, this harness. */
  others: Record<string, number | undefined>;
  jsm: JetStreamManager;
  namespace: string;
}

function streamMarks(o: Observed, before: Snapshot): StreamMarks {
  const topo = topology(o.namespace);
  return {
    jsm: o.jsm,
    cmd: { stream: topo.streams.cmd, afterSeq: before.lastSeq.cmd },
    evt: { stream: topo.streams.evt, afterSeq: before.lastSeq.evt },
  };
}

export async function snapshot(o: Observed): Promise<Snapshot> {
  const topo = topology(o.namespace);
  const state = async (name: string) => (await o.jsm.streams.info(name)).state;
  const [cmd, evt, dlq] = await Promise.all([
    state(topo.streams.cmd),
    state(topo.streams.evt),
    state(topo.streams.dlq),
  ]);
  const stats = await Promise.all(o.cluster.list().map(async (r) => [r.name, await roleStats(r)] as const));
  const cpu = cpuByProcess(o);
  return {
    at: performance.now(),
    machine: machineTicks(),
    cpu,
    mongo: Object.fromEntries(stats.map(([name, s]) => [name, s?.mongo ?? null])),
    messages: { cmd: cmd.messages, evt: evt.messages, dlq: dlq.messages },
    lastSeq: { cmd: cmd.last_seq, evt: evt.last_seq },
  };
}

export interface LevelResult {
  concurrency: number;
  /** New sagas are started during this window; the level ends when the last of them is terminal. */
  windowSec: number;
  /** From the first start to the last saga seen terminal. */
  elapsedSec: number;
  sagasPerSec: number;
  /** Sagas started in this level (including those finished while draining after the window). */
  sagas: number;
  outcomes: Record<string, number>;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  /** Per saga of this level. */
  cpuSecPerSaga: Record<string, number | null>;
  cpuSecPerSagaTotal: number | null;
  messagesPerSaga: number;
  deadLetters: number;
  storeWritesPerSaga: number | null;
  storeWritesPerSagaByRole: Record<string, number>;
  storeCommandsPerSaga: number | null;
  storeCommandsByName: Record<string, number>;
  storeCallsPerSagaByRole: Record<string, Record<string, number>>;
  /** Store calls per saga by `<collection>.<method>`, all roles together (the same in either layout). */
  storeCallsPerSagaByCollection: Record<string, number>;
  watcherQueriesPerSaga: number;
  /** Watcher polls that failed during the level (retried by the next poll), and the last error. */
  watcherFailedQueries: { count: number; last: string | null };
  /** Latency by outcome and the gap before each transition (when `history` was given). */
  hops: HopBreakdown | null;
  /** The wait before the level for the processes to go quiet (`settle`). */
  settle: Settled | null;
  /**
   * The whole machine during the level, from /proc/stat: share of its CPU time busy, and stolen
   * by the hypervisor (other virtual machines on the same host). A level with a few percent of
   * steal ran on a contended host; compare its latencies with care.
   */
  machine: { busyPct: number; stealPct: number } | null;
}

export interface Settled {
  /** How long the wait took. */
  sec: number;
  /** CPU of the measured processes in the last sample, in cores. */
  busyCores: number;
  /** False when they were still busy when the wait gave up. */
  quiet: boolean;
}

/**
 * CPU seconds so far of each measured process: every role, then the others (nats-server, the
 * store, this harness: its own from Node, the rest from /proc); null where it cannot be read.
 */
function cpuByProcess(o: Observed): Record<string, number | null> {
  const cpu: Record<string, number | null> = {};
  for (const r of o.cluster.list()) cpu[r.name] = cpuSeconds(r.pid);
  for (const [name, pid] of Object.entries(o.others)) {
    if (pid !== process.pid) cpu[name] = cpuSeconds(pid);
    else {
      const u = process.cpuUsage();
      cpu[name] = (u.user + u.system) / 1e6;
    }
  }
  return cpu;
}

/** All the measured processes' CPU seconds so far. */
function cpuNow(o: Observed): number {
  return Object.values(cpuByProcess(o)).reduce<number>((sum, v) => sum + (v ?? 0), 0);
}

/** Below this much CPU (in cores) the measured processes count as quiet (`settle`). */
export const quietCores = 0.15;

/**
 * Waits until the measured processes are quiet: their CPU, sampled every 250 ms, under
 * `quietCores` twice in a row, or `maxMs` passed. Whatever ran before a level (its warm-up's
 * last copies and clears, the raw bounds' dropped database and deleted stream, the store's
 * background writer) then finishes before the level's counters are read, instead of inside
 * them. On the 2-core machine this takes 0.5-1.5 s.
 */
export async function settle(o: Observed, maxMs = 30_000): Promise<Settled> {
  const start = performance.now();
  let quietSamples = 0;
  let busyCores = Number.NaN;
  let last = { at: performance.now(), cpu: cpuNow(o) };
  while (performance.now() - start < maxMs) {
    await sleep(250);
    const now = { at: performance.now(), cpu: cpuNow(o) };
    busyCores = (now.cpu - last.cpu) / ((now.at - last.at) / 1000);
    last = now;
    quietSamples = busyCores < quietCores ? quietSamples + 1 : 0;
    if (quietSamples >= 2) break;
  }
  return {
    sec: round((performance.now() - start) / 1000, 1)!,
    busyCores: round(busyCores, 3)!,
    quiet: quietSamples >= 2,
  };
}

/** One closed-loop run at `concurrency` for `windowMs`, then a drain of the sagas still in flight. */
export async function runLevel(opts: {
  concurrency: number;
  windowMs: number;
  api: ApiClient;
  watcher: TerminalWatcher;
  nextOrder: () => OrderInput;
  observed: Observed;
  measure: boolean;
  /** Read the finished sagas' history for the hop breakdown (after the counters are taken). */
  hops?: boolean;
  /** The longest wait for quiet before a measured level (`settle`). */
  settleMaxMs?: number;
}): Promise<LevelResult> {
  const { concurrency, windowMs, api, watcher } = opts;
  const settled = opts.measure ? await settle(opts.observed, opts.settleMaxMs) : null;
  const before = opts.measure ? await snapshot(opts.observed) : undefined;
  // At concurrency 1 each hop is also split into legs (hops.ts), from the messages of this level.
  const marks = before && opts.hops && concurrency === 1 ? streamMarks(opts.observed, before) : undefined;
  const queries0 = watcher.queries;
  const failed0 = watcher.failedQueries;
  const start = performance.now();
  const end = start + windowMs;
  const finished: Finished[] = [];
  let errors = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        let sagaId: string;
        try {
          sagaId = await api.start(opts.nextOrder());
        } catch (err) {
          if (++errors > 20) throw err;
          await sleep(50);
          continue;
        }
        finished.push(await watcher.wait(sagaId));
      }
    }),
  );
  // The last terminal transition may still be writing its history; let the processes settle so
  // the counters below hold every operation of these sagas and nothing of the next level.
  await sleep(300);
  const after = opts.measure ? await snapshot(opts.observed) : undefined;
  const n = finished.length;
  const lastSeen = finished.reduce((m, f) => Math.max(m, f.seenAt), start);
  const elapsedSec = (lastSeen - start) / 1000;
  const outcomes: Record<string, number> = {};
  for (const f of finished) outcomes[f.status] = (outcomes[f.status] ?? 0) + 1;
  if (errors > 0) outcomes['start-error'] = errors;
  const lat = summarize(finished.map((f) => f.serverMs).filter(Number.isFinite));
  const perSaga = (v: number | null) => (v === null || n === 0 ? null : v / n);
  const cpuSecPerSaga: Record<string, number | null> = {};
  let cpuTotal: number | null = 0;
  let writes: number | null = 0;
  let commands: number | null = 0;
  const byName: Record<string, number> = {};
  const writesByRole: Record<string, number> = {};
  const callsByRole: Record<string, Record<string, number>> = {};
  const callsByCollection: Record<string, number> = {};
  if (before && after) {
    for (const key of Object.keys(after.cpu)) {
      const a = after.cpu[key];
      const b = before.cpu[key];
      const d = a === null || a === undefined || b === null || b === undefined ? null : a - b;
      cpuSecPerSaga[key] = round(perSaga(d), 5);
      if (d === null) cpuTotal = null;
      else if (cpuTotal !== null) cpuTotal += d;
    }
    for (const key of Object.keys(after.mongo)) {
      const a = after.mongo[key];
      const b = before.mongo[key];
      if (!a || !b) {
        writes = null;
        commands = null;
        continue;
      }
      if (writes !== null) writes += a.writes - b.writes;
      if (a.writes - b.writes > 0) writesByRole[key] = round(n ? (a.writes - b.writes) / n : 0, 2)!;
      for (const [name, c] of Object.entries(a.commands)) {
        const d = c - (b.commands[name] ?? 0);
        if (d === 0) continue;
        byName[name] = (byName[name] ?? 0) + d;
        (callsByRole[key] ??= {})[name] = round(n ? d / n : 0, 2)!;
        if (commands !== null) commands += d;
      }
      for (const [call, c] of Object.entries(a.calls)) {
        const d = c - (b.calls[call] ?? 0);
        if (d !== 0) callsByCollection[call] = (callsByCollection[call] ?? 0) + d;
      }
    }
  }
  const hops = opts.hops ? await hopBreakdown(watcher.sagas, finished, 2000, marks) : null;
  const msgs =
    before && after ? after.messages.cmd + after.messages.evt - before.messages.cmd - before.messages.evt : 0;
  return {
    concurrency,
    windowSec: windowMs / 1000,
    elapsedSec,
    sagasPerSec: elapsedSec > 0 ? n / elapsedSec : 0,
    sagas: n,
    outcomes,
    latencyMs: lat,
    cpuSecPerSaga,
    cpuSecPerSagaTotal: round(perSaga(cpuTotal), 5),
    messagesPerSaga: n ? msgs / n : 0,
    deadLetters: before && after ? after.messages.dlq - before.messages.dlq : 0,
    storeWritesPerSaga: perSaga(writes),
    storeWritesPerSagaByRole: writesByRole,
    storeCommandsPerSaga: perSaga(commands),
    storeCommandsByName: perSagaLargestFirst(byName, n),
    storeCallsPerSagaByRole: callsByRole,
    storeCallsPerSagaByCollection: perSagaLargestFirst(callsByCollection, n),
    watcherQueriesPerSaga: n ? (watcher.queries - queries0) / n : 0,
    watcherFailedQueries: {
      count: watcher.failedQueries - failed0,
      last: watcher.failedQueries > failed0 ? watcher.lastFailure : null,
    },
    hops,
    settle: settled,
    machine: machineShare(before?.machine ?? null, after?.machine ?? null),
  };
}

/** Counts over a level's `n` sagas, per saga, largest first. */
function perSagaLargestFirst(counts: Record<string, number>, n: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(counts)
      .sort((x, y) => y[1] - x[1])
      .map(([k, v]) => [k, round(n ? v / n : 0, 2)!]),
  );
}

function machineShare(a: MachineTicks | null, b: MachineTicks | null): LevelResult['machine'] {
  if (!a || !b || b.total <= a.total) return null;
  const total = b.total - a.total;
  return {
    busyPct: round((100 * (total - (b.idle - a.idle))) / total, 1)!,
    stealPct: round((100 * (b.steal - a.steal)) / total, 1)!,
  };
}
