// `npm run bench [-- --quick] [-- --profile [all]]`: jetsaga against the raw limits of NATS JetStream and
// MongoDB, measured in one run on this machine. Progress goes to stderr; the table, then one JSON line
// (the last line of stdout), go to stdout; the whole result goes to bench/results/latest.json.
// See bench/README.md for what each figure means.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { BSON, type Db, MongoClient } from 'mongodb';
import { defaultConfig } from '../runtime/config.ts';
import { resolveInfra } from '../runtime/dev/index.ts';
import { topology } from '../runtime/messaging/index.ts';
import { type Envelope } from '../runtime/wire/index.ts';
import type { HistoryEntry, SagaDoc } from '../runtime/store/index.ts';
import { appForTests as benchApp } from '../test/dist.ts';
import { chainPercentiles } from './chain-tail.ts';
import {
  ApiClient,
  Cluster,
  type LevelResult,
  type Observed,
  type OrderMix,
  orderMixes,
  orderSource,
  roleArgs,
  runLevel,
  TerminalWatcher,
  type Layout,
} from './e2e.ts';
import { type FootprintResult, measureFootprint } from './footprint.ts';
import { formatProfile, monoUs, summarizeProfile } from './profile.ts';
import { measureRaw, type RawResult } from './raw.ts';
import { type BenchResult, formatTable } from './report.ts';
import { killAllRoles, repoRoot } from './roles.ts';
import { round } from './stats.ts';
import { storeHeapCollector } from './store-heap.ts';

interface Args {
  quick: boolean;
  profile: 'off' | 'orchestrator' | 'all';
  out: string;
  levels: number[];
  windowSec: number;
  warmupSec: number;
  levelWarmupSec: number;
  footprintSagas: number;
  activeActors: number;
  seed: number;
  layout: Layout;
  mix: OrderMix;
}

const usage = `usage: npm run bench -- [--quick] [--profile [all]] [--levels 1,16,64,256] [--window-sec N]
                       [--warmup-sec N] [--level-warmup-sec N] [--footprint-sagas N] [--active-actors N] [--seed N] [--mix shop|hot] [--layout roles|all] [--out FILE]
  --quick            short run (CI): concurrency 1, 16, 64 for 3 s each, 2,000 footprint sagas
  --warmup-sec       unmeasured run at concurrency 16 before the raw bounds (default 30; 2 with --quick)
  --level-warmup-sec unmeasured run at each level's own concurrency right before it (default 20; 1 with --quick)
  --profile          run the orchestrator (or every role with "all") under --cpu-prof and summarise it
  --footprint-sagas  waiting sagas for the passivated and recovery figures; 0 skips the footprint (null)
  --active-actors    live actors for the active figure (default 10,000; 2,000 with --quick)
  --mix              who orders: shop (default), 100,000 customers with a card each; hot, 50 customers
                     sharing one test card (the fraud agent's worst case: full histories, a shared card)
  --layout           roles: one process per role (default, as deploy/k8s); all: every role in one
                     process (jetsaga all); the footprint's orchestrator runs alone either way`;

