// `npm run scale-test [-- --sagas N --seed S]`: jetsaga scaled out on one machine. A 3-node NATS JetStream
// cluster (stream replicas 3), the MongoDB-wire server, 3 orchestrators, 2 replicas of every order participant
// (and of the fraud agent when the build has that role), one API, all separate processes on 127.0.0.1.
// Orders go in through the API while the node leading the event stream and one orchestrator are SIGKILLed
// and restarted; then every role is stopped with SIGTERM and the invariants are read from MongoDB. The last
// line is the verdict; the exit code is 0 only when all hold.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { type Db, MongoClient } from 'mongodb';
import {
  type Infra,
  type LogLine,
  type NatsCluster,
  resolveInfra,
  type RoleProcess,
  startNatsCluster,
} from '../../runtime/dev/index.ts';
import { type Topology, topology } from '../../runtime/messaging/index.ts';
import { checkOrderInvariants, checkSagaHistory, terminalStatuses } from '../invariants.ts';
import { repoRoot, roleProcess } from '../cluster.ts';
import { planOrders, prng } from './orders.ts';
import { run } from '../../runtime/dev/exec.ts';

const NATS_NODES = 3;
const ORCHESTRATORS = 3;
const SERVICE_REPLICAS = 2;
const SERVICES = ['inventory', 'payment', 'shipping'];
/** Hard bound of the whole run; the test stops itself and every child past it. */
const RUN_LIMIT_MS = 9.5 * 60_000;
const DRAIN_LIMIT_MS = 240_000;

interface Args {
  sagas: number;
  seed: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { sagas: 200, seed: Date.now() % 1_000_000 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = Number(argv[++i]);
    if (flag === '--sagas' && Number.isInteger(value) && value >= 1 && value <= 5_000) args.sagas = value;
    else if (flag === '--seed' && Number.isInteger(value) && value >= 0) args.seed = value;
    else throw new Error(`usage: scale-test [--sagas N (1..5000, default 200)] [--seed S (integer >= 0)]`);
  }
  return args;
}

