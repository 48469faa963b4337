/**
 * The chaos suite: every role as its own OS process on local infrastructure, orders (and every
 * tenth start a restock) started through the API at a steady rate, and meanwhile, from a seeded schedule, the faults asked for with
 * `--faults` (a comma list, or `all`; default `kill`):
 *
 *   kill     SIGKILLed and restarted roles, a restart of the nats-server and of the MongoDB-wire server
 *   pause    an orchestrator or participant frozen (SIGSTOP) past the ack wait, then woken; a second
 *            orchestrator and inventory replica take the work meanwhile (faults.ts)
 *   network  through toxiproxy, between every role and NATS and the store: latency with jitter, a
 *            bandwidth limit, connections reset mid-stream, a half-open link past the ack wait, a role
 *            cut off from NATS only or from the store only past the ack wait (network.ts)
 *   quorum   a 3-node NATS cluster, streams on 3 replicas: two nodes killed at once and restarted, one
 *            node restarted with its data wiped (servers.ts, faults.ts)
 *   disk     JetStream's store on a tmpfs that fills up until a publish fails; freed, the node
 *            restarted (root only; skipped with a line saying why otherwise)
 *
 * and, whatever the faults, commands and events published again (same msg id, and fresh ids as after
 * the dedup window), malformed and poison messages. Then the invariants are checked straight from
 * the stores and the streams, and for each fault how long after it ended the completion rate was
 * back to 90 % of its level before it (load.ts).
 *
 *   npm run chaos -- --sagas 300 --kills 8 --seed 7
 *   npm run chaos -- --faults all --sagas 2000 --seed 3 [--rate 10] [--network 6] [--pauses 2]
 *
 * Last line: `chaos: <n> sagas, <t> terminal, <l> lost, <d> duplicate effects, <v> invariant
 * violations, <k> kills, <r> restarts, <p> pauses, <x> network faults, <q> quorum losses, <f>
 * disk-full, recovery p max <s> s`
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { BSON, MongoClient } from 'mongodb';
import { type DeadLetter, DeadLetterSchema, topology } from '../../runtime/messaging/index.ts';
import { type Envelope } from '../../runtime/wire/index.ts';
import type { SagaDoc } from '../../runtime/store/index.ts';
import { Cluster, orderParticipants, roleArgs } from '../cluster.ts';
import { appForTests } from '../dist.ts';
import { checkOrderInvariants, checkSagaHistory, seededStock } from '../invariants.ts';
import { planOrders, prng } from '../scale/orders.ts';
import {
  type Act,
  type Counters,
  diskActs,
  ensureProbe,
  type FaultContext,
  type FaultKind,
  networkActs,
  parseFaults,
  pauseActs,
  place,
  quorumActs,
  scheduleMs,
} from './faults.ts';
import { CompletionSampler, type FaultSpan, type PlannedStart, recoveryOf, SteadyLoad } from './load.ts';
import { ChaosNetwork, type NetworkFaultType, parseNetworkTypes } from './network.ts';
import { startServers } from './servers.ts';

export interface Args {
  sagas: number;
  kills: number;
  seed: number;
  /** Default `['kill']`: today's run. */
  faults?: FaultKind[];
  /**
   * Saga starts per second. Default: kill only, the pace the kill-only run always had (its sagas over
   * max(4 s, 40 ms a saga)); with other faults, 10/s, or less when the sagas would not last the
   * schedule of faults.
   */
  rate?: number;
  /** Network faults (default 6: each type once). */
  network?: number;
  /** The network fault types drawn from (default all of networkFaultTypes). */
  networkTypes?: NetworkFaultType[];
  /** Pauses (default 2: an orchestrator, then a participant). */
  pauses?: number;
}

const usage =
  'use --sagas N --kills K --seed S --faults kill|pause|network|quorum|disk|all (a comma list) ' +
  '--rate R (starts per second) --network X --network-types T,... --pauses P';

