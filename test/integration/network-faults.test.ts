import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ensureToxiproxy,
  type ManagedProcess,
  type NatsCluster,
  startNatsCluster,
  ToxiproxyClient,
  toxiproxyProcess,
} from '../../runtime/dev/index.ts';
import { order, startTestNode, type TestNode, waitUntil } from '../harness.ts';

/**
 * The fault tests' proxy between a role and its servers (toxiproxy): a node whose NATS_URL and
 * MONGO_URL name the proxies, and a cut of either proxy really cuts that node off (its /readyz names
 * the side that went away, and comes back when the link does). A NATS cluster started with
 * `noAdvertise` tells its clients nothing of the other nodes, so a client behind a proxy cannot
 * route around it; without it, the client learns them.
 */
describe('network faults through toxiproxy', () => {
  let proxy: ManagedProcess;
  let api: ToxiproxyClient;
  const hostPort = (url: string) => new URL(url).host;

  beforeAll(async () => {
    proxy = toxiproxyProcess(await ensureToxiproxy({ log: () => undefined }));
    await proxy.start();
    api = new ToxiproxyClient(proxy.url);
  }, 300_000);
  afterAll(async () => {
    await proxy?.stop();
  });

  describe('a node behind proxies', () => {
    let node: TestNode;
    beforeAll(async () => {
      const nats = await api.createProxy('node-nats', hostPort(inject('natsUrl')));
      const mongo = await api.createProxy('node-mongo', hostPort(inject('mongoUrl')));
      node = await startTestNode({
        config: {
          natsUrl: `nats://${nats.listen}`,
          mongoUrl: `mongodb://${mongo.listen}/?directConnection=true`,
        },
      });
    }, 60_000);
    afterAll(async () => {
      await api.reset();
      await node?.destroy();
    });

    const readiness = async () => {
      const res = await node.fetch('/readyz');
      const body = (await res.json()) as { checks: Record<string, string> };
      return { status: res.status, checks: body.checks };
    };

    it('runs sagas through the proxies', async () => {
      const res = await node.post('/v1/saga-types/order-fulfillment/sagas', order({ orderId: 'nf-ok-1' }));
      const { sagaId } = (await res.json()) as { sagaId: string };
      expect((await node.waitForTerminal(sagaId)).status).toBe('completed');
    });

    it('cutting its NATS proxy cuts it off from NATS only, and it is back once the link is', async () => {
      await api.setEnabled('node-nats', false);
      try {
        const down = await waitUntil(async () => {
          const r = await readiness();
          return r.status === 503 && r.checks.nats === 'down' ? r : undefined;
        }, '/readyz to name nats down');
        expect(down.checks.mongo).toBe('ok');
      } finally {
        await api.setEnabled('node-nats', true);
      }
      await waitUntil(async () => (await readiness()).status === 200, '/readyz to answer 200 again');
    });

    it('cutting its store proxy cuts it off from the store only, and it is back once the link is', async () => {
      await api.setEnabled('node-mongo', false);
      try {
        const down = await waitUntil(async () => {
          const r = await readiness();
          return r.status === 503 && r.checks.mongo === 'down' ? r : undefined;
        }, '/readyz to name mongo down');
        expect(down.checks.nats).toBe('ok');
      } finally {
        await api.setEnabled('node-mongo', true);
      }
      await waitUntil(async () => (await readiness()).status === 200, '/readyz to answer 200 again');
      const res = await node.post('/v1/saga-types/order-fulfillment/sagas', order({ orderId: 'nf-ok-2' }));
      const { sagaId } = (await res.json()) as { sagaId: string };
      expect((await node.waitForTerminal(sagaId)).status).toBe('completed');
    });
  });

  describe('a NATS cluster behind a proxy', () => {
    const clusters: NatsCluster[] = [];
    afterAll(async () => {
      await Promise.allSettled(clusters.map((c) => c.stop()));
    });

    /** What a client connected through a proxy to node 1 learns of the cluster's other nodes. */
    async function advertisedThroughProxy(noAdvertise: boolean, name: string): Promise<string[]> {
      const cluster = await startNatsCluster({ nodes: 3, noAdvertise, log: () => undefined });
      clusters.push(cluster);
      const p = await api.createProxy(name, hostPort(cluster.nodes[0]!.url));
      const nc = await connect({ servers: `nats://${p.listen}` });
      try {
        // A round trip: the server's INFO is in. Its connect_urls are the addresses a client adds to
        // its server list and reconnects to; a cluster that advertises may send them in a later INFO.
        await nc.flush();
        const others = () => (nc.info?.connect_urls ?? []).filter((u) => !u.endsWith(p.listen));
        if (noAdvertise) return others();
        return await waitUntil(() => (others().length > 0 ? others() : undefined), `${name}: connect_urls`);
      } finally {
        await nc.close();
      }
    }

    it('with noAdvertise a client learns no other node to route around the proxy; without, it does', async () => {
      expect(await advertisedThroughProxy(true, 'cluster-quiet')).toEqual([]);
      const told = await advertisedThroughProxy(false, 'cluster-told');
      expect(told.length).toBeGreaterThan(0);
    }, 120_000);
  });
});
