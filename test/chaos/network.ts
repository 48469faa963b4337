// The chaos run's network: one toxiproxy, and for every role process a proxy toward each NATS node
// and one toward the store, so that any role's link to either side can be slowed, throttled, reset,
// frozen half-open or cut. The roles connect only through their own proxies (a NATS cluster then runs
// with noAdvertise, so that no client learns a node to route around them); the harness's own clients
// connect directly.
import {
  ensureToxiproxy,
  type ManagedProcess,
  type ToxicSpec,
  ToxiproxyClient,
  toxiproxyProcess,
} from '../../runtime/dev/index.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a network fault does to a role's links. */
export const networkFaultTypes = [
  'latency',
  'bandwidth',
  'reset',
  'half-open',
  'partition-nats',
  'partition-store',
] as const;
export type NetworkFaultType = (typeof networkFaultTypes)[number];

/** `latency,reset`: the types asked for. */
export function parseNetworkTypes(spec: string): NetworkFaultType[] {
  const asked = spec.split(',').map((s) => s.trim());
  for (const t of asked)
    if (!(networkFaultTypes as readonly string[]).includes(t))
      throw new Error(`unknown network fault type ${t}: use ${networkFaultTypes.join('|')}, or a comma list`);
  return networkFaultTypes.filter((t) => asked.includes(t));
}

interface RoleLinks {
  nats: string[];
  store: string;
}

export class ChaosNetwork {
  private readonly links = new Map<string, RoleLinks>();
  private toxics = 0;

  private constructor(
    private readonly proxy: ManagedProcess,
    readonly api: ToxiproxyClient,
  ) {}

  static async start(log: (line: string) => void): Promise<ChaosNetwork> {
    const proxy = toxiproxyProcess(await ensureToxiproxy({ log }));
    await proxy.start();
    return new ChaosNetwork(proxy, new ToxiproxyClient(proxy.url));
  }

  /**
   * The proxies of one role: one toward each NATS node (`host:port`), one toward the store; the
   * NATS_URL and MONGO_URL that make the role use them.
   */
  async addRole(
    role: string,
    natsUpstreams: readonly string[],
    storeUpstream: string,
  ): Promise<{ NATS_URL: string; MONGO_URL: string }> {
    const id = role.replace(/[^A-Za-z0-9]/g, '_');
    const nats = await Promise.all(
      natsUpstreams.map((upstream, i) => this.api.createProxy(`${id}-nats${i + 1}`, upstream)),
    );
    const store = await this.api.createProxy(`${id}-store`, storeUpstream);
    this.links.set(role, { nats: nats.map((p) => p.name), store: store.name });
    return {
      NATS_URL: nats.map((p) => `nats://${p.listen}`).join(','),
      MONGO_URL: `mongodb://${store.listen}/?directConnection=true`,
    };
  }

  /**
   * One fault on one role's links, held for its time and then undone (also when it fails half way);
   * resolves to what was done, for the log.
   */
  async inject(type: NetworkFaultType, role: string, rand: () => number, ackWaitMs: number): Promise<string> {
    const links = this.links.get(role);
    if (!links) throw new Error(`no proxies for role ${role}`);
    const all = [...links.nats, links.store];
    // "Longer than the ack wait": by one to three seconds.
    const pastAckWait = Math.round(ackWaitMs + 1000 + rand() * 2000);
    switch (type) {
      case 'latency': {
        const latency = Math.round(20 + rand() * 280);
        const jitter = Math.round(latency / 2);
        const hold = 4000;
        await this.withToxics(all, [{ toxic: { type: 'latency', attributes: { latency, jitter } } }], hold);
        return `latency ${latency}±${jitter} ms on ${role}'s NATS and store links for ${hold / 1000} s`;
      }
      case 'bandwidth': {
        const rate = Math.round(8 + rand() * 56);
        const hold = 4000;
        await this.withToxics(all, [{ toxic: { type: 'bandwidth', attributes: { rate } } }], hold);
        return `bandwidth ${rate} KB/s on ${role}'s NATS and store links for ${hold / 1000} s`;
      }
      case 'reset': {
        // Open connections are reset (RST) after `timeout` ms of the toxic, mid-stream; new ones
        // meanwhile too, so the clients reconnect at least once.
        const timeout = Math.round(200 + rand() * 800);
        const hold = 2000;
        await this.withToxics(all, [{ toxic: { type: 'reset_peer', attributes: { timeout } } }], hold);
        return `connections reset after ${timeout} ms on ${role}'s NATS and store links, for ${hold / 1000} s`;
      }
      case 'half-open': {
        // Data stops both ways and nothing closes; once the toxic goes, what was sent meanwhile is lost.
        const side = rand() < 0.5 ? 'nats' : 'store';
        const names = side === 'nats' ? links.nats : [links.store];
        await this.withToxics(
          names,
          [
            { toxic: { type: 'timeout', attributes: { timeout: 0 } }, stream: 'downstream' },
            { toxic: { type: 'timeout', attributes: { timeout: 0 } }, stream: 'upstream' },
          ],
          pastAckWait,
        );
        return `half-open ${side === 'nats' ? 'NATS' : 'store'} link of ${role} for ${(pastAckWait / 1000).toFixed(1)} s`;
      }
      case 'partition-nats':
      case 'partition-store': {
        const names = type === 'partition-nats' ? links.nats : [links.store];
        try {
          for (const n of names) await this.api.setEnabled(n, false);
          await sleep(pastAckWait);
        } finally {
          for (const n of names) await this.api.setEnabled(n, true);
        }
        return `${role} cut off from ${type === 'partition-nats' ? 'NATS' : 'the store'} only, for ${(pastAckWait / 1000).toFixed(1)} s`;
      }
    }
  }

  private async withToxics(
    proxies: readonly string[],
    specs: ReadonlyArray<Omit<ToxicSpec, 'name'>>,
    holdMs: number,
  ): Promise<void> {
    const added: Array<[string, string]> = [];
    try {
      for (const proxy of proxies)
        for (const spec of specs) {
          const name = `${spec.toxic.type}-${++this.toxics}`;
          await this.api.addToxic(proxy, { ...spec, name });
          added.push([proxy, name]);
        }
      await sleep(holdMs);
    } finally {
      for (const [proxy, name] of added) await this.api.removeToxic(proxy, name).catch(() => undefined);
    }
  }

  /** Every link whole again. */
  async reset(): Promise<void> {
    await this.api.reset().catch(() => undefined);
  }

  async stop(): Promise<void> {
    await this.proxy.stop();
  }
}
