// Footprint: the orchestrator's memory with many sagas waiting on a timer (passivated) and with many
// live actors, and how long one orchestrator takes to move many running sagas after a restart.
//
// Phases: (1) an idle orchestrator (baseline) and one real saga to its first wait (the template);
// (2) N copies waiting on a timer an hour away, an orchestrator started over them: RSS, start time,
// idle CPU; (3) in a database of its own, A more copies, each sent one event that its machine ignores,
// so that A actors are activated (document loaded, kept in memory) and stay live: RSS and heap after a
// GC; (4) every timer of the N copies made due, as if the orchestrator had been down past them all,
// and a new orchestrator: time until every saga has taken its next step.
//
// The waiting sagas are copies of one document that the runtime itself wrote: a real order saga is
// started (the API's code path, `startSaga`), the orchestrator takes its first step (rev 1: stock
// reservation asked for, a 30 s step timeout armed), and that document is cloned N times with new
// ids, inserted in bulk. Nothing else differs from sagas that got there on their own.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { MongoClient } from 'mongodb';
import { defaultConfig } from '../runtime/config.ts';
import { Bus, topology } from '../runtime/messaging/index.ts';
import { type Envelope } from '../runtime/wire/index.ts';
import type { App } from '../runtime/app.ts';
import { createLogger } from '../runtime/observability/index.ts';
import { startSaga } from '../runtime/orchestrator/index.ts';
import { type SagaDoc, SagaStore } from '../runtime/store/index.ts';
import type { RoleProcess } from '../runtime/dev/index.ts';
import { roleProcess } from '../test/cluster.ts';
import { planOrders } from '../test/scale/orders.ts';
import { cpuSeconds, rssOf } from './proc.ts';
import { monoUs } from './profile.ts';
import { roleStats } from './role-stats.ts';
import { lanes, sleep } from './stats.ts';

const MB = 1024 * 1024;
/** Far enough that nothing fires during a measurement. */
const HOUR = 3_600_000;

export interface FootprintSettings {
  /** Waiting sagas for the passivated figure and running sagas for the recovery. */
  sagas: number;
  /** Live actors for the active figure (at most JETSAGA_ACTOR_MAX_LIVE, 10,000 by default). */
  activeActors: number;
  /** How long the orchestrator idles with them before its RSS is read. */
  settleMs: number;
  /** Give up on the recovery after this. */
  recoveryTimeoutMs: number;
}

export interface FootprintResult {
  sagas: number;
  docBytes: number;
  insertSec: number;
  /** The orchestrator after one saga, idle: what every figure below is compared with. */
  baselineRssMb: number | null;
  passivated: {
    rssMb: number | null;
    /** Start to ready with N sagas in the store (the start-up outbox sweep reads them all). */
    startSec: number | null;
    actorsLive: number | null;
    /** CPU seconds per second while idle with N waiting sagas (timer polls, outbox sweeps). */
    idleCpuPerSec: { orchestrator: number | null; store: number | null };
    rssMbPer100k: number | null;
  };
  recovery: {
    sec: number | null;
    /** From the orchestrator's ready signal to the last saga moved. */
    secFromReady: number | null;
    recovered: number;
    sagasPerSec: number | null;
    timerFiringsPerSaga: number | null;
    peakRssMb: number | null;
    maxActorsSeen: number;
    /** CPU seconds per second of each process from ready to the end of the recovery (1 = one core busy). */
    cpuPerSec: { orchestrator: number | null; store: number | null; nats: number | null };
    /** When profiled: the recovery's span in the orchestrator's profile (monotonic microseconds). */
    profileWindow: { fromUs: number; toUs: number } | null;
    note: string | null;
  };
  /** A actors activated by one ignored event each, still live. */
  active: {
    target: number;
    actors: number | null;
    /** From the first event published to every event handled. */
    activateSec: number | null;
    /** RSS after a full GC. */
    rssMb: number | null;
    rssMbPer10k: number | null;
    /** V8 heap in use after a full GC with these actors live, and what the baseline process had. */
    heapMbAfterGc: number | null;
    baselineHeapMbAfterGc: number | null;
    /** (heap after GC - idle heap after GC) / live actors. */
    heapKbPerActor: number | null;
    /** V8 heap reserved and memory outside it, after the GC: with heapUsed, most of the RSS. */
    heapTotalMb: number | null;
    externalMb: number | null;
  };
}

/** Reads RSS from /proc once the role has run `ms` more. */
async function settledRss(role: RoleProcess, ms: number): Promise<number | null> {
  await sleep(ms);
  const r = rssOf(role.pid);
  return r ? r.rss / MB : null;
}

