import { rm } from 'node:fs/promises';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Infra, type NatsCluster, startNatsCluster } from '../../runtime/dev/index.ts';
import { topology } from '../../runtime/messaging/index.ts';
import { ProcessCluster } from '../cluster.ts';
import { order, waitUntil } from '../harness.ts';
import { checkOrderInvariants, checkSagaHistory, seededStock } from '../invariants.ts';

/**
 * A 3-node NATS cluster with every stream on 3 replicas loses its quorum (two nodes down at once:
 * publishes fail), then gets it back; later one node comes back with its data directory wiped and
 * must catch up from the others. Sagas started before, during and after all complete, nothing
 * acknowledged is lost and no effect happens twice. Real processes for every role.
 */
describe('a NATS cluster that loses its quorum', () => {
  let nats: NatsCluster;
  let cluster: ProcessCluster;
  const ids: string[] = [];
  let n = 0;
  const probeStream = 'QUORUM_PROBE';

  beforeAll(async () => {
    nats = await startNatsCluster({ nodes: 3, log: () => undefined });
    const infra: Infra = {
      mode: 'env',
      natsUrl: nats.url,
      mongoUrl: inject('mongoUrl'),
      mongoKind: 'external',
      describe: () => `nats cluster ${nats.url}`,
      stop: async () => undefined,
    };
    cluster = new ProcessCluster(infra, { JETSAGA_STREAM_REPLICAS: '3' });
    await cluster.start();
    // A stream of the test's own, on 3 replicas like the runtime's, to probe whether publishes are acked.
    const nc = await connect({ servers: nats.url.split(',') });
    try {
      await (
        await jetstreamManager(nc)
      ).streams.add({ name: probeStream, subjects: [`${probeStream}.>`], num_replicas: 3 });
    } finally {
      await nc.close();
    }
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    await nats?.stop();
  });

  /** Starts `count` orders at once, each of its own customer; resolves with their saga ids once accepted. */
  const orders = (count: number) =>
    Promise.all(
      Array.from({ length: count }, () => {
        const i = n++;
        return cluster.order(
          order({
            orderId: `q-${i}`,
            customerId: `q-cust-${i}`,
            items: [{ sku: `SKU-${(i % 5) + 1}`, qty: 1, unitPrice: 7 }],
            ...(i % 4 === 3 ? { payment: { token: 'tok_declined' } } : {}),
          }),
        );
      }),
    ).then((started) => {
      ids.push(...started);
      return started;
    });

  /** A publish to the probe stream, as a client of the cluster: resolves true once acked. */
  async function publishAcked(): Promise<boolean> {
    const nc = await connect({ servers: nats.url.split(','), maxReconnectAttempts: 0 }).catch(() => null);
    if (!nc) return false;
    try {
      const js = jetstream(nc, { timeout: 1_000 });
      await js.publish(`${probeStream}.ping`, '{}');
      return true;
    } catch {
      return false;
    } finally {
      await nc.close();
    }
  }

  async function expectInvariants() {
    const report = await checkOrderInvariants(cluster.db, { initialStock: seededStock });
    expect(report.violations).toEqual([]);
    expect(report.duplicateEffects).toBe(0);
    expect(report.terminal).toBe(report.sagas);
    const history = await checkSagaHistory(cluster.db);
    expect(history.violations).toEqual([]);
    expect(history.gaps).toBe(0);
  }

  it('two nodes down at once: publishes fail; sagas started before, during and after all complete', async () => {
    await orders(4);
    await cluster.waitTerminal(ids);
    const [, n2, n3] = nats.nodes;
    await Promise.all([n2!.kill(), n3!.kill()]);
    try {
      // Without a quorum nothing is stored: a publish is not acked.
      expect(await publishAcked()).toBe(false);
      // The API still accepts sagas: each is stored with its start event in its outbox.
      await orders(4);
    } finally {
      await Promise.all([n2!.restart(), n3!.restart()]);
    }
    await nats.waitForJetStream();
    await waitUntil(() => publishAcked(), 'the cluster to ack publishes again');
    await orders(4);
    await cluster.waitTerminal(ids, 120_000);
    await expectInvariants();
  }, 240_000);

  it('a node restarted with its data wiped catches up from the others, and nothing is lost', async () => {
    const node = nats.nodes[2]!;
    await node.kill();
    await rm(path.join(node.dataDir!, 'jetstream'), { recursive: true, force: true });
    await orders(4);
    await node.restart();
    const nc = await connect({ servers: nats.url.split(',') });
    try {
      // No API check at creation: the node just restarted may not answer JetStream requests yet.
      const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: 2_000 });
      const topo = topology(cluster.ns);
      // Every replica of both streams current again, the wiped one included. A request that times
      // out while the wiped node catches up is asked again.
      await waitUntil(
        async () => {
          try {
            for (const stream of [topo.streams.cmd, topo.streams.evt]) {
              const si = await jsm.streams.info(stream);
              const replicas = si.cluster?.replicas ?? [];
              if (replicas.length !== 2 || !replicas.every((r) => r.current && !r.offline)) return false;
            }
            return true;
          } catch {
            return false;
          }
        },
        'every stream replica to be current after the wiped node rejoined',
        120_000,
      );
    } finally {
      await nc.close();
    }
    await orders(4);
    await cluster.waitTerminal(ids, 120_000);
    await expectInvariants();
  }, 240_000);
});
