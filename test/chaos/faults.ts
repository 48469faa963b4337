// The chaos run's fault kinds beyond kill -9, each an act of its seeded schedule: a role frozen past
// the ack wait (`pause`), a role's links slowed, throttled, reset, half-open or cut (`network`, see
// network.ts), a NATS cluster that loses its quorum and a node that comes back wiped (`quorum`), and
// JetStream's disk filling up (`disk`). Also where the acts go on the run's timeline.
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { RoleProcess } from '../../runtime/dev/index.ts';
import type { ChaosNetwork, NetworkFaultType } from './network.ts';
import { networkFaultTypes } from './network.ts';
import type { ChaosServers } from './servers.ts';
import { prng } from '../scale/orders.ts';
import { fillDisk } from '../tmpfs.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const faultKinds = ['kill', 'pause', 'network', 'quorum', 'disk'] as const;
export type FaultKind = (typeof faultKinds)[number];

/** `kill`, `network,pause`, `all`: the kinds asked for, in their canonical order. */
export function parseFaults(spec: string): FaultKind[] {
  const asked = spec.split(',').map((s) => s.trim());
  if (asked.includes('all')) return [...faultKinds];
  for (const k of asked)
    if (!(faultKinds as readonly string[]).includes(k))
      throw new Error(`unknown fault kind ${k}: use ${faultKinds.join('|')}|all, or a comma list of them`);
  return faultKinds.filter((k) => asked.includes(k));
}

/** What the final line counts. */
export interface Counters {
  kills: number;
  restarts: number;
  pauses: number;
  network: number;
  quorum: number;
  disk: number;
}

/** One act of the schedule. */
export interface Act {
  /** When it starts, ms after the load began. */
  at: number;
  name: string;
  /** A fault, whose recovery is measured (replays and poison are not). */
  fault: boolean;
  /** Its place in a schedule of faults one after the other: its own time and some to recover after. */
  slotMs: number;
  /** Does it; may resolve to a more precise description for the log. */
  run: () => Promise<string | void>;
}

export interface FaultContext {
  rand: () => number;
  ackWaitMs: number;
  counters: Counters;
  servers: ChaosServers;
  /** The harness's own connection, to every NATS node directly. */
  nc: NatsConnection;
  /** A stream of the harness's own, on as many replicas as the saga streams, to probe publishes. */
  probe: { stream: string; subject: string };
}

/** Past the ack wait by one to three seconds. */
const pastAckWait = (ctx: FaultContext) => Math.round(ctx.ackWaitMs + 1000 + ctx.rand() * 2000);

/**
 * `count` pauses, alternately of an orchestrator and of a participant process: SIGSTOP past the ack
 * wait, then SIGCONT. With `pause` on, the orchestrator and inventory have a second replica each.
 */
export function pauseActs(ctx: FaultContext, roles: readonly RoleProcess[], count: number): Act[] {
  const orchestrators = roles.filter((r) => r.args[0] === 'orchestrator');
  const participants = roles.filter((r) => r.args[0] === 'service');
  return Array.from({ length: count }, (_, i) => {
    const pool = i % 2 === 0 ? orchestrators : participants;
    const victim = pool[Math.floor(ctx.rand() * pool.length)]!;
    const hold = pastAckWait(ctx);
    return {
      at: 0,
      name: `SIGSTOP ${victim.name} for ${(hold / 1000).toFixed(1)} s`,
      fault: true,
      slotMs: hold + 5000,
      run: async () => {
        const pid = victim.pid;
        if (!pid) return `${victim.name} not running: no pause`;
        process.kill(pid, 'SIGSTOP');
        ctx.counters.pauses++;
        try {
          await sleep(hold);
        } finally {
          try {
            process.kill(pid, 'SIGCONT');
          } catch {
            // Killed meanwhile: nothing to wake.
          }
        }
      },
    };
  });
}

