import type { MongoClient } from 'mongodb';
import { type App, eventContractsOf } from './app.ts';
import { checkRetention, type Config, inboxRetentionMs } from './config.ts';
import {
  Bus,
  provisionConsumer,
  provisionStreams,
  UnroutedGuard,
  unroutedGuardSettings,
} from './messaging/index.ts';
import { nodeMetricsSource, sagaMetricsObserver } from './node-metrics.ts';
import { addMetricsSource, collectProcessMetrics, createLogger, type Logger } from './observability/index.ts';
import { startTracing } from './observability/tracing.ts';
import { Orchestrator, orchestratorDurable, startSagaOnce } from './orchestrator/index.ts';
import {
  EventReactorHost,
  type InboxRetention,
  ParticipantHost,
  participantDurable,
} from './participants/index.ts';
import { durablesOf } from './permissions.ts';
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

import { type Role, roleName } from './roles.ts';

export { allRoles, type Role, roleName } from './roles.ts';

export interface RunningNode {
  config: Config;
  log: Logger;
  bus: Bus;
  store: SagaStore;
  mongo: MongoClient;
  orchestrator?: Orchestrator;
  services: ParticipantHost[];
  api?: { port: number; url: string };
  /** The ops endpoint of this process (/healthz, /readyz, /metrics; JETSAGA_OPS_PORT). */
  ops?: { port: number; url: string };
  stop(): Promise<void>;
}

/**
 * Starts the given roles in this process over one NATS connection and one MongoDB pool.
 * Provisioning (streams, indexes) runs first and is idempotent, so roles can start in
 * any order and on any number of processes.
 */