function parseArgs(argv: string[]): Args {
  const out: Args = { sagas: 100, kills: 6, seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const raw = argv[++i];
    const key = flag.replace(/^--/, '');
    if (raw === undefined) throw new Error(`option ${flag} needs a value: ${usage}`);
    if (key === 'faults') {
      out.faults = parseFaults(raw);
      continue;
    }
    if (key === 'network-types') {
      out.networkTypes = parseNetworkTypes(raw);
      continue;
    }
    const value = Number(raw);
    if (key === 'rate') {
      if (!(value > 0)) throw new Error(`invalid --rate ${raw}: a number of starts per second > 0`);
      out.rate = value;
      continue;
    }
    if (
      !['sagas', 'kills', 'seed', 'network', 'pauses'].includes(key) ||
      !Number.isInteger(value) ||
      value < 0
    )
      throw new Error(`unknown or invalid option ${flag} ${raw}: ${usage}`);
    (out as unknown as Record<string, number>)[key] = value;
  }
  if (out.sagas < 1) throw new Error('--sagas must be at least 1');
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stdout = (line: string) => void process.stdout.write(`${line}\n`);
const terminalStatuses: Array<SagaDoc['status']> = ['completed', 'compensated', 'failed', 'cancelled'];
/**
 * The window the completion rate is measured over, before a fault and after it: 5 s, or the time of
 * 5 starts at a slower rate (at most 15 s), so that a window holds enough completions to compare.
 */
const rateWindowMs = (rate: number) => Math.min(15_000, Math.max(5_000, (5 / rate) * 1000));

export async function runChaos(args: Args, say: (line: string) => void = stdout): Promise<number> {
  const faults = args.faults ?? ['kill'];
  const on = (k: FaultKind) => faults.includes(k);
  const killOnly = faults.length === 1 && on('kill');
  const rand = prng(args.seed);
  const started = Date.now();
  const servers = await startServers({ quorum: on('quorum'), disk: on('disk') }, say);
  const ns = `chaos${randomBytes(3).toString('hex')}`;
  const dbName = `jetsaga_${ns}`;
  const logDir = mkdtempSync(path.join(tmpdir(), 'jetsaga-chaos-'));
  // "Longer than the ack wait" stays short with the faults beyond kill.
  const ackWaitMs = killOnly ? 10_000 : 2_000;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NATS_URL: servers.natsUrl,
    MONGO_URL: servers.mongoUrl,
    JETSAGA_NAMESPACE: ns,
    JETSAGA_MONGO_DB: dbName,
    JETSAGA_HTTP_PORT: '0',
    JETSAGA_AUTH: 'off',
    LOG_LEVEL: 'info',
    // Bounds that outlast a server restart on a busy 2-core machine (about 30 s of retries)
    // while poison still exhausts its attempts within the run.
    JETSAGA_MAX_DELIVER: '12',
    JETSAGA_RETRY_BASE_MS: '100',
    JETSAGA_RETRY_MAX_MS: '3000',
    JETSAGA_ACK_WAIT_MS: String(ackWaitMs),
    JETSAGA_SWEEP_INTERVAL_MS: '1000',
    JETSAGA_OUTBOX_GRACE_MS: '1000',
    JETSAGA_SHUTDOWN_TIMEOUT_MS: '5000',
    // The restock agent acts within the run: a shop day of a second, a week of history before it
    // recommends, a two-day lead time; the orders of the thinly stocked SKU-10 bring it there.
    JETSAGA_RESTOCK_DAY_MS: '1000',
    JETSAGA_RESTOCK_MIN_HISTORY_DAYS: '7',
    JETSAGA_RESTOCK_LEAD_TIME_DAYS: '2',
    JETSAGA_RESTOCK_FORECAST_EVERY_MS: '2000',
    ...(servers.natsNodes.length > 1 ? { JETSAGA_STREAM_REPLICAS: String(servers.natsNodes.length) } : {}),
  };
  const counters: Counters = { kills: 0, restarts: 0, pauses: 0, network: 0, quorum: 0, disk: 0 };
  const injected = new Set<string>();
  const violations: string[] = [];
  let network: ChaosNetwork | undefined;
  let cluster: Cluster | undefined;
  const mongo = new MongoClient(servers.mongoUrl);
  let connection: Awaited<ReturnType<typeof connect>> | undefined;
  const topo = topology(ns);
  try {
    // The harness's own connection, to every NATS node directly (never through a proxy).
    const nc = await connect({
      servers: servers.natsUrl.split(','),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 200,
    });
    connection = nc;
    // Every role the order and restock sagas need, each its own process; with pauses, a second
    // orchestrator and inventory replica, so that the work of a frozen one moves.
    cluster = new Cluster({
      env,
      logDir,
      roles: [
        ...roleArgs(appForTests, 'roles', [...orderParticipants, 'suppliers']),
        ...(on('pause') ? [['orchestrator'], ['service', 'inventory']] : []),
      ],
    });
    if (on('network')) {
      network = await ChaosNetwork.start(say);
      // Each role through proxies of its own, toward every NATS node and toward the store.
      for (const name of Object.keys(cluster.roles))
        cluster.withEnv(
          name,
          await network.addRole(name, servers.natsUpstreams, new URL(servers.mongoUrl).host),
        );
    }
    const roles = cluster.list();
    const api = cluster.roles.api!;
    // Any role but the API may be killed.
    const victims = roles.filter((r) => r !== api);

    // --- the schedule: `at` in fractions of the horizon until the horizon is known
    const acts: Act[] = [];
    if (on('kill')) {
      for (let k = 0; k < args.kills; k++) {
        const victim = victims[Math.floor(rand() * victims.length)]!;
        acts.push({
          at: rand(),
          name: `SIGKILL ${victim.name}`,
          fault: true,
          slotMs: 8000,
          run: () =>
            retrying(async () => {
              await victim.kill();
              counters.kills++;
              await sleep(200 + rand() * 1000);
              await victim.start();
              counters.restarts++;
            }, 10),
        });
      }
      const nodes = servers.natsNodes;
      const node = nodes.length > 1 ? nodes[Math.floor(rand() * nodes.length)]! : nodes[0]!;
      acts.push({
        at: rand(),
        name: nodes.length > 1 ? `restart nats-server ${node.name}` : 'restart nats-server',
        fault: true,
        slotMs: 10_000,
        run: () =>
          retrying(async () => {
            await node.restart();
            counters.restarts++;
          }, 10),
      });
      acts.push({
        at: rand(),
        name: 'restart MongoDB-wire server',
        fault: true,
        slotMs: 10_000,
        run: () =>
          retrying(async () => {
            await servers.mongo.restart();
            counters.restarts++;
          }, 10),
      });
    }
    acts.push({
      at: 0.6,
      name: 'replay commands and events',
      fault: false,
      slotMs: 0,
      run: () => retrying(() => replay(nc, topo, rand, 20), 10),
    });
    acts.push({
      at: 0.3,
      name: 'inject poison',
      fault: false,
      slotMs: 0,
      run: () => injectPoison(nc, topo, injected),
    });
    const ctx: FaultContext = {
      rand,
      ackWaitMs,
      counters,
      servers,
      nc,
      probe: { stream: `CHAOS_PROBE_${ns}`, subject: `chaos-probe-${ns}` },
    };
    if (on('pause')) acts.push(...pauseActs(ctx, roles, args.pauses ?? 2));
    if (on('network') && network)
      acts.push(...networkActs(ctx, network, roles, args.network ?? 6, args.networkTypes));
    if (on('quorum')) acts.push(...quorumActs(ctx));
    if (on('disk')) acts.push(...diskActs(ctx));

    const defaultRate = killOnly
      ? (args.sagas * 1000) / Math.max(4000, args.sagas * 40)
      : Math.min(10, (args.sagas * 1000) / scheduleMs(acts));
    const rate = args.rate ?? defaultRate;
    const horizonMs = (args.sagas * 1000) / rate;
    for (const a of acts) a.at *= horizonMs;
    if (!killOnly) place(acts, rand, horizonMs);

    say(
      `chaos: seed ${args.seed}, ${args.sagas} sagas, ${on('kill') ? args.kills : 0} kills; ` +
        `faults ${faults.join(',')}; ${rate.toFixed(2)} starts/s over ${(horizonMs / 1000).toFixed(0)} s; ` +
        `ack wait ${ackWaitMs} ms; ${servers.describe}; logs in ${logDir}`,
    );
    if (on('disk') && servers.diskSkipped) say(`chaos: disk faults skipped: ${servers.diskSkipped}`);
    if (!killOnly && horizonMs + 1 < scheduleMs(acts))
      say(
        `chaos: note: ${args.sagas} sagas at ${rate}/s last ${(horizonMs / 1000).toFixed(0)} s, the faults ` +
          `need ${(scheduleMs(acts) / 1000).toFixed(0)} s: they follow each other with less time to recover`,
      );

    await cluster.start();
    await mongo.connect();
    const db = mongo.db(dbName);
    if (servers.cluster || servers.diskDir) await retrying(() => ensureProbe(ctx));

    // --- the load: every order through the API at a steady rate, and the completion rate sampled
    const orders = planOrders(args.sagas, args.seed, ns);
    // Every tenth start is a restock instead of an order: its receipt adds to the stock documents the
    // orders move, under the same faults, and the invariants count it.
    // Every third order buys the thinly stocked SKU-10 (120 units) instead: it runs low within the
    // run, and the restock agent's own restock sagas go through the same faults.
    const starts: PlannedStart[] = orders.map((o, i) =>
      i % 10 === 9
        ? restockStart(ns, i)
        : {
            type: 'order-fulfillment',
            key: o.input.orderId!,
            input:
              i % 3 === 1 && !o.input.items!.some((it) => it.sku === 'SKU-OUT')
                ? { ...o.input, items: [{ sku: 'SKU-10', qty: 4, unitPrice: 4 }] }
                : o.input,
          },
    );
    const t0 = Date.now();
    const load = new SteadyLoad({ starts, rate, api: () => api.url ?? cluster!.api });
    const loading = load.run(t0);
    const sampler = new CompletionSampler(
      t0,
      () => db.collection<SagaDoc>('sagas').countDocuments({ status: { $in: terminalStatuses } }),
      () => load.fired,
    );
    sampler.start();

    const spans: FaultSpan[] = [];
    for (const act of acts) {
      await sleep(Math.max(0, t0 + act.at - Date.now()));
      const start = Date.now() - t0;
      say(`chaos: t+${(start / 1000).toFixed(1)}s ${act.name}`);
      try {
        const detail = await act.run();
        if (detail) say(`chaos:   ${detail}`);
      } catch (err) {
        violations.push(`harness: ${act.name} failed: ${err instanceof Error ? err.message : String(err)}`);
        say(`chaos:   failed: ${String(err)}`);
      }
      if (act.fault) spans.push({ name: act.name, start, end: Date.now() - t0 });
    }
    await loading;
    for (const f of load.failures.slice(0, 10)) say(`chaos: start given up: ${f}`);
    const accepted = load.accepted;

    // --- settle: every accepted saga terminal (bounded)
    const deadline = Date.now() + 5 * 60_000;
    let pending = accepted.length;
    while (Date.now() < deadline) {
      pending = await db.collection<SagaDoc>('sagas').countDocuments({
        _id: { $in: accepted },
        status: { $nin: terminalStatuses },
      });
      if (pending === 0) break;
      await sleep(500);
    }
    // The sagas the restock agent started (not planned): terminal too, within the same bound.
    while (Date.now() < deadline) {
      const running = await db
        .collection<SagaDoc>('sagas')
        .countDocuments({ status: { $nin: terminalStatuses } });
      if (running === 0) break;
      await sleep(500);
    }
    // One more sample with everything in.
    await sleep(1100);
    sampler.stop();
    // Poison for an unknown saga is retried before it is dead-lettered: give it its bounded time.
    await waitForDeadLetters(nc, topo, injected, 60_000);
    await cluster.stop(15_000);

    // --- the verdict, from the stores and the streams only
    const report = await checkOrderInvariants(db, { initialStock: seededStock });
    const docs = await db.collection<SagaDoc>('sagas').countDocuments({ _id: { $in: accepted } });
    // Lost: an order the API took (or should have) that has no saga at all.
    const lost = args.sagas - docs;
    const letters = await retrying(() => deadLetters(nc, topo));
    const letterIds = new Set(letters.map((l) => l.headers['Nats-Msg-Id'] ?? ''));
    violations.push(...report.violations);
    for (const id of injected)
      if (!letterIds.has(id)) violations.push(`injected poison ${id} is not in the DLQ`);
    for (const l of letters) {
      if (!injected.has(l.headers['Nats-Msg-Id'] ?? ''))
        violations.push(`unexpected dead letter ${l.id}: ${l.reason}: ${l.error}`);
    }
    const history = await checkSagaHistory(db);
    violations.push(...history.violations);
    if (history.gaps > 0) violations.push(`${history.gaps} transitions missing from saga_history`);
    const failed = report.byStatus.failed ?? 0;
    if (failed > 0) violations.push(`${failed} sagas ended failed`);
    for (const v of violations.slice(0, 30)) say(`chaos: violation: ${v}`);
    say(
      `chaos: by status ${JSON.stringify(report.byStatus)}; ${letters.length} dead letters; ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    say(
      `chaos: history: ${history.transitions} transitions of ${history.sagas} sagas, ${history.contextsChecked} contexts rebuilt from their entries and compared with the saga's`,
    );
    const agentRestocks = await db
      .collection<SagaDoc>('sagas')
      .find({ type: 'restock', 'input.recommendationId': /^rec-/ }, { projection: { status: 1 } })
      .toArray();
    say(
      `chaos: restock agent: ${agentRestocks.length} restock sagas started, ${agentRestocks.filter((d) => d.status === 'completed').length} completed`,
    );
    // Completed orders commit their holds, so the hot stock documents keep the size of the orders in flight.
    const stock = await db
      .collection<{ _id: string; holds?: Record<string, number>; committed?: number; received?: number }>(
        'inventory_stock',
      )
      .find({})
      .toArray();
    say(
      `chaos: stock: ${stock.length} SKU documents, largest ${Math.max(0, ...stock.map((d) => BSON.calculateObjectSize(d)))} B, ` +
        `${stock.reduce((n, d) => n + Object.keys(d.holds ?? {}).length, 0)} holds left, ` +
        `${stock.reduce((n, d) => n + (d.committed ?? 0), 0)} units committed, ` +
        `${stock.reduce((n, d) => n + (d.received ?? 0), 0)} received`,
    );
    // --- recovery: per fault, from its end until the completion rate is back to 90 % of before
    let recoveryMax = 0;
    for (const span of spans) {
      const r = recoveryOf(sampler.samples, span, rateWindowMs(rate));
      recoveryMax = Math.max(recoveryMax, r.seconds);
      say(
        `chaos: recovery: ${span.name} (t+${(span.start / 1000).toFixed(1)}s to t+${(span.end / 1000).toFixed(1)}s): ` +
          `${r.before.toFixed(1)} completions/s before, ` +
          (r.recovered
            ? `back to 90 % ${r.seconds.toFixed(1)} s after`
            : `not back to 90 % within the run (> ${r.seconds.toFixed(1)} s)`),
      );
    }
    const terminal = Math.min(report.terminal, docs);
    const c = counters;
    say(
      `chaos: ${args.sagas} sagas, ${terminal} terminal, ${lost} lost, ${report.duplicateEffects} duplicate effects, ` +
        `${violations.length} invariant violations, ${c.kills} kills, ${c.restarts} restarts, ${c.pauses} pauses, ` +
        `${c.network} network faults, ${c.quorum} quorum losses, ${c.disk} disk-full, recovery p max ${recoveryMax.toFixed(1)} s`,
    );
    return terminal === args.sagas && lost === 0 && report.duplicateEffects === 0 && violations.length === 0
      ? 0
      : 1;
  } finally {
    // A role still frozen or a link still cut would hang the stop.
    for (const r of cluster?.list() ?? []) {
      try {
        if (r.pid) process.kill(r.pid, 'SIGCONT');
      } catch {
        // gone
      }
    }
    await network?.reset();
    await cluster?.stop(5_000);
    await connection?.close().catch(() => undefined);
    await mongo.close().catch(() => undefined);
    await network?.stop().catch(() => undefined);
    await servers.stop();
  }
}

