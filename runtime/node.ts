import type { Db, MongoClient } from 'mongodb';
import type { Config } from './config.ts';
import { Bus, provisionStreams } from './messaging/index.ts';
import {
  addMetricsSource,
  collectProcessMetrics,
  createLogger,
  type Logger,
  nodeMetricsSource,
  sagaMetricsObserver,
} from './observability/index.ts';
import { Orchestrator, orchestratorDurable, type SagaRegistry } from './orchestrator/index.ts';
import { type ParticipantDefinition, ParticipantHost } from './participants/index.ts';
import { SagaStore } from './store/index.ts';

/**
 * V8 flags a jetsaga process runs best with (the Dockerfile's entrypoint, the bench's and the scale
 * test's role processes pass them; `NODE_OPTIONS` works too). A young generation of 32 MB semi-spaces
 * instead of V8's 16 MB: a role allocates a short-lived envelope, document and BSON buffer per message,
 * and with the default size a burst (a restart with thousands of due timers) promotes them before
 * they die, so the old generation collects what the young one should have. The recovery of 20,000
 * sagas went from about 800 to about 1,000 sagas/s with it (bench/README.md).
 */
export const recommendedNodeFlags: readonly string[] = ['--max-semi-space-size=32'];

export type Role =
  | { kind: 'api' }
  | { kind: 'orchestrator' }
  | { kind: 'service'; name: string }
  | { kind: 'extra'; name: string };

/** What an extra role gets: the node's shared connections. */
export interface RoleContext {
  config: Config;
  log: Logger;
  bus: Bus;
  mongo: MongoClient;
  db: Db;
}

/**
 * A role that a distribution adds (for example an event-driven agent): started with the
 * node's connections, stopped gracefully with the node.
 */
export interface ExtraRole {
  description: string;
  start(ctx: RoleContext): Promise<{ stop(): Promise<void> }>;
}

export interface Distribution {
  registry: SagaRegistry;
  participants: Record<string, ParticipantDefinition>;
  /** Roles beyond api, orchestrator and services, by name (`jetsaga <name>`). */
  extraRoles?: Record<string, ExtraRole>;
}

export const roleName = (r: Role): string =>
  r.kind === 'service' ? `service:${r.name}` : r.kind === 'extra' ? r.name : r.kind;

/** Every role of a distribution, for `jetsaga all` and the demo. */
export function allRoles(dist: Distribution): Role[] {
  return [
    { kind: 'orchestrator' },
    ...Object.keys(dist.participants).map((name): Role => ({ kind: 'service', name })),
    ...Object.keys(dist.extraRoles ?? {}).map((name): Role => ({ kind: 'extra', name })),
    { kind: 'api' },
  ];
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
  const wantsApi = roles.some((r) => r.kind === 'api');
  // Refuse an unprotected API before connecting anything: the fix is a setting, not a retry.
  const { authSettings } = await import('./http/index.ts');
  const auth = wantsApi ? authSettings(config) : undefined;
  collectProcessMetrics();
  const bus = await Bus.connect(config, log, `jetsaga-${roles.map(roleName).join('+')}`);
  const { client: mongo, store } = await SagaStore.connect(config.mongoUrl, config.mongoDb).catch(
    async (err) => {
      await bus.close();
      throw err;
    },
  );
  const stops: Array<() => Promise<void>> = [];
  const consumers: Array<{ consumer: string; stats: Orchestrator['consumer']['stats'] }> = [];
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
          onTransition: sagaMetricsObserver(),
        });
        await orchestrator.start();
        node.orchestrator = orchestrator;
        consumers.push({ consumer: orchestratorDurable, stats: orchestrator.consumer.stats });
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
        // The participant host's durable is `svc-<name>`.
        consumers.push({ consumer: `svc-${role.name}`, stats: host.consumer.stats });
        stops.push(() => host.stop());
      } else if (role.kind === 'extra') {
        const extra = dist.extraRoles?.[role.name];
        if (!extra) throw new Error(`unknown role "${role.name}"`);
        const running = await extra.start({
          config,
          bus,
          mongo,
          db: mongo.db(config.mongoDb),
          log: log.child({ role: role.name }),
        });
        stops.push(() => running.stop());
      } else {
        const { createApp, ensureListIndexes, serveApi } = await import('./http/index.ts');
        await ensureListIndexes(store);
        const apiLog = log.child({ role: 'api' });
        if (auth?.mode === 'off')
          apiLog.warn(
            'API auth is OFF (JETSAGA_AUTH=off): anyone who reaches this port can start and cancel sagas',
          );
        const closing = new AbortController();
        const app = createApp({
          store,
          bus,
          registry: dist.registry,
          log: apiLog,
          auth: auth ?? { mode: 'off' },
          corsOrigins: config.corsOrigins,
          maxBodyBytes: config.httpMaxBodyBytes,
          ssePollMs: config.ssePollMs,
          signal: closing.signal,
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
        // Live event streams end first, so closing the server does not wait for them.
        stops.push(async () => {
          closing.abort();
          await server.close();
        });
      }
    }
    const removeSource = addMetricsSource(
      nodeMetricsSource({
        id: `${config.namespace}/${config.mongoDb}/${Math.random().toString(36).slice(2)}`,
        bus,
        store,
        consumers: () => consumers,
        ...(node.orchestrator
          ? {
              actors: () => ({
                live: node.orchestrator!.host.size,
                passivations: node.orchestrator!.host.passivations,
              }),
            }
          : {}),
      }),
    );
    stops.push(async () => removeSource());
  } catch (err) {
    await node.stop();
    throw err;
  }
  return node;
}
