/**
 * The chaos suite: every role as its own OS process on local infrastructure, many orders
 * through the API, and meanwhile, from a seeded schedule: SIGKILLed and restarted roles, a
 * restart of the nats-server and of the MongoDB-wire server, commands and events published
 * again (same msg id, and fresh ids as after the dedup window), malformed and poison
 * messages. Then the invariants are checked straight from the stores and the streams.
 *
 *   npm run chaos -- --sagas 300 --kills 8 --seed 7
 *
 * Last line: `chaos: <n> sagas, <t> terminal, <l> lost, <d> duplicate effects, <v> invariant violations, <k> kills, <r> restarts`
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { BSON, MongoClient } from 'mongodb';
import { resolveInfra } from '../../runtime/dev/index.ts';
import { type DeadLetter, DeadLetterSchema, topology } from '../../runtime/messaging/index.ts';
import { type Envelope } from '../../runtime/wire/index.ts';
import type { SagaDoc } from '../../runtime/store/index.ts';
import { Cluster, orderParticipants, roleArgs } from '../cluster.ts';
import { appForTests } from '../dist.ts';
import { checkOrderInvariants, checkSagaHistory, seededStock } from '../invariants.ts';
import { planOrders, prng } from '../scale/orders.ts';

export interface Args {
  sagas: number;
  kills: number;
  seed: number;
}

function parseArgs(argv: string[]): Args {
  const out: Args = { sagas: 100, kills: 6, seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const key = flag.replace(/^--/, '') as keyof Args;
    const value = Number(argv[++i]);
    if (!(key in out) || !Number.isInteger(value) || value < 0) {
      throw new Error(
        `unknown or invalid option ${flag} ${argv[i] ?? ''}: use --sagas N --kills K --seed S (integers)`,
      );
    }
    out[key] = value;
  }
  if (out.sagas < 1) throw new Error('--sagas must be at least 1');
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stdout = (line: string) => void process.stdout.write(`${line}\n`);

export async function runChaos(args: Args, say: (line: string) => void = stdout): Promise<number> {
  const rand = prng(args.seed);
  const started = Date.now();
  const infra = await resolveInfra({
    env: { PATH: process.env.PATH, HOME: process.env.HOME, JETSAGA_CACHE_DIR: process.env.JETSAGA_CACHE_DIR },
    preferLocal: true,
    log: say,
  });
  if (!infra.nats || !infra.mongo) throw new Error('chaos needs local servers it can restart');
  const ns = `chaos${randomBytes(3).toString('hex')}`;
  const dbName = `jetsaga_${ns}`;
  const logDir = mkdtempSync(path.join(tmpdir(), 'jetsaga-chaos-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NATS_URL: infra.natsUrl,
    MONGO_URL: infra.mongoUrl,
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
    JETSAGA_ACK_WAIT_MS: '10000',
    JETSAGA_SWEEP_INTERVAL_MS: '1000',
    JETSAGA_OUTBOX_GRACE_MS: '1000',
    JETSAGA_SHUTDOWN_TIMEOUT_MS: '5000',
  };
  say(
    `chaos: seed ${args.seed}, ${args.sagas} sagas, ${args.kills} kills; ${infra.describe()}; logs in ${logDir}`,
  );

  // Every role the order saga needs, each its own process; any of them but the API may be killed.
  const cluster = new Cluster({ env, logDir, roles: roleArgs(appForTests, 'roles', orderParticipants) });
  const api = cluster.roles.api!;
  const victims = cluster.list().filter((r) => r !== api);
  const mongo = new MongoClient(infra.mongoUrl);
  const nc = await connect({ servers: infra.natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  const topo = topology(ns);
  let kills = 0;
  let restarts = 0;
  const injected = new Set<string>();
  try {
    await cluster.start();
    await mongo.connect();
    const db = mongo.db(dbName);

    // --- the load: every order through the API, in waves
    const orders = planOrders(args.sagas, args.seed, ns);
    const accepted: string[] = [];
    const load = (async () => {
      for (let i = 0; i < orders.length; i += 10) {
        await Promise.all(
          orders.slice(i, i + 10).map(async (o) => {
            for (let attempt = 0; ; attempt++) {
              try {
                const res = await fetch(`${api.url}/v1/saga-types/order-fulfillment/sagas`, {
                  method: 'POST',
                  headers: { 'content-type': 'application/json', 'idempotency-key': o.input.orderId! },
                  body: JSON.stringify(o.input),
                });
                if (res.status === 202 || res.status === 200) {
                  accepted.push(((await res.json()) as { sagaId: string }).sagaId);
                  return;
                }
                if (res.status < 500 || attempt > 30)
                  throw new Error(`start: ${res.status} ${await res.text()}`);
              } catch (err) {
                if (attempt > 30) throw err;
              }
              await sleep(300);
            }
          }),
        );
        await sleep(50);
      }
    })();

    // --- the schedule: kills, two server restarts, replays and poison, spread over the load
    const horizonMs = Math.max(4000, args.sagas * 40);
    type Act = { at: number; name: string; run: () => Promise<void> };
    const acts: Act[] = [];
    for (let k = 0; k < args.kills; k++) {
      const victim = victims[Math.floor(rand() * victims.length)]!;
      acts.push({
        at: rand() * horizonMs,
        name: `SIGKILL ${victim.name}`,
        run: async () => {
          await victim.kill();
          kills++;
          await sleep(200 + rand() * 1000);
          await victim.start();
          restarts++;
        },
      });
    }
    acts.push({
      at: rand() * horizonMs,
      name: 'restart nats-server',
      run: async () => {
        await infra.nats!.restart();
        restarts++;
      },
    });
    acts.push({
      at: rand() * horizonMs,
      name: 'restart MongoDB-wire server',
      run: async () => {
        await infra.mongo!.restart();
        restarts++;
      },
    });
    acts.push({
      at: horizonMs * 0.6,
      name: 'replay commands and events',
      run: () => replay(nc, topo, rand, 20),
    });
    acts.push({
      at: horizonMs * 0.3,
      name: 'inject poison',
      run: async () => {
        for (const id of await injectPoison(nc, topo)) injected.add(id);
      },
    });
    acts.sort((a, b) => a.at - b.at);
    const t0 = Date.now();
    for (const act of acts) {
      await sleep(Math.max(0, t0 + act.at - Date.now()));
      say(`chaos: t+${((Date.now() - t0) / 1000).toFixed(1)}s ${act.name}`);
      // The harness's own connection may be reconnecting after a server restart: try again.
      await retrying(act.run, 10);
    }
    await load;

    // --- settle: every accepted saga terminal (bounded)
    const deadline = Date.now() + 5 * 60_000;
    let pending = accepted.length;
    while (Date.now() < deadline) {
      pending = await db.collection<SagaDoc>('sagas').countDocuments({
        _id: { $in: accepted },
        status: { $nin: ['completed', 'compensated', 'failed', 'cancelled'] },
      });
      if (pending === 0) break;
      await sleep(500);
    }
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
    const violations = [...report.violations];
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
    // Completed orders commit their holds, so the hot stock documents keep the size of the orders in flight.
    const stock = await db
      .collection<{ _id: string; holds?: Record<string, number>; committed?: number }>('inventory_stock')
      .find({})
      .toArray();
    say(
      `chaos: stock: ${stock.length} SKU documents, largest ${Math.max(0, ...stock.map((d) => BSON.calculateObjectSize(d)))} B, ` +
        `${stock.reduce((n, d) => n + Object.keys(d.holds ?? {}).length, 0)} holds left, ` +
        `${stock.reduce((n, d) => n + (d.committed ?? 0), 0)} units committed`,
    );
    const terminal = Math.min(report.terminal, docs);
    say(
      `chaos: ${args.sagas} sagas, ${terminal} terminal, ${lost} lost, ${report.duplicateEffects} duplicate effects, ${violations.length} invariant violations, ${kills} kills, ${restarts} restarts`,
    );
    return terminal === args.sagas && lost === 0 && report.duplicateEffects === 0 && violations.length === 0
      ? 0
      : 1;
  } finally {
    await cluster.stop(5_000);
    await nc.close().catch(() => undefined);
    await mongo.close().catch(() => undefined);
    await infra.stop();
  }
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

/** Malformed and poison messages, each with a msg id the DLQ must keep. */
async function injectPoison(
  nc: Awaited<ReturnType<typeof connect>>,
  topo: ReturnType<typeof topology>,
): Promise<string[]> {
  const js = (await jetstreamManager(nc)).jetstream();
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
  const ids: string[] = [];
  for (const [subject, payload] of shots) {
    const id = `poison-${randomBytes(6).toString('hex')}`;
    await js.publish(subject, payload, { msgID: id });
    ids.push(id);
  }
  return ids;
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