/**
 * A restock of 5 units of a catalog SKU from a supplier that delivers at once; every other one is of
 * `SKU-REFUSED`, which the supplier refuses (compensated). The lead time outlasts any fault.
 */
function restockStart(ns: string, i: number): PlannedStart {
  const purchaseOrderId = `${ns}-po-${i}`;
  return {
    type: 'restock',
    key: purchaseOrderId,
    input: {
      purchaseOrderId,
      recommendationId: `${ns}-rec-${i}`,
      sku: i % 20 === 19 ? 'SKU-REFUSED' : `SKU-${1 + (i % 9)}`,
      qty: 5,
      unitCost: 1,
      supplier: 'acme',
      leadTimeMs: 30 * 60_000,
    },
  };
}

/** The harness's own reads may meet a server that is still coming back: try again for a while. */
async function retrying<T>(f: () => Promise<T>, attempts = 20): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await f();
    } catch (err) {
      if (i >= attempts) throw err;
      await sleep(1000);
    }
  }
}

/** Publishes copies of stored commands and events: half with their msg id, half with a fresh one. */
async function replay(
  nc: Awaited<ReturnType<typeof connect>>,
  topo: ReturnType<typeof topology>,
  rand: () => number,
  n: number,
) {
  const jsm = await jetstreamManager(nc);
  const js = jsm.jetstream();
  for (const stream of [topo.streams.cmd, topo.streams.evt]) {
    const info = await jsm.streams.info(stream);
    for (let i = 0; i < n / 2 && info.state.messages > 0; i++) {
      const seq =
        info.state.first_seq + Math.floor(rand() * (info.state.last_seq - info.state.first_seq + 1));
      const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (!m) continue;
      const msgId = m.header.get('Nats-Msg-Id');
      const fresh = i % 2 === 0 || !msgId;
      await js.publish(m.subject, m.data, {
        msgID: fresh ? `replay-${randomBytes(6).toString('hex')}` : msgId,
        headers: m.header,
      });
    }
  }
}