/** `count` network faults: each type once in a seeded order, then seeded types; each on a seeded role. */
export function networkActs(
  ctx: FaultContext,
  network: ChaosNetwork,
  roles: readonly RoleProcess[],
  count: number,
  types: readonly NetworkFaultType[] = networkFaultTypes,
): Act[] {
  const order = [...types];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(ctx.rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return Array.from({ length: count }, (_, i) => {
    const type: NetworkFaultType =
      i < order.length ? order[i]! : types[Math.floor(ctx.rand() * types.length)]!;
    const role = roles[Math.floor(ctx.rand() * roles.length)]!;
    // Each fault draws its own numbers from a generator seeded here, so that the schedule does not
    // depend on when the acts run.
    const own = prng(Math.floor(ctx.rand() * 2 ** 32));
    return {
      at: 0,
      name: `network ${type} on ${role.name}`,
      fault: true,
      slotMs: ctx.ackWaitMs + 3000 + 5000,
      run: async () => {
        ctx.counters.network++;
        return network.inject(type, role.name, own, ctx.ackWaitMs);
      },
    };
  });
}

/**
 * A 3-node cluster's two faults: two nodes killed at once (the quorum lost) and restarted after a few
 * seconds; one node killed, its JetStream directory wiped, restarted.
 */
export function quorumActs(ctx: FaultContext): Act[] {
  const nodes = ctx.servers.natsNodes;
  const cluster = ctx.servers.cluster;
  if (!cluster || nodes.length < 3) return [];
  const first = Math.floor(ctx.rand() * 3);
  const pair = [nodes[first]!, nodes[(first + 1 + Math.floor(ctx.rand() * 2)) % 3]!];
  const hold = Math.round(3000 + ctx.rand() * 2000);
  const wiped = nodes[Math.floor(ctx.rand() * 3)]!;
  return [
    {
      at: 0,
      name: `quorum lost: ${pair.map((n) => n.name).join(' and ')} killed for ${(hold / 1000).toFixed(1)} s`,
      fault: true,
      slotMs: hold + 15_000,
      run: async () => {
        await Promise.all(pair.map((n) => n.kill()));
        ctx.counters.quorum++;
        let acked = true;
        try {
          await sleep(hold);
          acked = await publishAcked(ctx);
        } finally {
          await Promise.all(pair.map((n) => n.restart()));
          ctx.counters.restarts += 2;
        }
        await cluster.waitForJetStream(60_000);
        await until(() => publishAcked(ctx), 60_000);
        return acked ? 'a publish was acked without the quorum (unexpected)' : undefined;
      },
    },
    {
      at: 0,
      name: `${wiped.name} restarted with its JetStream directory wiped`,
      fault: true,
      slotMs: 12_000,
      run: async () => {
        await wiped.kill();
        await rm(path.join(wiped.dataDir!, 'jetstream'), { recursive: true, force: true });
        await wiped.restart();
        ctx.counters.restarts++;
        await cluster.waitForJetStream(60_000);
      },
    },
  ];
}

/**
 * JetStream's disk full: a file takes every byte of the tmpfs, until a publish fails; a few seconds
 * later it is removed and the nodes restarted (nats-server keeps a stream that failed a write out of
 * service until then), one after the other.
 */
export function diskActs(ctx: FaultContext): Act[] {
  const dir = ctx.servers.diskDir;
  if (!dir) return [];
  const hold = Math.round(2000 + ctx.rand() * 2000);
  return [
    {
      at: 0,
      name: `disk full under JetStream for ${(hold / 1000).toFixed(1)} s and more`,
      fault: true,
      slotMs: hold + 20_000,
      run: async () => {
        const filler = path.join(dir, 'filler');
        fillDisk(filler);
        ctx.counters.disk++;
        let failed = false;
        try {
          failed = await until(async () => !(await publishAcked(ctx)), 30_000);
          await sleep(hold);
        } finally {
          rmSync(filler, { force: true });
        }
        for (const node of ctx.servers.natsNodes) {
          await node.restart();
          ctx.counters.restarts++;
        }
        await ctx.servers.cluster?.waitForJetStream(60_000);
        await until(() => publishAcked(ctx), 60_000);
        return failed ? undefined : 'no publish failed on the full disk (unexpected)';
      },
    },
  ];
}

/** The probe stream, on as many replicas as there are NATS nodes. */
export async function ensureProbe(ctx: Pick<FaultContext, 'nc' | 'probe' | 'servers'>): Promise<void> {
  const jsm = await jetstreamManager(ctx.nc);
  await jsm.streams.add({
    name: ctx.probe.stream,
    subjects: [`${ctx.probe.subject}.>`],
    num_replicas: ctx.servers.natsNodes.length,
    max_msgs: 1000,
  });
}

/** Whether a publish of a few KB to the probe stream is stored (acked) within 2 s. */
async function publishAcked(ctx: FaultContext): Promise<boolean> {
  try {
    await jetstream(ctx.nc, { timeout: 2_000 }).publish(`${ctx.probe.subject}.x`, 'x'.repeat(4096));
    return true;
  } catch {
    return false;
  }
}

/** Polls `f` until true or `ms` pass; whether it became true. */
async function until(f: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await f()) return true;
    await sleep(500);
  }
  return false;
}

/** Before the first fault: the load's level, measured. After the last: time to recover. */
export const WARMUP_MS = 6000;
export const TAIL_MS = 6000;

/** The time a sequential schedule of these faults needs. */
export const scheduleMs = (acts: readonly Act[]) =>
  WARMUP_MS + acts.filter((a) => a.fault).reduce((s, a) => s + a.slotMs, 0) + TAIL_MS;

/**
 * The faults one after the other in a seeded order, from WARMUP_MS on, each given its slot (all
 * squeezed alike when the horizon is shorter than they need); the other acts keep their time.
 */
export function place(acts: Act[], rand: () => number, horizonMs: number): void {
  const faults = acts.filter((a) => a.fault);
  for (let i = faults.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [faults[i], faults[j]] = [faults[j]!, faults[i]!];
  }
  const need = scheduleMs(acts) - WARMUP_MS - TAIL_MS;
  const room = Math.max(0, horizonMs - WARMUP_MS - TAIL_MS);
  const scale = need > 0 ? Math.min(1, room / need) : 1;
  let at = WARMUP_MS;
  for (const f of faults) {
    f.at = at;
    at += f.slotMs * scale;
  }
  acts.sort((a, b) => a.at - b.at);
}
