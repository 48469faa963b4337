// `npm run bench [-- --quick] [-- --profile [all]]`: jetsaga against the raw limits of NATS JetStream and
// MongoDB, measured in one run on this machine. Progress goes to stderr; the table, then one JSON line
// (the last line of stdout), go to stdout; the whole result goes to bench/results/latest.json. The exit
// code is 1 when a step failed (its figures are then null, and the notes say why).
// See bench/README.md for what each figure means.
//
// The steps, in order: the servers (`prepare`); the roles, a warm-up, the raw bounds' first pass and the
// end-to-end levels (`endToEnd`); the raw bounds' second pass with the roles stopped (`rawBounds`); the
// profiles (`summarizeProfiles`); the footprint on emptied servers (`measureFootprintStep`); then the
// result (`resultOf`) and its report (`report`).
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { MongoClient } from 'mongodb';
import { defaultConfig } from '../runtime/config.ts';
import { type Infra, resolveInfra } from '../runtime/dev/index.ts';
import { topology } from '../runtime/messaging/index.ts';
import type { SagaDoc } from '../runtime/store/index.ts';
import type { Envelope } from '../runtime/wire/index.ts';
import { Cluster, type Layout, repoRoot, roleArgs, roleName } from '../test/cluster.ts';
import { appForTests as benchApp } from '../test/dist.ts';
import { largestDocuments } from './diagnostics/largest-docs.ts';
import { storeHeapCollector } from './diagnostics/store-heap.ts';
import {
  ApiClient,
  type LevelResult,
  type Observed,
  type OrderMix,
  orderMixes,
  orderSource,
  runLevel,
  TerminalWatcher,
} from './e2e.ts';
import { type FootprintResult, measureFootprint } from './footprint.ts';
import { formatProfile, monoUs, summarizeProfile } from './profile.ts';
import { measureRaw, type RawResult } from './raw.ts';
import { type BenchResult, formatTable } from './report.ts';
import { withCommandMonitoring } from './role-stats.ts';
import { round } from './stats.ts';
import { bestLevel, bestRaw, efficiencyOf, failedSummary, summaryOf, withoutSamples } from './summary.ts';

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

