import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Infra } from '../../runtime/dev/index.ts';
import { topology } from '../../runtime/messaging/index.ts';
import { orchestratorDurable } from '../../runtime/orchestrator/index.ts';
import { participantDurable } from '../../runtime/participants/index.ts';
import { ProcessCluster } from '../cluster.ts';
import { order, ownLocalInfra, waitUntil } from '../harness.ts';
import { checkOrderInvariants, checkSagaHistory, seededStock } from '../invariants.ts';

/**
 * A process frozen (SIGSTOP: a long GC pause, a noisy host) for longer than the ack wait, while it
 * holds work: the server redelivers that work to the other replica, which finishes the sagas. Woken
 * (SIGCONT), the frozen process goes on with what it held, believing it still owns it: every write
 * it makes is stale and must lose, and no effect may happen twice. Two replicas of the orchestrator
 * and of the inventory service, one of each frozen; real processes, nats-server and store.
 */
describe('a process paused past the ack wait', () => {
  let infra: Infra;
  let cluster: ProcessCluster;
  const ackWaitMs = 2_000;

  beforeAll(async () => {
    infra = await ownLocalInfra();
    cluster = new ProcessCluster(infra, { JETSAGA_ACK_WAIT_MS: String(ackWaitMs) }, [
      ['orchestrator'],
      ['service', 'inventory'],
    ]);
    await cluster.start();
  }, 60_000);
  afterAll(async () => {
    for (const r of Object.values(cluster?.roles ?? {})) if (r.pid) process.kill(r.pid, 'SIGCONT');
    await cluster?.stop();
    await infra?.stop();
  });

  /** Per durable (`orchestrator`, `svc-inventory`, ...): messages delivered and not acked, and not delivered yet. */
  async function consumers(): Promise<Record<string, { ackPending: number; pending: number }>> {
    const nc = await connect({ servers: infra.natsUrl });
    try {
      const jsm = await jetstreamManager(nc);
      const topo = topology(cluster.ns);
      const out: Record<string, { ackPending: number; pending: number }> = {};
      for (const stream of [topo.streams.cmd, topo.streams.evt])
        for await (const c of jsm.consumers.list(stream))
          out[c.name] = { ackPending: c.num_ack_pending, pending: c.num_pending };
      return out;
    } finally {
      await nc.close();
    }
  }

  it('the other replicas finish the sagas; the woken ones lose every stale write and double nothing', async () => {
    const first = [cluster.roles.orchestrator!, cluster.roles['service:inventory']!];
    const second = [cluster.roles['orchestrator#2']!, cluster.roles['service:inventory#2']!];
    const durables = [orchestratorDurable, participantDurable('inventory', topology(cluster.ns)).durable];
    // The second replicas wait: the first ones take every message until they freeze.
    await Promise.all(second.map((r) => r.stop()));
    const ids: string[] = [];
    let n = 0;
    const burst = () =>
      Promise.all(
        Array.from({ length: 8 }, () => {
          const i = n++;
          return cluster.order(
            order({
              orderId: `pz-${i}`,
              customerId: `pz-cust-${i}`,
              items: [{ sku: `SKU-${(i % 5) + 1}`, qty: 1 + (i % 3), unitPrice: 5 }],
              ...(i % 6 === 5 ? { payment: { token: 'tok_declined' } } : {}),
            }),
          );
        }),
      );
    // Frozen with work in their hands: a burst in flight, then SIGSTOP, until the frozen ones are seen
    // holding unacked messages (they cannot ack while frozen, so what is pending then is theirs).
    let held = 0;
    for (let attempt = 0; attempt < 10 && held === 0; attempt++) {
      ids.push(...(await burst()));
      for (const r of first) process.kill(r.pid!, 'SIGSTOP');
      const seen = await consumers();
      held = durables.reduce((sum, d) => sum + (seen[d]?.ackPending ?? 0), 0);
      if (held === 0) for (const r of first) process.kill(r.pid!, 'SIGCONT');
    }
    expect(held).toBeGreaterThan(0);
    try {
      await Promise.all(second.map((r) => r.start()));
      // Past the ack wait, the server gives what the frozen ones hold to the second replicas: every
      // saga ends while the first replicas are still frozen on messages of some of them.
      await cluster.waitTerminal(ids, 90_000);
      expect(first.every((r) => r.running)).toBe(true);
    } finally {
      for (const r of first) process.kill(r.pid!, 'SIGCONT');
    }
    // Awake: whatever they held is stale now. They settle, and nothing has moved twice.
    await waitUntil(
      async () => Object.values(await consumers()).every((c) => c.ackPending === 0 && c.pending === 0),
      'every consumer to have nothing pending once the frozen replicas woke',
    );
    expect([...first, ...second].every((r) => r.running)).toBe(true);
    // The server's view is not theirs: a message the second replicas acked is no longer pending, yet
    // a woken replica may still be in its stale run of it (a hold taken after the order settled,
    // given back a few writes later). A graceful stop waits for every run in hand, so the state
    // checked below is the one they leave, and each must exit cleanly, in time.
    expect(await Promise.all(first.map((r) => r.stop()))).toEqual([true, true]);
    const docs = await cluster.waitTerminal(ids);
    expect(docs.filter((d) => d.status === 'completed').length).toBeGreaterThan(0);
    const report = await checkOrderInvariants(cluster.db, { initialStock: seededStock });
    expect(report.violations).toEqual([]);
    expect(report.duplicateEffects).toBe(0);
    const history = await checkSagaHistory(cluster.db);
    expect(history.violations).toEqual([]);
    expect(history.gaps).toBe(0);
  }, 180_000);
});