export async function startNode(
  config: Config,
  app: App,
  roles: Role[],
  log = createLogger(config.logLevel),
): Promise<RunningNode> {
  // A config built in code (defaultConfig with overrides) is held to the floor `loadConfig` checks.
  checkRetention(config);
  const wantsApi = roles.some((r) => r.kind === 'api');
  // Refuse an unprotected API before connecting anything: the fix is a setting, not a retry.
  const { authSettings } = await import('./http/index.ts');
  const auth = wantsApi ? authSettings(config) : undefined;
  collectProcessMetrics();
  const { localUrl, nodeProbes, opsAddress, serveOps } = await import('./ops-server.ts');
  const processName = `jetsaga-${roles.map(roleName).join('+')}`;
  // OpenTelemetry traces when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set: one provider per process.
  const tracing = await startTracing({ serviceName: processName });
  const bus = await Bus.connect(config, log, processName).catch(async (err) => {
    await tracing?.stop();
    throw err;
  });
  const {
    client: mongo,
    store,
    watchdog,
  } = await SagaStore.connect(config.mongoUrl, config.mongoDb, {
    monitorCommands: config.storeCommandMetrics === 'on',
    log: log.child({ component: 'store' }),
  }).catch(async (err) => {
    await bus.close();
    await tracing?.stop();
    throw err;
  });
  const stops: Array<() => Promise<void>> = [];
  const consumers: Array<{ consumer: string; stats: Orchestrator['consumer']['stats'] }> = [];
  // What readiness asks, here and on the api role's port: one probe set, so one cached result.
  const running: Array<Orchestrator['consumer']> = [];
  let started = false;
  const probes = nodeProbes({
    bus,
    mongo,
    mongoDb: config.mongoDb,
    consumers: () => running,
    started: () => started,
  });
  const node: RunningNode = {
    config,
    log,
    bus,
    store,
    mongo,
    services: [],
    async stop() {
      started = false; // not ready from here on: /readyz answers 503 while the roles drain
      // Reverse start order: stop taking work, finish in-flight, then close connections.
      for (const stop of stops.reverse())
        await stop().catch((err) => log.warn({ err: String(err) }, 'stop failed'));
      await bus.close();
      await watchdog?.stop();
      await mongo.close();
      // Exports what the batch still holds.
      await tracing?.stop().catch((err) => log.warn({ err: String(err) }, 'trace flush failed'));
    },
  };
  try {
    // First, so a process that is slow to start (provisioning, a consumer waiting for its durable)
    // answers /healthz and a 503 on /readyz meanwhile; closed last.
    const ops = await serveOps({ ...opsAddress(config), probes });
    node.ops = { port: ops.port, url: ops.url };
    stops.push(() => ops.close());
    log.info({ url: ops.url, roles: roles.map(roleName) }, 'ops endpoint');
    // In production (`skip`) streams and consumers are `jetsaga provision`'s job, under its own NATS user.
    if (config.provision === 'auto') await provisionStreams(bus);
    await store.ensureIndexes();
    // How services and reactors purge their inbox records; none when they are kept for ever.
    const retention: InboxRetention | undefined =
      inboxRetentionMs(config) > 0
        ? {
            store,
            retentionMs: inboxRetentionMs(config),
            batch: config.purgeBatch,
            intervalMs: config.purgeIntervalMs,
          }
        : undefined;
    // What the orchestrator and the reactors upcast and validate incoming events by.
    const contracts = eventContractsOf(app);
    for (const role of roles) {
      if (role.kind === 'orchestrator') {
        const orchestrator = new Orchestrator({
          bus,
          store,
          registry: app.registry,
          config,
          log: log.child({ role: 'orchestrator' }),
          onTransition: sagaMetricsObserver(),
          contracts,
        });
        await orchestrator.start();
        node.orchestrator = orchestrator;
        consumers.push({ consumer: orchestratorDurable, stats: orchestrator.consumer.stats });
        running.push(orchestrator.consumer);
        stops.push(() => orchestrator.stop());
        // Commands (and events) no consumer reads: dead-lettered instead of kept for ever, unseen.
        const unrouted = new UnroutedGuard(bus, {
          ...unroutedGuardSettings(config),
          log: log.child({ role: 'orchestrator', component: 'unrouted' }),
        });
        unrouted.start();
        stops.push(() => unrouted.stop());
      } else if (role.kind === 'service') {
        const def = app.participants[role.name];
        if (!def)
          throw new Error(
            `unknown service "${role.name}"; known: ${Object.keys(app.participants).join(', ')}`,
          );
        const host = new ParticipantHost(
          def,
          bus,
          mongo.db(config.mongoDb),
          log.child({ role: `service:${role.name}` }),
          retention,
        );
        await host.start();
        node.services.push(host);
        consumers.push({
          consumer: participantDurable(role.name, bus.topo).durable,
          stats: host.consumer.stats,
        });
        running.push(host.consumer);
        stops.push(() => host.stop());
      } else if (role.kind === 'reactor') {
        const def = app.reactors[role.name];
        if (!def)
          throw new Error(`unknown reactor "${role.name}"; known: ${Object.keys(app.reactors).join(', ')}`);
        const host = new EventReactorHost(def, {
          bus,
          db: mongo.db(config.mongoDb),
          log: log.child({ role: role.name }),
          config,
          startSaga: (type, input, opts) =>
            startSagaOnce({ store, bus, registry: app.registry }, { type, input, ...opts }),
          contracts,
          retention,
        });
        await host.start();
        consumers.push({ consumer: def.name, stats: host.consumer.stats });
        running.push(host.consumer);
        stops.push(() => host.stop());
      } else {
        const { createApp, serveApi } = await import('./http/index.ts');
        const apiLog = log.child({ role: 'api' });
        if (auth?.mode === 'off')
          apiLog.warn(
            'API auth is OFF (JETSAGA_AUTH=off): anyone who reaches this port can start and cancel sagas',
          );
        const closing = new AbortController();
        const http = createApp({
          store,
          bus,
          registry: app.registry,
          log: apiLog,
          auth: auth ?? { mode: 'off' },
          corsOrigins: config.corsOrigins,
          maxBodyBytes: config.httpMaxBodyBytes,
          ssePollMs: config.ssePollMs,
          retentionMs: config.retentionMs,
          signal: closing.signal,
          probes,
          asyncApi: () => import('./contracts/index.ts').then((m) => m.asyncApiOf(app)),
        });
        const server = await serveApi(http, { host: config.httpHost, port: config.httpPort });
        node.api = { port: server.port, url: localUrl(config.httpHost, server.port) };
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
    started = true;
  } catch (err) {
    await node.stop();
    throw err;
  }
  return node;
}

/**
 * `jetsaga provision`: creates or updates the streams and every durable consumer the app's roles
 * read, once, under the provisioning NATS user; the roles then run with JETSAGA_PROVISION=skip and
 * NATS users that may not create or change either. Idempotent.
 */
export async function provisionApp(
  config: Config,
  app: App,
  log = createLogger(config.logLevel),
): Promise<string[]> {
  const bus = await Bus.connect(config, log, 'jetsaga-provision');
  try {
    await provisionStreams(bus);
    const durables = durablesOf(app, bus.topo);
    for (const spec of durables) await provisionConsumer(bus, spec);
    return durables.map((d) => `${d.stream}/${d.durable}`);
  } finally {
    await bus.close();
  }
}
