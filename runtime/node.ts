import type { MongoClient } from 'mongodb';
import type { Config } from './config.ts';
import { Bus, provisionStreams } from './messaging/index.ts';
import { createLogger, type Logger } from './observability/index.ts';
import { Orchestrator, type SagaRegistry } from './orchestrator/index.ts';
import { type ParticipantDefinition, ParticipantHost } from './participants/index.ts';
import { SagaStore } from './store/index.ts';

export type Role = { kind: 'api' } | { kind: 'orchestrator' } | { kind: 'service'; name: string };

export interface Distribution {
  registry: SagaRegistry;
  participants: Record<string, ParticipantDefinition>;
}

export interface RunningNode {
  config: Config;
  log: Logger;
  bus: Bus;
  store: SagaStore;
  mongo: MongoClient;
  orchestrator?: Orchestrator;
  services: ParticipantHost[];
  api?: { port: number; url: string };
  stop(): Promise<void>;
}

/**
 * Starts the given roles in this process over one NATS connection and one MongoDB pool.
 * Provisioning (streams, indexes) runs first and is idempotent, so roles can start in
 * any order and on any number of processes.
 */
export async function startNode(
  config: Config,
  dist: Distribution,
  roles: Role[],
  log = createLogger(config.logLevel),
): Promise<RunningNode> {
  const bus = await Bus.connect(
    config,
    log,
    `jetsaga-${roles.map((r) => (r.kind === 'service' ? r.name : r.kind)).join('+')}`,
  );
  const { client: mongo, store } = await SagaStore.connect(config.mongoUrl, config.mongoDb).catch(
    async (err) => {
      await bus.close();
      throw err;
    },
  );
  const stops: Array<() => Promise<void>> = [];
  const node: RunningNode = {
    config,
    log,
    bus,
    store,
    mongo,
    services: [],
    async stop() {
      // Reverse start order: stop taking work, finish in-flight, then close connections.
      for (const stop of stops.reverse())
        await stop().catch((err) => log.warn({ err: String(err) }, 'stop failed'));
      await bus.close();
      await mongo.close();
    },
  };
  try {
    await provisionStreams(bus);
    await store.ensureIndexes();
    for (const role of roles) {
      if (role.kind === 'orchestrator') {
        const orchestrator = new Orchestrator({
          bus,
          store,
          registry: dist.registry,
          config,
          log: log.child({ role: 'orchestrator' }),
        });
        await orchestrator.start();
        node.orchestrator = orchestrator;
        stops.push(() => orchestrator.stop());
      } else if (role.kind === 'service') {
        const def = dist.participants[role.name];
        if (!def)
          throw new Error(
            `unknown service "${role.name}"; known: ${Object.keys(dist.participants).join(', ')}`,
          );
        const host = new ParticipantHost(
          def,
          bus,
          mongo.db(config.mongoDb),
          log.child({ role: `service:${role.name}` }),
        );
        await host.start();
        node.services.push(host);
        stops.push(() => host.stop());
      } else {
        const { createApp, serveApi } = await import('./http/index.ts');
        const app = createApp({
          store,
          bus,
          registry: dist.registry,
          log: log.child({ role: 'api' }),
          probes: {
            nats: () =>
              bus.nc.flush().then(
                () => true,
                () => false,
              ),
            mongo: () =>
              mongo
                .db(config.mongoDb)
                .command({ ping: 1 })
                .then(
                  () => true,
                  () => false,
                ),
          },
        });
        const server = await serveApi(app, { host: config.httpHost, port: config.httpPort });
        const host = config.httpHost === '0.0.0.0' ? '127.0.0.1' : config.httpHost;
        node.api = { port: server.port, url: `http://${host}:${server.port}` };
        stops.push(() => server.close());
      }
    }
  } catch (err) {
    await node.stop();
    throw err;
  }
  return node;
}
