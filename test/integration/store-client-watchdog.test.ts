import { type Collection, MongoClient, MongoServerSelectionError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ensureToxiproxy,
  type ManagedProcess,
  ToxiproxyClient,
  toxiproxyProcess,
} from '../../runtime/dev/index.ts';
import { ClientWatchdog } from '../../runtime/store/index.ts';
import { waitUntil } from '../harness.ts';

/**
 * The driver defect behind the chaos run's half-open store links (store/client-watchdog.ts): a
 * server monitor whose check starts on a socket that is destroyed but not yet seen closed waits for
 * a `drain` that never comes, so after the next failed operation its server stays Unknown for good.
 * The chaos run reaches that moment by chance (a proxy closing every connection at once, a retried
 * write waking the monitor); here it is reached on purpose, through the driver's internals, which is
 * why this test names them. If a driver release fixes the defect, the first test fails: then the
 * watchdog can go.
 */

/** The parts of the driver's internals (mongodb 7.9) this test steers. */
interface DriverMonitor {
  connection: { closed: boolean; socket: { destroy(): void } } | null;
  requestCheck(): void;
  monitorId?: { isExecutionInProgress: boolean; lastExecutionEnded: number };
}
function monitorOf(client: MongoClient): DriverMonitor {
  const topology = (
    client as unknown as { topology: { s: { servers: Map<string, { monitor: DriverMonitor }> } } }
  ).topology;
  const [server] = [...topology.s.servers.values()];
  return server!.monitor;
}

describe("a store client whose server monitor stops (the driver's half-open defect)", () => {
  let proxy: ManagedProcess;
  let toxiproxy: ToxiproxyClient;
  const clients: MongoClient[] = [];

  beforeAll(async () => {
    proxy = toxiproxyProcess(await ensureToxiproxy({ log: () => undefined }));
    await proxy.start();
    toxiproxy = new ToxiproxyClient(proxy.url);
  }, 300_000);
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await proxy?.stop();
  });

  /** A client through its own proxy, its monitor wedged, then the link cut once: the server is Unknown. */
  async function wedgedClient(name: string, onConnected?: (client: MongoClient) => void) {
    const link = await toxiproxy.createProxy(name, new URL(inject('mongoUrl')).host);
    const client = new MongoClient(`mongodb://${link.listen}/?directConnection=true`, {
      serverSelectionTimeoutMS: 1_500,
      connectTimeoutMS: 2_000,
    });
    clients.push(client);
    onConnected?.(client);
    await client.connect();
    const col: Collection<{ _id: string; n: number }> = client.db('jetsaga_watchdog').collection(name);
    await col.updateOne({ _id: 'a' }, { $inc: { n: 1 } }, { upsert: true });

    const monitor = monitorOf(client);
    // A check is only started at once when the last one ended more than minHeartbeatFrequencyMS ago.
    await waitUntil(
      () =>
        monitor.connection !== null && performance.now() - (monitor.monitorId?.lastExecutionEnded ?? 0) > 600,
      'a monitor idle for longer than minHeartbeatFrequencyMS',
      15_000,
    );
    // The moment the chaos run hits by chance: the socket is destroyed, its `close` not yet emitted.
    monitor.connection!.socket.destroy();
    monitor.requestCheck();
    await waitUntil(() => monitor.connection?.closed === true, 'the monitor connection closed', 5_000);
    expect(monitor.monitorId?.isExecutionInProgress).toBe(true); // the check never ends

    // An operation in flight on a link that goes half-open and is then closed fails with a network
    // error, which marks the server Unknown; only the monitor could bring it back.
    await toxiproxy.addToxic(name, {
      name: 'half-open',
      toxic: { type: 'timeout', attributes: { timeout: 0 } },
    });
    const inFlight = col.findOne({ _id: 'a' });
    await toxiproxy.setEnabled(name, false);
    await expect(inFlight).rejects.toThrow(/closed/);
    await toxiproxy.removeToxic(name, 'half-open');
    await toxiproxy.setEnabled(name, true);
    return col;
  }

  it('without the watchdog, the client never finds the server again though the link is back', async () => {
    const col = await wedgedClient('wd-without');
    await expect(col.findOne({ _id: 'a' })).rejects.toBeInstanceOf(MongoServerSelectionError);
    await expect(col.findOne({ _id: 'a' })).rejects.toBeInstanceOf(MongoServerSelectionError);
  }, 60_000);

  it('with the watchdog, the client is reconnected and the same collection works again', async () => {
    const lines: Array<{ level: string; msg: string }> = [];
    const log = {
      error: (_: object, msg: string) => lines.push({ level: 'error', msg }),
      warn: (_: object, msg: string) => lines.push({ level: 'warn', msg }),
      info: (_: object, msg: string) => lines.push({ level: 'info', msg }),
    };
    let watchdog: ClientWatchdog | undefined;
    const col = await wedgedClient('wd-with', (client) => {
      watchdog = new ClientWatchdog(client, log as never, 3_000).start();
    });
    try {
      await waitUntil(
        async () => (await col.findOne({ _id: 'a' }).catch(() => null))?.n === 1,
        'a read through the reconnected client',
        30_000,
      );
      expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
      expect(lines.at(-1)?.msg).toBe('store client reconnected');
    } finally {
      await watchdog?.stop();
    }
  }, 60_000);
});
