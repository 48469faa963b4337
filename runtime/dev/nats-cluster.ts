// A NATS JetStream cluster of local nats-server processes on loopback, for scale and chaos tests: every
// node has its own client port, cluster (route) port and data dir, and can be killed and restarted on the
// same ports with the same data, like a pod of a StatefulSet.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ensureNatsServer } from './binaries.ts';
import { ManagedProcess } from './local-process.ts';
import { freePort } from './ports.ts';

const HOST = '127.0.0.1';

export interface NatsClusterOptions {
  /** Nodes in the cluster; JetStream needs an odd number >= 3 to survive the loss of one. */
  nodes?: number;
  /** The cluster's name, shared by every node. */
  name?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** How long start() waits for the JetStream meta group to elect a leader. */
  readyTimeoutMs?: number;
  /**
   * Tell clients nothing of the other nodes (`--no_advertise`): a client then reconnects only to the
   * URLs it was given, which is what keeps one behind a proxy from routing around it.
   */
  noAdvertise?: boolean;
}

export interface NatsCluster {
  /** One ManagedProcess per node, in order (`n1`, `n2`, ...). */
  nodes: ManagedProcess[];
  /** Every node's client URL, comma separated: the NATS_URL clients use. */
  url: string;
  /** Waits until JetStream answers through the cluster (a meta leader is elected). */
  waitForJetStream(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a clustered nats-server per node with JetStream on. Route ports are chosen before any node
 * starts, so that each node's `--routes` can name all the others; a node restarted after a kill keeps
 * its ports and data dir and rejoins the cluster.
 */
export async function startNatsCluster(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
  const count = opts.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1) throw new Error(`jetsaga: a NATS cluster needs >= 1 node`);
  const name = opts.name ?? 'jetsaga';
  const bin = await ensureNatsServer({
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  const routePorts: number[] = [];
  while (routePorts.length < count) {
    const port = await freePort();
    if (!routePorts.includes(port)) routePorts.push(port);
  }
  const nodes = routePorts.map(
    (routePort, i) =>
      new ManagedProcess({
        name: `nats-n${i + 1}`,
        command: bin,
        scheme: 'nats',
        storeSubdir: 'jetstream',
        args: ({ host, port, storeDir }) => [
          '-a',
          host,
          '-p',
          String(port),
          '-js',
          '-sd',
          storeDir,
          '--server_name',
          `n${i + 1}`,
          '--cluster_name',
          name,
          '--cluster',
          `nats://${HOST}:${routePort}`,
          '--routes',
          routePorts
            .filter((_, j) => j !== i)
            .map((p) => `nats://${HOST}:${p}`)
            .join(','),
          ...(opts.noAdvertise ? ['--no_advertise'] : []),
        ],
      }),
  );
  const cluster: NatsCluster = {
    nodes,
    get url() {
      return nodes.map((n) => n.url).join(',');
    },
    waitForJetStream: (timeoutMs = opts.readyTimeoutMs ?? 60_000) => waitForJetStream(cluster.url, timeoutMs),
    stop: async () => {
      await Promise.allSettled(nodes.map((n) => n.stop()));
    },
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
    await cluster.waitForJetStream();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/** JetStream's account info needs a meta leader: once it answers, streams can be created. */
async function waitForJetStream(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const nc = await connect({ servers: url.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 2_000, checkAPI: false });
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        await jsm.getAccountInfo();
        return;
      } catch (err) {
        last = err;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    throw new Error(
      `jetsaga: the NATS cluster (${url}) did not elect a JetStream leader within ${timeoutMs} ms: ${String(last)}`,
    );
  } finally {
    await nc.close();
  }
}