/** Malformed and poison messages, each with a msg id the DLQ must keep (added to `injected`). */
async function injectPoison(
  nc: Awaited<ReturnType<typeof connect>>,
  topo: ReturnType<typeof topology>,
  injected: Set<string>,
): Promise<void> {
  const js = await retrying(async () => (await jetstreamManager(nc)).jetstream(), 10);
  const env = (over: Partial<Envelope>): Envelope => ({
    id: `poison-${randomBytes(4).toString('hex')}`,
    type: 'inventory.reserve',
    schemaVersion: 1,
    occurredAt: new Date().toISOString(),
    sagaId: `ghost-${randomBytes(4).toString('hex')}`,
    sagaType: 'order-fulfillment',
    correlationId: 'chaos',
    causationId: null,
    data: {},
    ...over,
  });
  const shots: Array<[string, string]> = [
    [topo.cmdSubject('inventory.reserve'), '{"not": "an envelope"'],
    [
      topo.cmdSubject('payment.capture'),
      JSON.stringify(env({ type: 'payment.capture', data: { orderId: 'has spaces!' } })),
    ],
    [topo.cmdSubject('shipping.create-shipment'), JSON.stringify({ ...env({}), type: 'Not-A-Type' })],
    [topo.evtSubject('inventory.reserved'), JSON.stringify(env({ type: 'inventory.reserved' }))],
    [topo.evtSubject('payment.authorized'), 'garbage \u0000 bytes'],
  ];
  for (const [subject, payload] of shots) {
    // Tried again with the same msg id (a fault may be on): stored once, and kept once it is.
    const id = `poison-${randomBytes(6).toString('hex')}`;
    await retrying(() => js.publish(subject, payload, { msgID: id }), 10);
    injected.add(id);
  }
}