const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
const say = (line: string): void => {
  process.stderr.write(`[scale-test +${elapsed()}] ${line}\n`);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const runId = `scale${Date.now().toString(36)}`;
  const logDir = path.join(repoRoot, 'test-artifacts', 'scale', runId);
  await mkdir(logDir, { recursive: true });
  say(`seed ${args.seed}, ${args.sagas} sagas, logs in ${path.relative(repoRoot, logDir)}`);

  let cluster: NatsCluster | undefined;
  let infra: Infra | undefined;
  const roles: RoleProcess[] = [];
  try {
    cluster = await startNatsCluster({ nodes: NATS_NODES, log: say });
    say(`NATS cluster up: ${cluster.url}`);
    // NATS_URL is the cluster, so resolveInfra provisions only the MongoDB-wire server (or takes MONGO_URL).
    infra = await resolveInfra({ env: { ...process.env, NATS_URL: cluster.url }, log: say });
    say(`MongoDB: ${infra.describe()}`);

    const mongoDb = `jetsaga_${runId}`;
    const apiToken = randomBytes(16).toString('hex');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NATS_URL: cluster.url,
      MONGO_URL: infra.mongoUrl,
      JETSAGA_MONGO_DB: mongoDb,
      JETSAGA_NAMESPACE: runId,
      JETSAGA_STREAM_REPLICAS: String(NATS_NODES),
      JETSAGA_HTTP_HOST: '127.0.0.1',
      JETSAGA_HTTP_PORT: '0',
      LOG_LEVEL: 'info',
      // A killed orchestrator's unacked events come back after this instead of the default 30 s.
      JETSAGA_ACK_WAIT_MS: '10000',
      JETSAGA_SHUTDOWN_TIMEOUT_MS: '15000',
      // The API's bearer token (write implies read); /healthz and /readyz need none.
      JETSAGA_API_TOKENS: `${apiToken}:write`,
    };
    const fraudAgent = await hasFraudAgent(env);
    const add = (name: string, roleArgs: string[]) => {
      const role = roleProcess({ name, args: roleArgs, env, logDir });
      roles.push(role);
      return role;
    };
    const orchestrators = Array.from({ length: ORCHESTRATORS }, (_, i) =>
      add(`orchestrator-${i + 1}`, ['orchestrator']),
    );
    for (const service of SERVICES)
      for (let i = 1; i <= SERVICE_REPLICAS; i++) add(`${service}-${i}`, ['service', service]);
    if (fraudAgent) for (let i = 1; i <= SERVICE_REPLICAS; i++) add(`fraud-agent-${i}`, ['fraud-agent']);
    const api = add('api', ['api']);
    say(
      `starting ${roles.length} role processes${fraudAgent ? ' (with the fraud agent)' : ' (no fraud-agent role in this build)'}`,
    );
    // The API first: it creates the R3 streams. A dozen processes creating them at once on a fresh cluster make
    // JetStream API requests time out (a pod would crash-loop until they exist; here we just wait).
    await startLikeAPod(api);
    await Promise.all(roles.filter((r) => r !== api).map((r) => startLikeAPod(r)));
    await waitReady(api.url!);
    say(`all roles started; API on ${api.url}`);

    // --- load, with two crashes in the middle of it ---------------------------------------------------------
    const rand = prng(args.seed ^ 0x5eed);
    const orders = planOrders(args.sagas, args.seed, runId);
    const victim = orchestrators[Math.floor(rand() * orchestrators.length)]!;
    const natsKillAt = Math.floor(args.sagas * 0.3);
    const orchestratorKillAt = Math.floor(args.sagas * 0.55);
    const chaos: Promise<void>[] = [];
    const accepted: string[] = [];
    let rejected = 0;
    const perSecond = Math.max(10, Math.ceil(args.sagas / 20));
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; i < orders.length; i++) {
      if (i === natsKillAt) chaos.push(crashNatsLeader(cluster, topology(runId).streams.evt));
      if (i === orchestratorKillAt) chaos.push(crashAndRestart(victim));
      const post = fetch(`${api.url}/v1/saga-types/order-fulfillment/sagas`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiToken}` },
        body: JSON.stringify(orders[i]!.input),
        signal: AbortSignal.timeout(30_000),
      })
        .then(async (res) => {
          const body = (await res.json().catch(() => ({}))) as { sagaId?: string; detail?: string };
          if (res.status === 202 && body.sagaId) accepted.push(body.sagaId);
          else {
            rejected++;
            say(`POST answered ${res.status}: ${body.detail ?? ''}`);
          }
        })
        .catch((err: unknown) => {
          rejected++;
          say(`POST failed: ${String(err)}`);
        })
        .finally(() => inFlight.delete(post));
      inFlight.add(post);
      if (inFlight.size >= 16) await Promise.race(inFlight);
      await sleep(1000 / perSecond);
    }
    await Promise.all(inFlight);
    await Promise.all(chaos);
    say(`${accepted.length} sagas accepted, ${rejected} requests failed; waiting for every saga to end`);

    // --- drain, stop, check ------------------------------------------------------------------------------
    const mongo = new MongoClient(infra.mongoUrl);
    try {
      const db = mongo.db(mongoDb);
      await waitAllTerminal(db, DRAIN_LIMIT_MS, () => consumerBacklog(cluster!.url, topology(runId)));
      const open = await dumpOpenSagas(db, path.join(logDir, 'open-sagas.json'));
      if (open > 0) say(`${open} open sagas written to ${path.relative(repoRoot, logDir)}/open-sagas.json`);
      say('stopping every role with SIGTERM');
      const stopped = await Promise.all(roles.map((r) => r.stop(30_000)));
      const unclean = roles.filter((_, i) => !stopped[i]).map((r) => r.name);

      const report = await checkOrderInvariants(db);
      const history = await checkSagaHistory(db);
      const ids = new Set(
        (
          await db
            .collection('sagas')
            .find({}, { projection: { _id: 1 } })
            .toArray()
        ).map((d) => String(d._id)),
      );
      const lost = accepted
        .filter((id) => !ids.has(id))
        .map((id) => `accepted saga ${id} is missing from MongoDB`);
      const violations = [...report.violations, ...history.violations, ...lost];
      const outcomes = await expectedOutcomes(db, orders);

      const out = (line: string) => process.stdout.write(`${line}\n`);
      out(`per replica (last life of each process; a SIGKILLed life writes no summary):`);
      for (const r of roles) out(`  ${r.name.padEnd(16)} ${describeReplica(r)}`);
      const shares = orchestrators.map((o) => Number(lastSummary(o)?.processed ?? 0));
      const total = shares.reduce((a, b) => a + b, 0);
      out(
        `orchestrator shares of processed events: ${shares.map((s) => `${total ? Math.round((100 * s) / total) : 0}%`).join(' / ')}`,
      );
      const idle = roles.filter((r) => {
        const summary = lastSummary(r);
        return summary !== undefined && !Number(summary.processed ?? summary.handled ?? 0);
      });
      out(`replicas that got no work: ${idle.map((r) => r.name).join(', ') || 'none'}`);
      out(
        `statuses: ${JSON.stringify(report.byStatus)}; outcome as the order kind predicts: ${outcomes.matched}/${outcomes.total}; reasons: ${JSON.stringify(outcomes.reasons)}`,
      );
      out(
        `history: ${history.transitions} transitions, ${history.gaps} revisions without history (crash between commit and history write)`,
      );
      const problems: string[] = [];
      if (unclean.length) problems.push(`did not stop cleanly on SIGTERM: ${unclean.join(', ')}`);
      for (const [i, share] of shares.entries())
        if (share === 0) problems.push(`${orchestrators[i]!.name} processed no event: work was not spread`);
      if (report.sagas === 0) problems.push('no saga was started');
      for (const v of violations.slice(0, 25)) out(`violation: ${v}`);
      if (violations.length > 25) out(`... and ${violations.length - 25} more violations`);
      for (const p of problems) out(`problem: ${p}`);

      const o = orchestrators.filter((r) => r.summaries.length > 0 || r.running).length;
      const s = cluster.nodes.filter((n) => n.running).length;
      const ok =
        report.terminal === report.sagas &&
        report.duplicateEffects === 0 &&
        violations.length === 0 &&
        problems.length === 0 &&
        o === ORCHESTRATORS &&
        s === NATS_NODES;
      out(`took ${elapsed()} (seed ${args.seed}); ${ok ? 'PASS' : 'FAIL'}`);
      out(
        `scale-test: ${report.sagas} sagas, ${report.terminal} terminal, ${report.duplicateEffects} duplicate effects, ` +
          `${violations.length} invariant violations, ${o} orchestrators, ${s} nats nodes`,
      );
      return ok ? 0 : 1;
    } finally {
      await mongo.close();
    }
  } finally {
    await Promise.allSettled(roles.map((r) => r.stop(5_000)));
    await infra?.stop();
    await cluster?.stop();
  }

  /** Kills the node that leads the event stream (the harshest choice), then brings it back on its ports. */
  async function crashNatsLeader(c: NatsCluster, stream: string): Promise<void> {
    const leader = await streamLeader(c.url, stream);
    const node = c.nodes.find((n) => n.name === `nats-${leader}`) ?? c.nodes[0]!;
    say(`SIGKILL ${node.name} (leader of ${stream}: ${leader ?? 'unknown'})`);
    await node.kill();
    await sleep(5_000);
    await node.restart();
    say(`${node.name} restarted on port ${node.port}`);
  }

  async function crashAndRestart(role: RoleProcess): Promise<void> {
    say(`SIGKILL ${role.name} (pid ${role.pid})`);
    await role.kill();
    await sleep(3_000);
    await startLikeAPod(role);
    say(`${role.name} restarted (pid ${role.pid})`);
  }
}

/**
 * Starts a role; if it exits while starting (e.g. JetStream API requests time out during a leader
 * election), starts it again with a growing pause, as a Deployment's pod would be restarted.
 */
async function startLikeAPod(role: RoleProcess, attempts = 6): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await role.start();
      return;
    } catch (err) {
      if (attempt >= attempts) throw err;
      const why = (err instanceof Error ? err.message : String(err))
        .split('\n')
        .find((l) => l.startsWith('jetsaga:'));
      say(
        `${role.name} exited while starting (${why ?? 'see its log'}); starting it again, as a pod would be`,
      );
      await sleep(1_000 * attempt);
    }
  }
}

async function hasFraudAgent(env: NodeJS.ProcessEnv): Promise<boolean> {
  const help = await run(process.execPath, ['--import', 'tsx', 'bin/jetsaga.ts', 'help'], {
    cwd: repoRoot,
    env,
  });
  return /^\s+fraud-agent\b/m.test(help.stdout);
}

async function streamLeader(url: string, stream: string): Promise<string | undefined> {
  const nc = await connect({ servers: url.split(',') });
  try {
    const jsm = await jetstreamManager(nc);
    return (await jsm.streams.info(stream)).cluster?.leader;
  } catch {
    return undefined;
  } finally {
    await nc.close();
  }
}

async function waitReady(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/readyz`).catch(() => undefined);
    if (res?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`the API at ${url} was not ready within ${timeoutMs} ms`);
    await sleep(250);
  }
}