export async function measureFootprint(opts: {
  natsUrl: string;
  mongoUrl: string;
  namespace: string;
  mongoDb: string;
  dist: App;
  /** The role env for a namespace and database. */
  envFor: (namespace: string, mongoDb: string) => NodeJS.ProcessEnv;
  logDir: string;
  storePid: number | undefined;
  natsPid: number | undefined;
  /** Profile the restarted orchestrator during the recovery (`--cpu-prof` into this directory). */
  profileDir?: string;
  settings: FootprintSettings;
  say: (line: string) => void;
}): Promise<FootprintResult> {
  const { settings: s, say } = opts;
  const config = defaultConfig({
    natsUrl: opts.natsUrl,
    mongoUrl: opts.mongoUrl,
    namespace: opts.namespace,
    mongoDb: opts.mongoDb,
  });
  // --expose-gc: the live-actor figure also reads the heap after a full collection.
  const orchestrator = (profile = false, env = opts.envFor(opts.namespace, opts.mongoDb)) =>
    roleProcess({
      name: 'orchestrator',
      args: ['orchestrator'],
      script: 'bench/role-main.ts',
      ipc: true,
      env,
      logDir: opts.logDir,
      nodeFlags: [
        '--expose-gc',
        ...(profile && opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : []),
      ],
    });
  const mongo = new MongoClient(opts.mongoUrl);
  await mongo.connect();
  const sagas = mongo.db(opts.mongoDb).collection<SagaDoc>('sagas');
  const nc = await connect({ servers: opts.natsUrl.split(','), name: 'jetsaga-bench-footprint' });
  const jsm = await jetstreamManager(nc);
  const cmdStream = topology(opts.namespace).streams.cmd;
  const log = createLogger('warn', { app: 'jetsaga-bench' }, 2);
  let role: RoleProcess | undefined;
  try {
    // 1. The idle orchestrator's RSS (no saga yet: the same state as the passivated run below, minus
    //    the waiting sagas), then one real saga to its first wait, as the template.
    role = orchestrator();
    await role.start();
    const baselineRssMb = await settledRss(role, s.settleMs);
    const baselineStats = await roleStats(role, { gc: true });
    const baselineHeap = baselineStats ? baselineStats.heapUsedBytes / MB : null;
    const bus = await Bus.connect(config, log, 'jetsaga-bench-footprint');
    const store = new SagaStore(mongo.db(opts.mongoDb));
    const order = planOrders(1, 1, `fp${opts.namespace}`)[0]!.input;
    const { sagaId } = await startSaga(
      { store, bus, registry: opts.dist.registry },
      {
        type: 'order-fulfillment',
        input: order,
      },
    );
    await bus.close();
    let template: SagaDoc | null = null;
    for (let i = 0; i < 200 && !template; i++) {
      const doc = await sagas.findOne({ _id: sagaId });
      if (doc && doc.rev >= 1 && Object.keys(doc.outbox).length === 0 && Object.keys(doc.timers).length > 0)
        template = doc;
      else await sleep(50);
    }
    if (!template) throw new Error('the template saga did not reach its first wait');
    await role.stop();

    // 2. N copies waiting on a timer an hour away, inserted in bulk.
    const docBytes = Buffer.byteLength(JSON.stringify(template));
    const clone = cloner(template, sagaId, order.orderId ?? sagaId);
    // The original would fire its own 30 s timer during the recovery and be counted with the copies.
    await sagas.deleteOne({ _id: sagaId });
    const insertWaiting = async (into: typeof sagas, prefix: string, count: number) => {
      const dueAt = new Date(Date.now() + HOUR);
      for (let i = 0; i < count; i += 1000) {
        const docs = Array.from({ length: Math.min(1000, count - i) }, (_, k) =>
          clone(`${prefix}-${i + k}`, dueAt),
        );
        await into.insertMany(docs, { ordered: false });
      }
    };
    const t0 = performance.now();
    await insertWaiting(sagas, 'fp', s.sagas);
    const insertSec = (performance.now() - t0) / 1000;
    say(`  inserted ${s.sagas} waiting sagas (${docBytes} bytes each) in ${insertSec.toFixed(1)} s`);

    // 2b. An orchestrator with N passivated sagas: RSS, start time, idle CPU.
    role = orchestrator();
    const s0 = performance.now();
    await role.start();
    const startSec = (performance.now() - s0) / 1000;
    const cpu0 = { o: cpuSeconds(role.pid), m: cpuSeconds(opts.storePid), at: performance.now() };
    const passivatedRss = await settledRss(role, s.settleMs);
    const idleSecs = (performance.now() - cpu0.at) / 1000;
    const cpu1 = { o: cpuSeconds(role.pid), m: cpuSeconds(opts.storePid) };
    const idle = (a: number | null, b: number | null) =>
      a === null || b === null ? null : (b - a) / idleSecs;
    const passiveStats = await roleStats(role);
    await role.stop();
    const marginal = (rss: number | null, n: number, per: number) =>
      rss === null || baselineRssMb === null || n === 0
        ? null
        : baselineRssMb + (Math.max(0, rss - baselineRssMb) * per) / n;
    say(
      `  passivated: ${s.sagas} waiting sagas, orchestrator RSS ${passivatedRss?.toFixed(0)} MB (baseline ${baselineRssMb?.toFixed(0)} MB)`,
    );

    // 3. A live actors, in a namespace and database of their own (so that the N copies above neither
    //    slow their loading down nor receive these events): one event per saga that its machine
    //    ignores, which loads the document into a new actor and keeps it there (idle timeout 30 s).
    const nsA = `${opts.namespace}a`;
    const dbA = `${opts.mongoDb}_a`;
    const sagasA = mongo.db(dbA).collection<SagaDoc>('sagas');
    await insertWaiting(sagasA, 'fa', s.activeActors);
    role = orchestrator(false, opts.envFor(nsA, dbA));
    await role.start();
    const busA = await Bus.connect({ ...config, namespace: nsA, mongoDb: dbA }, log, 'jetsaga-bench-touch');
    const a0 = performance.now();
    let next = 0;
    await lanes(
      64,
      () => next >= s.activeActors,
      async () => {
        const id = `fa-${next++}`;
        const env: Envelope = {
          id: `${id}:bench-touch`,
          type: 'bench.touch',
          schemaVersion: 1,
          occurredAt: new Date().toISOString(),
          sagaId: id,
          sagaType: template.type,
          correlationId: id,
          causationId: null,
          data: {},
        };
        await busA.publish('evt.bench.touch', env, env.id);
      },
    );
    await busA.close();
    let activateSec: number | null = null;
    const activeDeadline = performance.now() + s.recoveryTimeoutMs;
    while (performance.now() < activeDeadline) {
      const st = await roleStats(role);
      if (st && st.processed >= s.activeActors) {
        activateSec = (performance.now() - a0) / 1000;
        break;
      }
      await sleep(200);
    }
    const afterGc = await roleStats(role, { gc: true });
    const rssAfterGc = rssOf(role.pid);
    const activeRssMb = rssAfterGc ? rssAfterGc.rss / MB : null;
    const activeActors = afterGc?.actorsLive ?? null;
    await role.stop();
    await mongo
      .db(dbA)
      .dropDatabase()
      .catch(() => undefined);
    for (const stream of Object.values(topology(nsA).streams))
      await jsm.streams.delete(stream).catch(() => undefined);
    say(
      `  live actors: ${activeActors} of ${s.activeActors} activated${activateSec === null ? ' (not all events handled in time)' : ` in ${activateSec.toFixed(1)} s`}, RSS ${activeRssMb?.toFixed(0)} MB after a GC`,
    );

    // 4. Every timer due at once (as if the orchestrator had been down past them all), then a restart.
    const past = new Date(Date.now() - 1000);
    const timerSet: Record<string, Date> = { nextWakeAt: past };
    for (const key of Object.keys(template.timers)) timerSet[`timers.${key}.dueAt`] = past;
    // Every document of this database is a copy (the original was deleted above).
    await sagas.updateMany({}, { $set: timerSet });
    // Counted by sequence, not by messages kept: with no participant running here, the
    // orchestrator's unrouted guard dead-letters (and removes) commands nobody reads after its
    // grace period, which would make a slow recovery look unfinished.
    const cmdBefore = (await jsm.streams.info(cmdStream)).state.last_seq;
    role = orchestrator(true);
    const r0 = performance.now();
    const r0Us = monoUs();
    await role.start();
    const ready = performance.now();
    let recovered = 0;
    let peakRss = 0;
    let maxActors = 0;
    let timersFired: number | null = null;
    const deadline = r0 + s.recoveryTimeoutMs;
    let done: number | null = null;
    const rc0 = {
      o: cpuSeconds(role.pid),
      m: cpuSeconds(opts.storePid),
      n: cpuSeconds(opts.natsPid),
      at: performance.now(),
    };
    let lastSample = 0;
    while (performance.now() < deadline) {
      recovered = (await jsm.streams.info(cmdStream)).state.last_seq - cmdBefore;
      const now = performance.now();
      if (recovered >= s.sagas) {
        done = now;
      }
      if (done !== null || now - lastSample > 1000) {
        lastSample = now;
        const st = await roleStats(role);
        const rss = rssOf(role.pid);
        if (rss) peakRss = Math.max(peakRss, rss.rss);
        if (st) {
          timersFired = st.timersFired;
          if (st.actorsLive !== null) maxActors = Math.max(maxActors, st.actorsLive);
        }
      }
      if (done !== null) break;
      await sleep(100);
    }
    const recSpan = (performance.now() - rc0.at) / 1000;
    const rate = (a: number | null, b: number | null) =>
      a === null || b === null ? null : (b - a) / recSpan;
    const recoveryCpuPerSec = {
      orchestrator: rate(rc0.o, cpuSeconds(role.pid)),
      store: rate(rc0.m, cpuSeconds(opts.storePid)),
      nats: rate(rc0.n, cpuSeconds(opts.natsPid)),
    };
    const recSec = done === null ? null : (done - r0) / 1000;
    const recoveryWindow = { fromUs: r0Us, toUs: monoUs() };
    say(
      recSec === null
        ? `  recovery: only ${recovered} of ${s.sagas} sagas moved within ${s.recoveryTimeoutMs / 1000} s`
        : `  recovery: ${s.sagas} sagas moved in ${recSec.toFixed(1)} s (${maxActors} live actors at most)`,
    );
    await role.stop();
    role = undefined;
    return {
      sagas: s.sagas,
      docBytes,
      insertSec,
      baselineRssMb,
      passivated: {
        rssMb: passivatedRss,
        startSec,
        actorsLive: passiveStats?.actorsLive ?? null,
        idleCpuPerSec: { orchestrator: idle(cpu0.o, cpu1.o), store: idle(cpu0.m, cpu1.m) },
        rssMbPer100k: marginal(passivatedRss, s.sagas, 100_000),
      },
      recovery: {
        sec: recSec,
        secFromReady: done === null ? null : (done - ready) / 1000,
        recovered,
        sagasPerSec: recSec === null ? null : s.sagas / recSec,
        timerFiringsPerSaga: timersFired === null ? null : timersFired / s.sagas,
        peakRssMb: peakRss ? peakRss / MB : null,
        maxActorsSeen: maxActors,
        profileWindow: opts.profileDir ? recoveryWindow : null,
        cpuPerSec: recoveryCpuPerSec,
        note:
          done === null
            ? `only ${recovered} of ${s.sagas} sagas moved within ${s.recoveryTimeoutMs / 1000} s`
            : null,
      },
      active: {
        target: s.activeActors,
        actors: activeActors,
        activateSec,
        rssMb: activeRssMb,
        rssMbPer10k: activeActors ? marginal(activeRssMb, activeActors, 10_000) : null,
        heapMbAfterGc: afterGc ? afterGc.heapUsedBytes / MB : null,
        baselineHeapMbAfterGc: baselineHeap,
        heapTotalMb: afterGc ? afterGc.heapTotalBytes / MB : null,
        externalMb: afterGc ? afterGc.externalBytes / MB : null,
        heapKbPerActor:
          afterGc && baselineHeap !== null && activeActors
            ? ((afterGc.heapUsedBytes / MB - baselineHeap) * 1024) / activeActors
            : null,
      },
    };
  } finally {
    await role?.stop();
    await mongo.close().catch(() => undefined);
    await nc.drain().catch(() => nc.close());
  }
}