const t0Process = performance.now();
const say = (line: string) =>
  process.stderr.write(`[${((performance.now() - t0Process) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
const errorStack = (err: unknown) => (err instanceof Error ? (err.stack ?? err.message) : String(err));

/** Everything one run collects, step by step; the result is made from it at the end. */
interface Run {
  args: Args;
  runId: string;
  began: number;
  /** The roles' logs, kept only when a step failed. */
  logDir: string;
  resultsDir: string;
  infra: Infra;
  mongo: MongoClient;
  nc: NatsConnection;
  /** What the table and the JSON file say beside the figures (why one is null, a level that started busy). */
  notes: string[];
  /** Steps that failed: the run's exit code is 1 when there is one. */
  failures: string[];
  beforeStore: (() => Promise<void>) | undefined;
  /** A real command and a real saga document of the warm-up: the raw bounds' payload and document. */
  rawInput: { envelope: Envelope; sagaDoc: Record<string, unknown> } | undefined;
  rawPasses: RawResult[];
  startupSec: number | null;
  levels: LevelResult[];
  largestDocs: BenchResult['largestDocs'];
  /** The measured levels' span, for the profiles (monotonic microseconds). */
  measured: { fromUs: number; toUs: number } | undefined;
  profileDirs: Array<{ role: string; dir: string }>;
  profile: BenchResult['profile'];
  footprint: FootprintResult | null;
}

/** A step that failed: noted (the table and the JSON file say so) and counted for the exit code. */
function failed(run: Run, what: string, err: unknown): void {
  run.notes.push(`${what} failed: ${errorText(err)}`);
  run.failures.push(what);
  say(`${what} failed: ${errorStack(err)}`);
}

/** The end-to-end run's namespace and database, and the footprint's. */
const scratch = (run: Run, part: 'e' | 'f') => ({
  namespace: `${run.runId}${part}`,
  mongoDb: `jetsaga_${run.runId}_${part === 'e' ? 'e2e' : 'fp'}`,
});

/**
 * The env of every role: this run's servers, namespace and database; auth off on loopback; LLM off.
 * `countCalls`: the driver's command monitoring on, so that the role counts its store calls
 * (role-stats.ts); only for the end-to-end levels, whose counts are figures.
 */
function roleEnv(
  infra: Infra,
  namespace: string,
  mongoDb: string,
  opts: { countCalls?: boolean } = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^(JETSAGA_|NATS_URL|MONGO_URL|LOG_LEVEL)/.test(k)) env[k] = v;
  return {
    ...env,
    NATS_URL: infra.natsUrl,
    MONGO_URL: opts.countCalls ? withCommandMonitoring(infra.mongoUrl) : infra.mongoUrl,
    JETSAGA_NAMESPACE: namespace,
    JETSAGA_MONGO_DB: mongoDb,
    JETSAGA_AUTH: 'off',
    JETSAGA_HTTP_HOST: '127.0.0.1',
    JETSAGA_HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
  };
}

/** The servers (given by URL, or started here) and this run's clients and directories. */
async function prepare(args: Args): Promise<Run> {
  const runId = `bench${Date.now().toString(36)}`;
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'jetsaga-bench-'));
  const resultsDir = path.join(repoRoot, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  say(`jetsaga bench${args.quick ? ' --quick' : ''}: role logs in ${logDir}`);
  const began = performance.now();
  const infra = await resolveInfra({ log: say });
  say(`infrastructure: ${infra.describe()}`);
  const mongo = new MongoClient(infra.mongoUrl, { maxPoolSize: 8 });
  const nc = await connect({ servers: infra.natsUrl.split(','), name: 'jetsaga-bench' });
  return {
    args,
    runId,
    began,
    logDir,
    resultsDir,
    infra,
    mongo,
    nc,
    notes: [],
    failures: [],
    beforeStore: await storeHeapCollector(infra, say),
    rawInput: undefined,
    rawPasses: [],
    startupSec: null,
    levels: [],
    largestDocs: [],
    measured: undefined,
    profileDirs: [],
    profile: [],
    footprint: null,
  };
}

/**
 * Node flags per role: `--cpu-prof` for the profiled ones, each into a directory of its own. With
 * `--import tsx` the module loader runs in a worker thread that writes a profile of its own; the main
 * thread's is the one with thread id 0 in its name.
 */
function profileFlags(run: Run): (role: string) => string[] {
  return (role) => {
    const orchestrator = role === 'orchestrator' || role === 'all';
    const { profile } = run.args;
    if (profile === 'off' || (profile === 'orchestrator' && !orchestrator)) return [];
    const dir = path.join(run.resultsDir, 'profiles', `${run.runId}-${role.replace(/[^a-z0-9-]/gi, '_')}`);
    run.profileDirs.push({ role, dir });
    return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  };
}

/** What the levels run against: the roles, the API client, the watcher and what is measured. */
interface Stage {
  cluster: Cluster;
  api: ApiClient;
  watcher: TerminalWatcher;
  nextOrder: ReturnType<typeof orderSource>;
  observed: Observed;
}

/** The roles: a process each, or all of them in one (`--layout all`), counting their store calls. */
async function startRoles(run: Run, jsm: JetStreamManager): Promise<Stage> {
  const { args, infra } = run;
  const { namespace, mongoDb } = scratch(run, 'e');
  const roles = roleArgs(benchApp, args.layout);
  const t0 = performance.now();
  say(`starting ${roles.length} role processes...`);
  const cluster = await Cluster.start({
    env: roleEnv(infra, namespace, mongoDb, { countCalls: true }),
    logDir: run.logDir,
    roles,
    script: 'bench/role-main.ts',
    ipc: true,
    nodeFlags: profileFlags(run),
  });
  run.startupSec = (performance.now() - t0) / 1000;
  say(`roles ready in ${run.startupSec.toFixed(1)} s; API on ${cluster.api}`);
  const db = run.mongo.db(mongoDb);
  if (!infra.nats || !infra.mongo) run.notes.push('servers given by URL: their CPU time is not measured');
  return {
    cluster,
    api: new ApiClient(cluster.api, Math.max(...args.levels)),
    watcher: new TerminalWatcher(db.collection<SagaDoc>('sagas'), 20, 120_000),
    nextOrder: orderSource(args.seed, `b${run.runId}`, orderMixes[args.mix]),
    observed: {
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
      namespace,
    },
  };
}

/** An unmeasured closed-loop run (JIT, pools, indexes, and the real documents of the raw bounds). */
async function warmUp(stage: Stage, concurrency: number, sec: number): Promise<void> {
  say(`warm-up: ${sec} s at concurrency ${concurrency}`);
  const { api, watcher, nextOrder, observed } = stage;
  await runLevel({ concurrency, windowMs: sec * 1000, api, watcher, nextOrder, observed, measure: false });
}

/** The payload and the document of the raw bounds: the warm-up's first command and a finished saga. */
async function takeRawInput(run: Run, jsm: JetStreamManager): Promise<void> {
  const envelope = (await jsm.streams.getMessage(topology(scratch(run, 'e').namespace).streams.cmd, {
    seq: 1,
  }))!.json<Envelope>();
  const sagas = run.mongo.db(scratch(run, 'e').mongoDb).collection<SagaDoc>('sagas');
  const doc = (await sagas.findOne({ status: 'completed' })) ?? (await sagas.findOne({}));
  if (!doc) throw new Error('the warm-up produced no saga document');
  run.rawInput = { envelope, sagaDoc: doc as unknown as Record<string, unknown> };
}

/**
 * One pass of the raw bounds, in a scratch stream and database of its own. They are measured twice,
 * before the end-to-end levels (roles idle) and after them (roles stopped), and the better figure of
 * each is kept: on a shared machine one pass can hit a busy moment.
 */
async function rawBounds(run: Run, pass: 1 | 2): Promise<void> {
  if (!run.rawInput) return;
  const { args, infra } = run;
  const config = defaultConfig();
  try {
    say(`raw bounds (pass ${pass} of 2):`);
    run.rawPasses.push(
      await measureRaw({
        natsUrl: infra.natsUrl,
        mongoUrl: infra.mongoUrl,
        scratch: `${run.runId}r${pass}`,
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
        beforeStore: run.beforeStore,
        ...run.rawInput,
      }),
    );
  } catch (err) {
    failed(run, pass === 1 ? 'raw bounds' : 'raw bounds, pass 2,', err);
  }
}

/**
 * The measured levels: each first runs unmeasured at its own concurrency for `--level-warmup-sec`,
 * then (once the processes are quiet) for `--window-sec` with its counters taken before and after.
 */
async function measureLevels(run: Run, stage: Stage): Promise<void> {
  const { args } = run;
  const fromUs = monoUs();
  for (const c of args.levels) {
    if (args.levelWarmupSec > 0) await warmUp(stage, c, args.levelWarmupSec);
    say(`end to end: concurrency ${c} for ${args.windowSec} s`);
    const level = await runLevel({
      concurrency: c,
      windowMs: args.windowSec * 1000,
      api: stage.api,
      watcher: stage.watcher,
      nextOrder: stage.nextOrder,
      observed: stage.observed,
      measure: true,
      hops: true,
      settleMaxMs: args.quick ? 5_000 : 30_000,
    });
    run.levels.push(level);
    if (level.settle)
      say(
        `  quiet after ${level.settle.sec} s (${level.settle.busyCores} cores busy)${level.settle.quiet ? '' : ', gave up waiting'}`,
      );
    if (level.settle && !level.settle.quiet)
      run.notes.push(
        `concurrency ${c}: started with the processes still busy (${level.settle.busyCores} cores)`,
      );
    say(
      `  ${level.sagasPerSec.toFixed(1)} sagas/s, p50 ${level.latencyMs.p50} ms, p99 ${level.latencyMs.p99} ms, ${level.messagesPerSaga.toFixed(1)} msgs/saga, ${level.storeWritesPerSaga?.toFixed(1)} writes/saga`,
    );
    if (level.watcherFailedQueries.count > 0)
      run.notes.push(
        `concurrency ${c}: ${level.watcherFailedQueries.count} polls of the saga watcher failed and were retried (last: ${level.watcherFailedQueries.last})`,
      );
    if (level.outcomes.timeout)
      run.notes.push(`concurrency ${c}: ${level.outcomes.timeout} sagas not terminal within 120 s`);
    if (level.storeWritesPerSaga === null)
      run.notes.push(`concurrency ${c}: the roles' store calls could not be counted (no command monitoring)`);
  }
  run.measured = { fromUs, toUs: monoUs() };
}

