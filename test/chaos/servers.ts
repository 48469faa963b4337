// The chaos run's servers, as its fault kinds need them: one local nats-server (as the kill-only run
// always had), or a 3-node NATS cluster whose streams have 3 replicas (`quorum`), with JetStream's
// store on a size-limited tmpfs (`disk`, root only); and the local MongoDB-wire server.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ensureNatsServer,
  type ManagedProcess,
  type NatsCluster,
  natsServerProcess,
  resolveInfra,
  startNatsCluster,
} from '../../runtime/dev/index.ts';
import { mountTmpfs, unmount } from '../tmpfs.ts';

export interface ChaosServers {
  /** Every NATS node's client URL, comma separated: the harness's own connection. */
  natsUrl: string;
  /** Each node's `host:port`, in node order: what a role's proxies point at. */
  natsUpstreams: string[];
  /** The NATS nodes, to kill and restart. */
  natsNodes: ManagedProcess[];
  cluster?: NatsCluster;
  mongoUrl: string;
  mongo: ManagedProcess;
  /** The tmpfs JetStream's store is on, when `disk` could mount one. */
  diskDir?: string;
  /** Why `disk` was skipped, when it was asked for and could not be. */
  diskSkipped?: string;
  describe: string;
  stop(): Promise<void>;
}

export async function startServers(
  opts: { quorum: boolean; disk: boolean },
  log: (line: string) => void,
): Promise<ChaosServers> {
  const baseEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    JETSAGA_CACHE_DIR: process.env.JETSAGA_CACHE_DIR,
  };
  let diskDir: string | undefined;
  let diskSkipped: string | undefined;
  if (opts.disk) {
    const mounted = mountTmpfs(opts.quorum ? 96 : 48, 'jetsaga-chaos-disk-');
    if (typeof mounted === 'string') diskDir = mounted;
    else diskSkipped = mounted.skip;
  }
  const cleanups: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const f of cleanups.reverse()) await f().catch(() => undefined);
    if (diskDir) unmount(diskDir);
  };
  try {
    // Today's kill-only run: both servers from resolveInfra, as before.
    if (!opts.quorum && !diskDir) {
      const infra = await resolveInfra({ env: baseEnv, preferLocal: true, log });
      cleanups.push(() => infra.stop());
      if (!infra.nats || !infra.mongo) throw new Error('chaos needs local servers it can restart');
      return {
        natsUrl: infra.natsUrl,
        natsUpstreams: [new URL(infra.natsUrl).host],
        natsNodes: [infra.nats],
        mongoUrl: infra.mongoUrl,
        mongo: infra.mongo,
        ...(diskSkipped ? { diskSkipped } : {}),
        describe: infra.describe(),
        stop,
      };
    }
    let natsNodes: ManagedProcess[];
    let cluster: NatsCluster | undefined;
    let what: string;
    if (opts.quorum) {
      // The nodes' data dirs are temp dirs (mkdtemp under os.tmpdir()): on the tmpfs when `disk` is on,
      // all three on the one filesystem, which then fills up for all of them at once.
      const savedTmp = process.env.TMPDIR;
      if (diskDir) process.env.TMPDIR = diskDir;
      try {
        cluster = await startNatsCluster({ nodes: 3, noAdvertise: true, env: baseEnv, log });
      } finally {
        if (diskDir) {
          if (savedTmp === undefined) delete process.env.TMPDIR;
          else process.env.TMPDIR = savedTmp;
        }
      }
      const c = cluster;
      cleanups.push(() => c.stop());
      natsNodes = cluster.nodes;
      what = `a 3-node NATS cluster (noAdvertise, streams on 3 replicas)${diskDir ? ` on a tmpfs at ${diskDir}` : ''}`;
    } else {
      // The limit JetStream believes in is larger than the disk: the disk, not the limit, runs out.
      const conf = path.join(diskDir!, 'nats.conf');
      writeFileSync(conf, `jetstream { max_file_store: 1G, max_memory_store: 64M }\n`);
      const nats = natsServerProcess(await ensureNatsServer({ env: baseEnv, log }), {
        dataDir: diskDir!,
        configFile: conf,
      });
      await nats.start();
      cleanups.push(() => nats.stop());
      natsNodes = [nats];
      what = `nats-server with JetStream on a 48 MB tmpfs at ${diskDir}`;
    }
    const natsUrl = natsNodes.map((n) => n.url).join(',');
    // The store from resolveInfra; NATS given, so it starts only the MongoDB-wire server.
    const infra = await resolveInfra({ env: { ...baseEnv, NATS_URL: natsUrl }, preferLocal: true, log });
    cleanups.push(() => infra.stop());
    if (!infra.mongo) throw new Error('chaos needs a local MongoDB-wire server it can restart');
    return {
      natsUrl,
      natsUpstreams: natsNodes.map((n) => `${n.host}:${n.port}`),
      natsNodes,
      ...(cluster ? { cluster } : {}),
      mongoUrl: infra.mongoUrl,
      mongo: infra.mongo,
      ...(diskDir ? { diskDir } : {}),
      ...(diskSkipped ? { diskSkipped } : {}),
      describe: `${what}; ${infra.describe()}`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
