import { type Db, MongoServerError } from 'mongodb';
import { type Bus, type Delivery, DurableConsumer, type Envelope } from '../messaging/index.ts';
import type { Logger } from '../observability/index.ts';

/** What a reactor answers to an event: the event name within its source, its data, and what to keep. */
export interface Reaction {
  /** e.g. `approved` -> published as `<source>.approved`. */
  type: string;
  data: Record<string, unknown>;
  /** Extra fields stored beside the reaction in the inbox (for queries and audits). */
  record?: Record<string, unknown>;
}

export interface ReactionContext {
  envelope: Envelope;
  /** 1 on first delivery. */
  attempt: number;
  db: Db;
  log: Logger;
}

/**
 * A participant that is not commanded by a saga but reacts to events it observes (an
 * agent): each event it listens to yields one reaction event for the same saga.
 */
export interface ReactorDefinition {
  /** Names the durable consumer; one per reactor. */
  name: string;
  /** Published reactions are `evt.<source>.<reaction type>`. */
  source: string;
  /** The event type it reacts to, e.g. `payment.authorized`. */
  on: string;
  /** Collection keeping one reaction per event id (unique `_id`), the reactor's inbox. */
  inbox: string;
  /** Suffix of the reaction's id: `<event id>:<suffix>`, the same on every redelivery. */
  idSuffix: string;
  setup?: (db: Db) => Promise<void>;
  react(event: Envelope, ctx: ReactionContext): Promise<Reaction>;
}

export interface ReactionRecord {
  _id: string;
  reaction: Envelope;
  sagaId: string;
  at: Date;
  [extra: string]: unknown;
}

/**
 * Runs a reactor: a durable consumer on one event type with an inbox keyed by the event
 * id. An event seen before is not reacted to again: the recorded reaction is published
 * again (the first publish may be what was lost), under the same message id, so the
 * stream's dedup window and the saga's inbox both see one reaction. Two replicas racing
 * on one event both compute, one record wins, and both publish the winner.
 */
export class EventReactorHost {
  readonly consumer: DurableConsumer;
  reacted = 0;
  replayed = 0;

  constructor(
    private readonly def: ReactorDefinition,
    private readonly bus: Bus,
    private readonly db: Db,
    private readonly log: Logger,
  ) {
    this.consumer = new DurableConsumer(
      bus,
      { stream: bus.topo.streams.evt, durable: def.name, filter: bus.topo.evtSubject(def.on) },
      (d) => this.onEvent(d),
      log.child({ reactor: def.name }),
    );
  }

  get records() {
    return this.db.collection<ReactionRecord>(this.def.inbox);
  }

  async start(): Promise<void> {
    await this.def.setup?.(this.db);
    await this.consumer.start();
  }

  private async onEvent(d: Delivery): Promise<void> {
    const env = d.envelope;
    // The filter should make this impossible; a stray type is not ours to answer.
    if (env.type !== this.def.on) return;
    const seen = await this.records.findOne({ _id: env.id });
    if (seen) {
      await this.publish(seen.reaction);
      this.replayed++;
      return;
    }
    const reaction = await this.def.react(env, {
      envelope: env,
      attempt: d.attempt,
      db: this.db,
      log: d.log,
    });
    const reactionEnv: Envelope = {
      id: `${env.id}:${this.def.idSuffix}`,
      type: `${this.def.source}.${reaction.type}`,
      schemaVersion: 1,
      occurredAt: new Date().toISOString(),
      sagaId: env.sagaId,
      sagaType: env.sagaType,
      correlationId: env.correlationId,
      causationId: env.id,
      traceparent: env.traceparent,
      data: reaction.data,
    };
    let toPublish = reactionEnv;
    try {
      await this.records.insertOne({
        ...reaction.record,
        _id: env.id,
        reaction: reactionEnv,
        sagaId: env.sagaId,
        at: new Date(),
      });
      this.reacted++;
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
      // Another replica recorded its reaction first: that one is the reaction.
      const winner = await this.records.findOne({ _id: env.id });
      if (winner) toPublish = winner.reaction;
      this.replayed++;
    }
    await this.publish(toPublish);
  }

  private async publish(env: Envelope): Promise<void> {
    await this.bus.publish(`evt.${env.type}`, env, env.id);
  }

  async stop(): Promise<void> {
    await this.consumer.stop();
    this.log.info(
      { reactor: this.def.name, reacted: this.reacted, replayed: this.replayed, ...this.consumer.stats },
      'reactor stopped',
    );
  }
}
