import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Infra } from '../../runtime/dev/index.ts';
import { topology } from '../../runtime/messaging/index.ts';
import { ProcessCluster } from '../cluster.ts';
import { order, ownLocalInfra, waitUntil } from '../harness.ts';
import { checkOrderInvariants, checkSagaHistory, seededStock } from '../invariants.ts';

/**
 * Each guarantee on its own, against real processes, a real nats-server and a real
 * MongoDB-wire server: no saga lost, no effect twice, whatever dies when.
 */
describe('exactly-once effects under crashes', () => {
  let infra: Infra;
  let cluster: ProcessCluster | undefined;
  beforeAll(async () => {
    // Own servers: some tests stop or freeze them.
    infra = await ownLocalInfra();
  });
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });
  afterAll(async () => {
    await infra?.stop();
  });

  const mix = (prefix: string) => [
    order({ orderId: `${prefix}-a` }),
    order({ orderId: `${prefix}-b`, items: [{ sku: 'SKU-5', qty: 3, unitPrice: 4 }] }),
    order({ orderId: `${prefix}-c`, payment: { token: 'tok_declined' } }),
    order({ orderId: `${prefix}-d`, shippingAddress: { ...order().shippingAddress, country: 'AQ' } }),
  ];

  async function expectInvariants(c: ProcessCluster) {
    const report = await checkOrderInvariants(c.db, { initialStock: seededStock });
    expect(report.violations).toEqual([]);
    expect(report.duplicateEffects).toBe(0);
    expect(report.terminal).toBe(report.sagas);
    // One chain of transitions per saga, with no revision missing from the inspector's record.
    await expect.poll(async () => (await checkSagaHistory(c.db)).gaps, { timeout: 10_000 }).toBe(0);
    expect((await checkSagaHistory(c.db)).violations).toEqual([]);
  }

  it('crash between persist and publish: the outbox is recovered, nothing lost or doubled', async () => {
    cluster = new ProcessCluster(infra);
    const orchestrator = cluster.withEnv('orchestrator', { JETSAGA_FAULTS: 'after-commit=6' });
    await cluster.start();
    const ids = await Promise.all(mix('pp').map((o) => cluster!.order(o)));
    await expect.poll(() => orchestrator.running, { timeout: 30_000 }).toBe(false);
    expect(orchestrator.outputTail()).toContain('crashing at after-commit #6');
    await cluster.withEnv('orchestrator', {}).start();
    await cluster.waitTerminal(ids);
    await expectInvariants(cluster);
  });

  it('crash right after the write that ends a saga: its saga.ended goes out once, and is told once', async () => {
    cluster = new ProcessCluster(infra);
    // The second transition of a lone out-of-stock order is its last: written, then the crash.
    const orchestrator = cluster.withEnv('orchestrator', { JETSAGA_FAULTS: 'after-commit=2' });
    await cluster.start();
    const id = await cluster.order(
      order({ orderId: 'end-crash', items: [{ sku: 'SKU-OUT', qty: 1, unitPrice: 1 }] }),
    );
    await expect.poll(() => orchestrator.running, { timeout: 30_000 }).toBe(false);
    expect(orchestrator.outputTail()).toContain('crashing at after-commit #2');
    const [ended] = await cluster.waitTerminal([id]);
    expect(ended).toMatchObject({ status: 'compensated', reason: 'out-of-stock' });
    // The outbox still holds the end: the restarted orchestrator's sweep publishes it.
    expect(Object.keys(ended!.outbox)).toEqual([`${id}:ended`]);
    await cluster.withEnv('orchestrator', {}).start();
    const notifications = cluster.db.collection('notifications');
    await waitUntil(() => notifications.findOne({ _id: `${id}:ended` } as never), 'the end to be told');
    const nc = await connect({ servers: infra.natsUrl });
    try {
      const jsm = await jetstreamManager(nc);
      const topo = topology(cluster.ns);
      const subject = topo.evtSubject('saga.ended');
      const info = await jsm.streams.info(topo.streams.evt, { subjects_filter: subject });
      expect(info.state.subjects?.[subject]).toBe(1);
    } finally {
      await nc.close();
    }
    expect(await notifications.countDocuments({ orderId: 'end-crash' })).toBe(1);
    await expectInvariants(cluster);
  });

  it('crash between publish and ack: the redelivered event is recognised, nothing doubled', async () => {
    cluster = new ProcessCluster(infra);
    const orchestrator = cluster.withEnv('orchestrator', { JETSAGA_FAULTS: 'after-publish=6' });
    await cluster.start();
    const ids = await Promise.all(mix('pa').map((o) => cluster!.order(o)));
    await expect.poll(() => orchestrator.running, { timeout: 30_000 }).toBe(false);
    await cluster.withEnv('orchestrator', {}).start();
    await cluster.waitTerminal(ids);
    await expectInvariants(cluster);
  });

  it('a duplicate beyond the dedup window (fresh msg ids) has no effect', async () => {
    cluster = new ProcessCluster(infra);
    await cluster.start();
    const ids = await Promise.all(mix('dup').map((o) => cluster!.order(o)));
    await cluster.waitTerminal(ids);
    const before = await cluster.db.collection('inventory_stock').find({}).sort({ _id: 1 }).toArray();
    const nc = await connect({ servers: infra.natsUrl });
    const jsm = await jetstreamManager(nc);
    const topo = topology(cluster.ns);
    let republished = 0;
    for (const stream of [topo.streams.cmd, topo.streams.evt]) {
      const info = await jsm.streams.info(stream);
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq });
        if (!m) continue;
        // A new Nats-Msg-Id: the stream cannot recognise it, only the receivers' inboxes can.
        await jsm
          .jetstream()
          .publish(m.subject, m.data, { msgID: `late-${stream}-${seq}`, headers: m.header });
        republished++;
      }
    }
    expect(republished).toBeGreaterThan(20);
    // Every durable reader has handled (and acked) every copy: whatever they would do with them, they did.
    await waitUntil(
      async () => {
        for (const stream of [topo.streams.cmd, topo.streams.evt])
          for await (const ci of jsm.consumers.list(stream))
            if (ci.config.durable_name && ci.num_pending + ci.num_ack_pending > 0) return false;
        return true;
      },
      'every consumer to have handled the copies',
      30_000,
      100,
    );
    await nc.close();
    expect(await cluster.db.collection('inventory_stock').find({}).sort({ _id: 1 }).toArray()).toEqual(
      before,
    );
    await expectInvariants(cluster);
  });

  it('the store down for several seconds: work waits and resumes', async () => {
    cluster = new ProcessCluster(infra);
    await cluster.start();
    const ids = await Promise.all(mix('sd').map((o) => cluster!.order(o)));
    const store = infra.mongo!.pid!;
    process.kill(store, 'SIGSTOP');
    try {
      // Frozen until it shows: the API's readiness says the store does not answer (a 2 s probe).
      await waitUntil(
        async () => {
          const res = await fetch(`${cluster!.api}/readyz`);
          const body = (await res.json()) as { checks?: Record<string, string> };
          return res.status === 503 && body.checks?.mongo === 'down';
        },
        'the API to find the store unreachable',
        30_000,
        100,
      );
    } finally {
      process.kill(store, 'SIGCONT');
    }
    await cluster.waitTerminal(ids, 90_000);
    await expectInvariants(cluster);
  });

  it('a nats-server restart mid-run loses nothing', async () => {
    cluster = new ProcessCluster(infra);
    await cluster.start();
    const ids = await Promise.all(mix('nr').map((o) => cluster!.order(o)));
    await infra.nats!.restart();
    ids.push(...(await Promise.all(mix('nr2').map((o) => cluster!.order(o)))));
    await cluster.waitTerminal(ids, 90_000);
    await expectInvariants(cluster);
  });

  it('SIGTERM mid-flight: every role exits 0 in time, and the work finishes after a restart', async () => {
    cluster = new ProcessCluster(infra);
    await cluster.start();
    const ids = await Promise.all([...mix('st'), ...mix('st2')].map((o) => cluster!.order(o)));
    // In time: stop(8_000) is true only for a process that exited 0 by itself within 8 s.
    const clean = await Promise.all(Object.values(cluster.roles).map((r) => r.stop(8_000)));
    expect(clean.every(Boolean)).toBe(true);
    for (const r of Object.values(cluster.roles)) await r.start();
    await cluster.waitTerminal(ids);
    await expectInvariants(cluster);
  });
});