async function waitAllTerminal(db: Db, limitMs: number, backlog: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + limitMs;
  let lastLog = 0;
  for (;;) {
    const open = await db.collection('sagas').countDocuments({ status: { $nin: [...terminalStatuses] } });
    if (open === 0) return say('every saga is terminal');
    if (Date.now() > deadline)
      return say(`${open} sagas still open after ${limitMs / 1000} s; checking anyway`);
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      say(`${open} sagas still running; consumers: ${await backlog()}`);
    }
    await sleep(500);
  }
}

/** Pending and unacked messages per durable consumer: where a stuck saga's message waits, if anywhere. */
async function consumerBacklog(url: string, topo: Topology): Promise<string> {
  const nc = await connect({ servers: url.split(',') });
  try {
    const jsm = await jetstreamManager(nc);
    const parts: string[] = [];
    for (const stream of [topo.streams.evt, topo.streams.cmd]) {
      for await (const c of jsm.consumers.list(stream)) {
        parts.push(
          `${c.name} pending ${c.num_pending} unacked ${c.num_ack_pending} redelivered ${c.num_redelivered}`,
        );
      }
    }
    return parts.join('; ');
  } catch (err) {
    return `unavailable (${String(err)})`;
  } finally {
    await nc.close();
  }
}

/** For a failed run: every saga that did not end, with its history, for the post-mortem. */
async function dumpOpenSagas(db: Db, file: string): Promise<number> {
  const open = await db
    .collection<{ _id: string }>('sagas')
    .find({ status: { $nin: [...terminalStatuses] } }, { projection: { snapshot: 0 } })
    .limit(50)
    .toArray();
  if (open.length === 0) return 0;
  const withHistory = await Promise.all(
    open.map(async (doc) => ({
      ...doc,
      history: await db.collection('saga_history').find({ sagaId: doc._id }).sort({ rev: 1 }).toArray(),
    })),
  );
  await writeFile(file, JSON.stringify(withHistory, null, 2));
  return open.length;
}