function parseArgs(argv: string[]): Args {
  const quick = argv.includes('--quick');
  const a: Args = {
    quick,
    profile: 'off',
    out: path.join(repoRoot, 'bench/results/latest.json'),
    // Quick: no 256, whose every worker must see at least one saga through (a long tail on a slow store).
    levels: quick ? [1, 16, 64] : [1, 16, 64, 256],
    windowSec: quick ? 3 : 20,
    // The store's JVM is still compiling for a minute of load (bench/JOURNAL.md, fourth pass): the
    // levels measure the steady state, as a deployment that has been up for a while runs.
    warmupSec: quick ? 2 : 30,
    levelWarmupSec: quick ? 1 : 20,
    footprintSagas: quick ? 2_000 : 100_000,
    activeActors: quick ? 2_000 : 10_000,
    seed: 42,
    layout: 'roles',
    mix: 'shop',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const num = (name: string) => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${name} needs a number (got ${argv[i]})`);
      return v;
    };
    if (arg === '--quick') continue;
    else if (arg === '--profile') {
      a.profile = argv[i + 1] === 'all' ? 'all' : 'orchestrator';
      if (argv[i + 1] === 'all' || argv[i + 1] === 'orchestrator') i++;
    } else if (arg === '--out') a.out = path.resolve(argv[++i] ?? '');
    else if (arg === '--levels')
      a.levels = (argv[++i] ?? '').split(',').map((s) => {
        const n = Number(s);
        if (!Number.isInteger(n) || n < 1) throw new Error(`--levels takes positive integers (got ${s})`);
        return n;
      });
    else if (arg === '--window-sec') a.windowSec = num(arg);
    else if (arg === '--warmup-sec') a.warmupSec = num(arg);
    else if (arg === '--level-warmup-sec') a.levelWarmupSec = num(arg);
    else if (arg === '--footprint-sagas') a.footprintSagas = Math.floor(num(arg));
    else if (arg === '--active-actors') a.activeActors = Math.max(1, Math.floor(num(arg)));
    else if (arg === '--seed') a.seed = Math.floor(num(arg));
    else if (arg === '--mix') {
      const v = argv[++i];
      if (v !== 'shop' && v !== 'hot') throw new Error(`--mix takes shop or hot (got ${v})`);
      a.mix = v;
    } else if (arg === '--layout') {
      const v = argv[++i];
      if (v !== 'roles' && v !== 'all') throw new Error(`--layout takes roles or all (got ${v})`);
      a.layout = v;
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    } else throw new Error(`unknown option ${arg}\n${usage}`);
  }
  return a;
}

/** `CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile`: the main thread is thread 0. */
function mainThreadProfile(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const main = files.find((f) => f.split('.')[4] === '0');
  if (!main) throw new Error(`no main-thread profile in ${dir} (found ${files.join(', ') || 'none'})`);
  return path.join(dir, main);
}

/**
 * Store calls a saga makes beside its chain of waits rather than in it, by collection and call (so
 * the count is the same whether the roles run in one process or in many): the orchestrator's
 * history copies (`saga_history.insertMany`), outbox clears (`sagas.bulkWrite`; alone at
 * concurrency 1, where commits are single `updateOne`s) and timer polls and sweeps (`sagas.find`),
 * the API's clear of the start event (`sagas.bulkWrite` too), and the fraud agent's history reads
 * (`find` on its two collections, made while it records the payment). Everything else is a call
 * some step waits for.
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
function withoutSamples(r: RawResult): RawResult {
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
function bestRaw(passes: RawResult[]): RawResult | null {
  if (passes.length === 0) return null;
  const by = <T>(pick: (r: RawResult) => T, better: (a: T, b: T) => boolean) =>
    passes.reduce((a, b) => (better(pick(b), pick(a)) ? b : a));
  const lower = (a: number | null, b: number | null) => a !== null && (b === null || a < b);
  const syncPub = by((r) => r.publish.syncP50Ms, lower);
  const pipe = by(
    (r) => r.publish.pipelinedPerSec,
    (a, b) => a > b,
  );
  const cons = by(
    (r) => r.consume.perSec,
    (a, b) => a > b,
  );
  const storeLat = by((r) => r.store.latencyP50Ms, lower);
  const storeTput = by(
    (r) => r.store.maxPerSec,
    (a, b) => a > b,
  );
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

/**
 * The largest document of each collection after the end-to-end levels: a document that every saga
 * updates and that grows with every saga (a hot spot) shows here.
 */
async function largestDocuments(database: Db): Promise<BenchResult['largestDocs']> {
  const out: BenchResult['largestDocs'] = [];
  for (const { name } of await database.listCollections({}, { nameOnly: true }).toArray()) {
    let docs = 0;
    let max = 0;
    let maxId = '';
    for await (const doc of database.collection(name).find({}).limit(50_000)) {
      docs++;
      const size = BSON.calculateObjectSize(doc);
      if (size > max) {
        max = size;
        maxId = String(doc._id);
      }
    }
    out.push({ collection: name, docs, maxBytes: max, maxId });
  }
  return out.sort((a, b) => b.maxBytes - a.maxBytes);
}

const t0Process = performance.now();
const say = (line: string) =>
  process.stderr.write(`[${((performance.now() - t0Process) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);

/** The env of every role: this run's servers, namespace and database; auth off on loopback; LLM off. */
function roleEnv(natsUrl: string, mongoUrl: string, namespace: string, mongoDb: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^(JETSAGA_|NATS_URL|MONGO_URL|LOG_LEVEL)/.test(k)) env[k] = v;
  return {
    ...env,
    NATS_URL: natsUrl,
    MONGO_URL: mongoUrl,
    JETSAGA_NAMESPACE: namespace,
    JETSAGA_MONGO_DB: mongoDb,
    JETSAGA_AUTH: 'off',
    JETSAGA_HTTP_HOST: '127.0.0.1',
    JETSAGA_HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
  };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const began = performance.now();
  const notes: string[] = [];
  const runId = `bench${Date.now().toString(36)}`;
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'jetsaga-bench-'));
  const resultsDir = path.join(repoRoot, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  say(`jetsaga bench${args.quick ? ' --quick' : ''}: role logs in ${logDir}`);

  const infra = await resolveInfra({ log: say });
  say(`infrastructure: ${infra.describe()}`);
  const config = defaultConfig();
  const ns = `${runId}e`;
  const db = `jetsaga_${runId}_e2e`;
  const env = roleEnv(infra.natsUrl, infra.mongoUrl, ns, db);
  // One directory per profiled role: with `--import tsx` the module loader runs in a worker thread that
  // writes a profile of its own; the main thread's is the one with thread id 0 in its name.
  const profileDirs: Array<{ role: string; dir: string }> = [];
  const nodeFlags = (role: string) => {
    const orchestrator = role === 'orchestrator' || role === 'all';
    if (args.profile === 'off' || (args.profile === 'orchestrator' && !orchestrator)) return [];
    const dir = path.join(resultsDir, 'profiles', `${runId}-${role.replace(/[^a-z0-9-]/gi, '_')}`);
    profileDirs.push({ role, dir });
    return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  };

  const mongo = new MongoClient(infra.mongoUrl, { maxPoolSize: 8 });
  const nc = await connect({ servers: infra.natsUrl.split(','), name: 'jetsaga-bench' });
  let cluster: Cluster | undefined;
  // Raw bounds are measured twice, before and after the end-to-end levels (with the roles stopped),
  // and the better figure of each is kept: on a shared machine one pass can hit a busy moment.
  const rawPasses: RawResult[] = [];
  const beforeStore = await storeHeapCollector(infra, say);
  let rawInput: { envelope: Envelope; sagaDoc: Record<string, unknown> } | undefined;
  const rawOpts = (pass: number) => ({
    natsUrl: infra.natsUrl,
    mongoUrl: infra.mongoUrl,
    scratch: `${runId}r${pass}`,
    settings: {
      syncCount: args.quick ? 200 : 2000,
      runMs: args.quick ? 1000 : 3000,
      window: 256,
      storeLatencyCount: args.quick ? 200 : 2000,
      concurrencies: args.levels,
      chainHops: args.quick ? 30 : 500,
      maxAckPending: config.maxAckPending,
      pullBatch: Math.min(config.maxInFlight, 1024),
      duplicateWindowMs: config.duplicateWindowMs,
    },
    say,
    beforeStore,
  });
  const levels: LevelResult[] = [];
  let footprint: FootprintResult | null = null;
  let startupSec: number | null = null;
  let largestDocs: BenchResult['largestDocs'] = [];
  let measuredFrom = 0;
  let measuredTo = 0;
  try {
    await mongo.connect();
    const jsm = await jetstreamManager(nc);

    // The roles: a process each, or all of them in one (`--layout all`).
    const t0 = performance.now();
    say(`starting ${roleArgs(benchApp, args.layout).length} role processes...`);
    cluster = await Cluster.start({ dist: benchApp, layout: args.layout, env, logDir, nodeFlags });
    startupSec = (performance.now() - t0) / 1000;
    say(`roles ready in ${startupSec.toFixed(1)} s; API on ${cluster.api}`);
    const sagas = mongo.db(db).collection<SagaDoc>('sagas');
    const watcher = new TerminalWatcher(sagas, 20, 120_000);
    const api = new ApiClient(cluster.api, Math.max(...args.levels));
    const nextOrder = orderSource(args.seed, `b${runId}`, orderMixes[args.mix]);
    const observed: Observed = {
      cluster,
      // Servers given by URL may be elsewhere: only the ones this run started are measured.
      others: Object.fromEntries(
        Object.entries({
          'nats-server': infra.nats?.pid,
          'mongo-server': infra.mongo?.pid,
          harness: process.pid,
        }).filter(([, pid]) => pid !== undefined),
      ),
      jsm,
      namespace: ns,
    };
    if (!infra.nats || !infra.mongo) notes.push('servers given by URL: their CPU time is not measured');

    // Warm-up: JIT, connection pools, indexes; also gives real messages and documents for the raw bounds.
    say(`warm-up: ${args.warmupSec} s at concurrency 16`);
    await runLevel({
      concurrency: 16,
      windowMs: args.warmupSec * 1000,
      api,
      watcher,
      nextOrder,
      observed,
      measure: false,
    });

    try {
      const topo = topology(ns);
      const envelope = (await jsm.streams.getMessage(topo.streams.cmd, { seq: 1 }))!.json<Envelope>();
      const doc = (await sagas.findOne({ status: 'completed' })) ?? (await sagas.findOne({}));
      if (!doc) throw new Error('the warm-up produced no saga document');
      rawInput = { envelope, sagaDoc: doc as unknown as Record<string, unknown> };
      say('raw bounds (pass 1 of 2):');
      rawPasses.push(await measureRaw({ ...rawOpts(1), ...rawInput }));
    } catch (err) {
      notes.push(`raw bounds failed: ${String(err)}`);
      say(`raw bounds failed: ${String(err)}`);
    }

    measuredFrom = monoUs();
    for (const c of args.levels) {
      if (args.levelWarmupSec > 0) {
        say(`warm-up: ${args.levelWarmupSec} s at concurrency ${c}`);
        await runLevel({
          concurrency: c,
          windowMs: args.levelWarmupSec * 1000,
          api,
          watcher,
          nextOrder,
          observed,
          measure: false,
        });
      }
      say(`end to end: concurrency ${c} for ${args.windowSec} s`);
      const level = await runLevel({
        concurrency: c,
        windowMs: args.windowSec * 1000,
        api,
        watcher,
        nextOrder,
        observed,
        measure: true,
        history: mongo.db(db).collection<HistoryEntry>('saga_history'),
        settleMaxMs: args.quick ? 5_000 : 30_000,
      });
      levels.push(level);
      if (level.settle)
        say(
          `  quiet after ${level.settle.sec} s (${level.settle.busyCores} cores busy)${level.settle.quiet ? '' : ', gave up waiting'}`,
        );
      if (level.settle && !level.settle.quiet)
        notes.push(
          `concurrency ${c}: started with the processes still busy (${level.settle.busyCores} cores)`,
        );
      say(
        `  ${level.sagasPerSec.toFixed(1)} sagas/s, p50 ${level.latencyMs.p50} ms, p99 ${level.latencyMs.p99} ms, ${level.messagesPerSaga.toFixed(1)} msgs/saga, ${level.storeWritesPerSaga?.toFixed(1)} writes/saga`,
      );
      if (level.watcherFailedQueries.count > 0)
        notes.push(
          `concurrency ${c}: ${level.watcherFailedQueries.count} polls of the saga watcher failed and were retried (last: ${level.watcherFailedQueries.last})`,
        );
      if (level.outcomes.timeout)
        notes.push(`concurrency ${c}: ${level.outcomes.timeout} sagas not terminal within 120 s`);
    }
    measuredTo = monoUs();
    largestDocs = await largestDocuments(mongo.db(db));
    api.close();
    await watcher.close();
  } catch (err) {
    notes.push(`end to end failed: ${err instanceof Error ? err.message : String(err)}`);
    say(`end to end failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await cluster?.stop();
  }

  if (rawInput) {
    try {
      say('raw bounds (pass 2 of 2):');
      rawPasses.push(await measureRaw({ ...rawOpts(2), ...rawInput }));
    } catch (err) {
      notes.push(`raw bounds, pass 2, failed: ${String(err)}`);
    }
  }
  const raw = bestRaw(rawPasses);

  const profile: BenchResult['profile'] = [];
  const summarizeRole = (role: string, dir: string, window: { fromUs: number; toUs: number } | undefined) => {
    try {
      const file = mainThreadProfile(dir);
      const summary = summarizeProfile(file, 25, window);
      profile.push({ role, file: path.relative(repoRoot, file), text: `${role}: ${formatProfile(summary)}` });
      writeFileSync(path.join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    } catch (err) {
      notes.push(`profile of ${role} not readable: ${String(err)}`);
    }
  };
  for (const p of profileDirs)
    summarizeRole(p.role, p.dir, measuredTo > 0 ? { fromUs: measuredFrom, toUs: measuredTo } : undefined);

  const dropScratch = async (mongoDb: string, namespace: string) => {
    await mongo
      .db(mongoDb)
      .dropDatabase()
      .catch(() => undefined);
    const jsm = await jetstreamManager(nc).catch(() => undefined);
    for (const s of Object.values(topology(namespace).streams))
      await jsm?.streams.delete(s).catch(() => undefined);
  };
  // The end-to-end data goes before the footprint: the footprint's orchestrator shares the store
  // and nats-server with it, and thousands of finished sagas of the levels are not its load.
  await dropScratch(db, `${runId}e`);

  const recoveryProfileDir =
    args.profile === 'off' ? undefined : path.join(resultsDir, 'profiles', `${runId}-orchestrator-recovery`);
  if (args.footprintSagas > 0) {
    try {
      say(`footprint: ${args.footprintSagas} sagas`);
      footprint = await measureFootprint({
        natsUrl: infra.natsUrl,
        mongoUrl: infra.mongoUrl,
        namespace: `${runId}f`,
        mongoDb: `jetsaga_${runId}_fp`,
        dist: benchApp,
        envFor: (namespace, mongoDb) => roleEnv(infra.natsUrl, infra.mongoUrl, namespace, mongoDb),
        logDir,
        storePid: infra.mongo?.pid,
        natsPid: infra.nats?.pid,
        ...(recoveryProfileDir ? { profileDir: recoveryProfileDir } : {}),
        settings: {
          sagas: args.footprintSagas,
          activeActors: args.activeActors,
          settleMs: args.quick ? 2_000 : 10_000,
          recoveryTimeoutMs: args.quick ? 60_000 : 300_000,
        },
        say,
      });
    } catch (err) {
      notes.push(`footprint failed: ${err instanceof Error ? err.message : String(err)}`);
      say(`footprint failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  } else notes.push('footprint skipped (--footprint-sagas 0)');
  if (recoveryProfileDir && footprint?.recovery.profileWindow)
    summarizeRole('orchestrator during the recovery', recoveryProfileDir, footprint.recovery.profileWindow);

  // Scratch data of this run: gone, so that repeated runs do not fill the servers given by URL.
  await dropScratch(`jetsaga_${runId}_fp`, `${runId}f`);
  await mongo.close().catch(() => undefined);
  await nc.drain().catch(() => nc.close());
  await infra.stop();

  // Efficiency: the best saga throughput over what the broker and the store allow for its operations.
  const best = levels.reduce<LevelResult | null>(
    (b, l) => (!b || l.sagasPerSec > b.sagasPerSec ? l : b),
    null,
  );
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
  const ratioC1 = round(p99C1 !== null && rawRoundTrips ? p99C1 / rawRoundTrips : null, 2);
  const ratioC1Chained = round(p99C1 !== null && chained ? p99C1 / chained.ms : null, 2);
  const ratioC1ChainP99 = round(p99C1 !== null && chained?.p99Ms ? p99C1 / chained.p99Ms : null, 2);
  const fp = footprint;
  const summary: BenchResult['summary'] = {
    sagasPerSec: round(best?.sagasPerSec ?? null, 1),
    p50Ms: round(best?.latencyMs.p50 ?? null, 0),
    p99Ms: round(best?.latencyMs.p99 ?? null, 0),
    efficiency: round(best && bound ? best.sagasPerSec / bound : null, 3),
    rawPublishPerSec: round(rawPublishPerSec, 0),
    rawStoreOpsPerSec: round(rawStoreOpsPerSec, 0),
    rssMbPer100kPassivated: round(fp?.passivated.rssMbPer100k ?? null, 1),
    bestConcurrency: best?.concurrency ?? null,
    p99MsAtConcurrency1: round(c1?.latencyMs.p99 ?? null, 0),
    latencyRatioC1: ratioC1,
    latencyRatioC1Chained: ratioC1Chained,
    latencyRatioC1ChainP99: ratioC1ChainP99,
    messagesPerSaga: round(best?.messagesPerSaga ?? null, 2),
    storeWritesPerSaga: round(best?.storeWritesPerSaga ?? null, 2),
    cpuMsPerSaga: round(best?.cpuSecPerSagaTotal != null ? best.cpuSecPerSagaTotal * 1000 : null, 2),
    rssMbPer10kActive: round(fp?.active.rssMbPer10k ?? null, 1),
    recoverySec: round(fp?.recovery.sec ?? null, 1),
    recoverySagas: fp ? fp.sagas : null,
    mix: args.mix,
    quick: args.quick,
  };
  const result: BenchResult = {
    date: new Date().toISOString(),
    quick: args.quick,
    durationSec: round((performance.now() - began) / 1000, 1)!,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memGb: round(os.totalmem() / 2 ** 30, 1)!,
      node: process.version,
    },
    infra: infra.describe(),
    distribution: {
      layout: args.layout,
      roles: roleArgs(benchApp, args.layout).map((a) => a.join(':')),
    },
    mix: { name: args.mix, ...orderMixes[args.mix] },
    startupSec: round(startupSec, 1),
    warmup: { firstSec: args.warmupSec, perLevelSec: args.levelWarmupSec },
    raw,
    rawPasses: rawPasses.map(withoutSamples),
    levels,
    bestConcurrency: best?.concurrency ?? null,
    efficiency: {
      value: summary.efficiency as number | null,
      boundSagasPerSec: round(bound, 1),
      formula: '1 / (messagesPerSaga / rawPublishPerSec + storeWritesPerSaga / rawStoreOpsPerSec)',
      latencyRatioC1: ratioC1,
      rawRoundTripsMsPerSaga: round(rawRoundTrips, 1),
      latencyRatioC1Chained: ratioC1Chained,
      chainedRoundTripsMsPerSaga: round(chained?.ms ?? null, 1),
      chainStoreCallsPerSaga: round(chained?.storeCalls ?? null, 2),
      latencyRatioC1ChainP99: ratioC1ChainP99,
      chainP99MsPerSaga: round(chained?.p99Ms ?? null, 1),
    },
    largestDocs,
    footprint,
    profile,
    notes,
    summary,
  };
  mkdirSync(path.dirname(args.out), { recursive: true });
  // Arrays of numbers (the raw chain's samples) on one line each.
  const json = JSON.stringify(result, null, 2).replace(
    /\[\s+(-?[\d.e+-]+(?:,\s+-?[\d.e+-]+)*)\s+\]/g,
    (_, xs: string) => `[${xs.replace(/\s+/g, '')}]`,
  );
  writeFileSync(args.out, `${json}\n`);
  process.stdout.write(`${formatTable(result)}\n`);
  process.stdout.write(`results: ${path.relative(process.cwd(), args.out)} (${result.durationSec} s)\n`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  // Role logs are kept only when something went wrong.
  if (levels.length > 0 && !notes.some((n) => n.includes('failed')))
    rmSync(logDir, { recursive: true, force: true });
  else say(`role logs kept in ${logDir}`);
  return levels.length > 0 ? 0 : 1;
}

main().then(
  (code) => {
    killAllRoles();
    process.exit(code);
  },
  (err: unknown) => {
    say(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    killAllRoles();
    // Still one JSON line last, with every figure null: the harness ran, the figures could not be made.
    process.stdout.write(
      `${JSON.stringify({
        sagasPerSec: null,
        p50Ms: null,
        p99Ms: null,
        efficiency: null,
        rawPublishPerSec: null,
        rawStoreOpsPerSec: null,
        rssMbPer100kPassivated: null,
        error: err instanceof Error ? err.message : String(err),
      })}\n`,
    );
    process.exit(1);
  },
);