async function deadLetters(nc: Awaited<ReturnType<typeof connect>>, topo: ReturnType<typeof topology>) {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(topo.streams.dlq).catch(() => null);
  const out: DeadLetter[] = [];
  if (!info || info.state.messages === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(topo.streams.dlq, { seq }).catch(() => null);
    if (m) out.push(DeadLetterSchema.parse(m.json()));
  }
  return out;
}

/**
 * Until every injected message has a dead letter (by its original msg id): not a count, since a
 * message two consumers read (poison on `payment.authorized`) gives a dead letter per consumer.
 */
async function waitForDeadLetters(
  nc: Awaited<ReturnType<typeof connect>>,
  topo: ReturnType<typeof topology>,
  ids: ReadonlySet<string>,
  ms: number,
) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const letters = await deadLetters(nc, topo).catch(() => []);
    const seen = new Set(letters.map((l) => l.headers['Nats-Msg-Id'] ?? ''));
    if ([...ids].every((id) => seen.has(id))) return;
    await sleep(500);
  }
}

// Run by itself: every role and server it started dies with it (killOnExit), whatever way it exits.
if (import.meta.url === `file://${process.argv[1]}`) {
  let code = 1;
  try {
    code = await runChaos(parseArgs(process.argv.slice(2)));
  } catch (err) {
    process.stderr.write(`chaos: ${err instanceof Error ? err.stack : String(err)}\n`);
  }
  process.exit(code);
}
