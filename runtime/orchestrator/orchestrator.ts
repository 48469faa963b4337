import { ActorHost } from '../actors/index.ts';
import type { Config } from '../config.ts';
import { type Bus, DurableConsumer } from '../messaging/index.ts';
import { type ContractLookup, type Envelope, upcastData } from '../wire/index.ts';
import type { Logger } from '../observability/index.ts';
import type { PurgeLoop, SagaDoc, SagaStore } from '../store/index.ts';
import { TimerScheduler } from '../timers/index.ts';
import type { SagaRegistry } from './definition.ts';
import { notStoredAfter, SagaNotStoredYet, sagaPurge } from './retention.ts';
import { lifecycleOnlyEvents } from './runtime-events.ts';
import { type ActorDeps, SagaActor } from './saga-actor.ts';

export const orchestratorDurable = 'orchestrator';

/**
 * The orchestrator role: a durable consumer on every event, routing each to its saga's
 * actor; an outbox recovery sweep; the durable timer scheduler.
 */
export class Orchestrator {
  readonly host: ActorHost<SagaActor>;
  readonly consumer: DurableConsumer;
  readonly timers: TimerScheduler;
  /** Purges ended sagas after JETSAGA_RETENTION_MS; none when they are kept for ever. */
  private readonly purge?: PurgeLoop;
  private sweepHandle?: NodeJS.Timeout;
  private sweeping?: Promise<unknown>;
  recovered = 0;

  constructor(
    private readonly deps: {
      bus: Bus;
      store: SagaStore;
      registry: SagaRegistry;
      config: Config;
      log: Logger;
      onTransition?: ActorDeps['onTransition'];
      /**
       * The app's event contracts by type: an event whose type has one is upcast to its current
       * version here (a newer one is dead-lettered, reason `contract`) and validated by its saga's
       * actor before the machine sees it. Types without one pass as they come.
       */
      contracts?: ContractLookup;
    },
  ) {
    const { bus, store, config, log } = deps;
    const actorDeps: ActorDeps = { ...deps };
    this.host = new ActorHost<SagaActor>({
      create: (id) => new SagaActor(id, actorDeps),
      idleMs: config.actorIdleMs,
      maxLive: config.actorMaxLive,
      finished: (actor) => actor.finished,
    });
    this.consumer = new DurableConsumer(
      bus,
      { stream: bus.topo.streams.evt, durable: orchestratorDurable, filter: bus.topo.allEvt },
      async (d) => {
        // Its own announcements (saga.ended) are for reactors: acked here without loading the saga.
        if (lifecycleOnlyEvents.has(d.envelope.type)) return;
        const env = this.current(d.envelope);
        try {
          return await this.host.run(env.sagaId, (actor) => actor.deliver(env, d.log));
        } catch (err) {
          if (err instanceof SagaNotStoredYet && d.attempt >= config.unknownSagaAttempts)
            throw notStoredAfter(err, env.type, d.attempt);
          throw err;
        }
      },
      log.child({ consumer: orchestratorDurable }),
    );
    this.purge = sagaPurge(store, config, log.child({ component: 'retention' }));
    const timerLog = log.child({ component: 'timers' });
    // Due timers go straight to this process's actors, with the document the poll read.
    this.timers = new TimerScheduler(store, bus, timerLog, config.timerPollMs, {
      local: (env, doc) => this.stepTimer(env, doc, timerLog),
    });
  }

  /**
   * The event at its contract's current version: as it came when it is current (one integer
   * compare) or its type has no contract, upcast when it is older; a newer one, or one older than
   * every upcaster, throws a ContractError (dead-lettered, reason `contract`).
   */
  private current(env: Envelope): Envelope {
    const c = this.deps.contracts?.get(env.type);
    if (!c || env.schemaVersion === c.version) return env;
    const data = upcastData(env.type, c, env.data, env.schemaVersion, 'the orchestrator');
    return { ...env, schemaVersion: c.version, data };
  }

  /** A due timer's event with the document its poll read, through the saga's mailbox here. */
  stepTimer(env: Envelope, doc: SagaDoc, log: Logger): Promise<void> {
    return this.host.run(env.sagaId, (actor) =>
      actor.deliverWith(
        env,
        doc,
        log.child({ sagaId: env.sagaId, correlationId: env.correlationId, msgId: env.id, type: env.type }),
      ),
    );
  }

  async start(): Promise<void> {
    // Sagas from before the sweep's index existed: marked in the background, swept by the loop.
    void this.deps.store
      .markUnsweptOutboxes()
      .then((n) => n > 0 && this.deps.log.info({ sagas: n }, 'outboxes of older sagas marked for the sweep'))
      .catch((err) => this.deps.log.warn({ err: String(err) }, 'marking older outboxes failed'));
    // Recover what a crash left behind before taking new work.
    await this.sweepOutboxes(new Date());
    await this.consumer.start();
    this.timers.start();
    this.purge?.start();
    const loop = () => {
      this.sweeping = this.sweepOutboxes(new Date(Date.now() - this.deps.config.outboxGraceMs))
        .catch((err) => this.deps.log.warn({ err: String(err) }, 'outbox sweep failed'))
        .finally(() => {
          this.sweepHandle = setTimeout(loop, this.deps.config.sweepIntervalMs);
        });
    };
    this.sweepHandle = setTimeout(loop, this.deps.config.sweepIntervalMs);
  }

  /** Republishes outbox entries older than `olderThan` through each saga's mailbox. */
  async sweepOutboxes(olderThan: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const docs = await this.deps.store.findStaleOutboxes(olderThan, 200);
      if (docs.length === 0) return total;
      const counts = await Promise.all(
        docs.map((d) => this.host.run(d._id, (actor) => actor.recoverOutbox())),
      );
      const n = counts.reduce((a, b) => a + b, 0);
      total += n;
      this.recovered += n;
      if (n > 0) this.deps.log.info({ republished: n }, 'outbox recovery republished entries');
      if (docs.length < 200) return total;
    }
  }

  async stop(): Promise<void> {
    if (this.sweepHandle) clearTimeout(this.sweepHandle);
    await this.consumer.stop();
    await this.timers.stop();
    await this.purge?.stop();
    await this.sweeping;
    if (this.sweepHandle) clearTimeout(this.sweepHandle);
    await this.host.drain();
    this.host.close();
    // One line per replica at exit: how the work was shared (scale tests read it).
    this.deps.log.info(
      { ...this.consumer.stats, timersFired: this.timers.fired, outboxRecovered: this.recovered },
      'orchestrator stopped',
    );
  }
}