/**
 * Copies of a saga document under new ids: every occurrence of the saga id and the order id in the
 * document is replaced (inbox entries, correlation id, context, snapshot), the timers are set to `dueAt`,
 * and the step timeout in the context is made an hour long so that a recovered saga's next timer does
 * not fire during the measurement.
 */
function cloner(template: SagaDoc, sagaId: string, orderId: string): (id: string, dueAt: Date) => SagaDoc {
  const json = JSON.stringify(template).split(sagaId).join('\u0001').split(orderId).join('\u0002');
  return (id, dueAt) => {
    const doc = JSON.parse(json.split('\u0001').join(id).split('\u0002').join(`${id}-order`)) as SagaDoc;
    const now = new Date();
    doc.createdAt = now;
    doc.updatedAt = now;
    doc.nextWakeAt = dueAt;
    doc.endedAt = null;
    delete doc.outboxAt;
    for (const t of Object.values(doc.timers)) t.dueAt = dueAt;
    const longer = (ctx: unknown) => {
      if (ctx && typeof ctx === 'object' && 'stepTimeoutMs' in ctx)
        (ctx as { stepTimeoutMs: number }).stepTimeoutMs = HOUR;
    };
    longer(doc.context);
    longer((doc.snapshot as { context?: unknown } | null)?.context);
    return doc;
  };
}