/** The roles, a warm-up, the raw bounds' first pass and the end-to-end levels; the roles stop after them. */
async function endToEnd(run: Run): Promise<void> {
  let stage: Stage | undefined;
  try {
    await run.mongo.connect();
    const jsm = await jetstreamManager(run.nc);
    stage = await startRoles(run, jsm);
    await warmUp(stage, 16, run.args.warmupSec);
    try {
      await takeRawInput(run, jsm);
    } catch (err) {
      failed(run, 'raw bounds', err);
    }
    await rawBounds(run, 1);
    await measureLevels(run, stage);
    run.largestDocs = await largestDocuments(run.mongo.db(scratch(run, 'e').mongoDb));
    stage.api.close();
    await stage.watcher.close();
  } catch (err) {
    failed(run, 'end to end', err);
  } finally {
    await stage?.cluster.stop();
  }
}

/** Summarises a profiled role's main-thread profile within `window` into the report and its directory. */
function summarizeRole(
  run: Run,
  role: string,
  dir: string,
  window: { fromUs: number; toUs: number } | undefined,
): void {
  try {
    const file = mainThreadProfile(dir);
    const summary = summarizeProfile(file, 25, window);
    run.profile.push({
      role,
      file: path.relative(repoRoot, file),
      text: `${role}: ${formatProfile(summary)}`,
    });
    writeFileSync(path.join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  } catch (err) {
    run.notes.push(`profile of ${role} not readable: ${String(err)}`);
  }
}

/** The profiled roles of the levels, within the measured levels' span. */
function summarizeProfiles(run: Run): void {
  for (const p of run.profileDirs) summarizeRole(run, p.role, p.dir, run.measured);
}

/** A scratch namespace's streams and database, gone: repeated runs do not fill servers given by URL. */
async function dropScratch(run: Run, part: 'e' | 'f'): Promise<void> {
  const { namespace, mongoDb } = scratch(run, part);
  await run.mongo
    .db(mongoDb)
    .dropDatabase()
    .catch(() => undefined);
  const jsm = await jetstreamManager(run.nc).catch(() => undefined);
  for (const s of Object.values(topology(namespace).streams))
    await jsm?.streams.delete(s).catch(() => undefined);
}

/**
 * The footprint (footprint.ts), on servers emptied of the levels' data (the footprint's orchestrator
 * shares them, and thousands of finished sagas are not its load). Its orchestrators run without
 * command monitoring: nothing is counted there, and it would cost the recovery CPU.
 */
async function measureFootprintStep(run: Run): Promise<void> {
  const { args, infra } = run;
  if (args.footprintSagas <= 0) {
    run.notes.push('footprint skipped (--footprint-sagas 0)');
    return;
  }
  const profileDir =
    args.profile === 'off'
      ? undefined
      : path.join(run.resultsDir, 'profiles', `${run.runId}-orchestrator-recovery`);
  try {
    say(`footprint: ${args.footprintSagas} sagas`);
    run.footprint = await measureFootprint({
      natsUrl: infra.natsUrl,
      mongoUrl: infra.mongoUrl,
      ...scratch(run, 'f'),
      dist: benchApp,
      envFor: (namespace, mongoDb) => roleEnv(infra, namespace, mongoDb),
      logDir: run.logDir,
      storePid: infra.mongo?.pid,
      natsPid: infra.nats?.pid,
      ...(profileDir ? { profileDir } : {}),
      settings: {
        sagas: args.footprintSagas,
        activeActors: args.activeActors,
        settleMs: args.quick ? 2_000 : 10_000,
        recoveryTimeoutMs: args.quick ? 60_000 : 300_000,
      },
      say,
    });
  } catch (err) {
    failed(run, 'footprint', err);
  }
  if (profileDir && run.footprint?.recovery.profileWindow)
    summarizeRole(run, 'orchestrator during the recovery', profileDir, run.footprint.recovery.profileWindow);
}

/** The clients closed and the servers this run started stopped. */
async function teardown(run: Run): Promise<void> {
  await run.mongo.close().catch(() => undefined);
  await run.nc.drain().catch(() => run.nc.close());
  await run.infra.stop();
}

/** The whole result, as bench/results/latest.json keeps it. */
function resultOf(run: Run): BenchResult {
  const { args, levels, footprint } = run;
  const raw = bestRaw(run.rawPasses);
  const efficiency = efficiencyOf(levels, raw);
  return {
    date: new Date().toISOString(),
    quick: args.quick,
    durationSec: round((performance.now() - run.began) / 1000, 1)!,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memGb: round(os.totalmem() / 2 ** 30, 1)!,
      node: process.version,
    },
    infra: run.infra.describe(),
    distribution: { layout: args.layout, roles: roleArgs(benchApp, args.layout).map(roleName) },
    mix: { name: args.mix, ...orderMixes[args.mix] },
    startupSec: round(run.startupSec, 1),
    warmup: { firstSec: args.warmupSec, perLevelSec: args.levelWarmupSec },
    raw,
    rawPasses: run.rawPasses.map(withoutSamples),
    levels,
    bestConcurrency: bestLevel(levels)?.concurrency ?? null,
    efficiency,
    largestDocs: run.largestDocs,
    footprint,
    profile: run.profile,
    notes: run.notes,
    summary: summaryOf({ levels, raw, efficiency, footprint, mix: args.mix, quick: args.quick }),
  };
}