/** Informational: a completing order may still compensate on a step timeout while things crash. */
async function expectedOutcomes(
  db: Db,
  orders: ReturnType<typeof planOrders>,
): Promise<{ matched: number; total: number; reasons: Record<string, number> }> {
  const expect = new Map(orders.map((o) => [o.input.orderId!, o.expect]));
  const docs = await db
    .collection('sagas')
    .find({}, { projection: { status: 1, reason: 1, 'context.orderId': 1 } })
    .toArray();
  const matched = docs.filter(
    (d) => expect.get((d.context as { orderId?: string } | null)?.orderId ?? '') === d.status,
  ).length;
  // Why sagas did not complete, with the participant's detail cut off: "payment-declined: card-declined".
  const reasons: Record<string, number> = {};
  for (const d of docs) {
    if (typeof d.reason !== 'string' || !d.reason) continue;
    const key = d.reason.split(':')[0]!;
    reasons[key] = (reasons[key] ?? 0) + 1;
  }
  return { matched, total: docs.length, reasons };
}

function lastSummary(r: RoleProcess): LogLine | undefined {
  return r.summaries.at(-1);
}

function describeReplica(r: RoleProcess): string {
  const s = lastSummary(r);
  const lives = r.lives > 1 ? ` (${r.lives} lives: SIGKILLed and restarted)` : '';
  if (!s) return `no summary${lives}`;
  const fields = Object.entries(s)
    .filter(([k, v]) => typeof v === 'number' && !['level', 'pid', 'time'].includes(k))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `${s.msg}: ${fields}${lives}`;
}

// Every exit path takes the children down (killOnExit, on 'exit'): a normal end, an error, Ctrl-C, or
// the run limit.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    say(`${signal}: killing every child`);
    process.exit(130);
  });
}
const limit = setTimeout(() => {
  say(`run limit of ${RUN_LIMIT_MS / 1000} s reached: killing every child`);
  process.stdout.write('scale-test: aborted, run limit reached\n');
  process.exit(1);
}, RUN_LIMIT_MS);
limit.unref();

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
    process.exit(1);
  },
);