/** The result file, the table, the file's name and the last line (the summary as one JSON object). */
function report(run: Run, result: BenchResult): void {
  const out = run.args.out;
  mkdirSync(path.dirname(out), { recursive: true });
  // Arrays of numbers (the raw chain's samples) on one line each.
  const json = JSON.stringify(result, null, 2).replace(
    /\[\s+(-?[\d.e+-]+(?:,\s+-?[\d.e+-]+)*)\s+\]/g,
    (_, xs: string) => `[${xs.replace(/\s+/g, '')}]`,
  );
  writeFileSync(out, `${json}\n`);
  process.stdout.write(`${formatTable(result)}\n`);
  process.stdout.write(`results: ${path.relative(process.cwd(), out)} (${result.durationSec} s)\n`);
  process.stdout.write(`${JSON.stringify(result.summary)}\n`);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const run = await prepare(args);
  try {
    await endToEnd(run);
    await rawBounds(run, 2);
    summarizeProfiles(run);
    await dropScratch(run, 'e');
    await measureFootprintStep(run);
    await dropScratch(run, 'f');
  } finally {
    await teardown(run);
  }
  report(run, resultOf(run));
  const ok = run.levels.length > 0 && run.failures.length === 0;
  // Role logs are kept only when something went wrong.
  if (ok) rmSync(run.logDir, { recursive: true, force: true });
  else say(`role logs kept in ${run.logDir}`);
  return ok ? 0 : 1;
}

// Every role and server this process started dies with it (killOnExit), whatever way it exits.
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(`bench failed: ${errorStack(err)}`);
    // Still one JSON line last, with every figure null: the harness ran, the figures could not be made.
    process.stdout.write(`${JSON.stringify(failedSummary(errorText(err)))}\n`);
    process.exit(1);
  },
);
