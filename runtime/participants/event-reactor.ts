import type { Collection, Db } from 'mongodb';
import { type Bus, type Delivery, DurableConsumer, type Envelope } from '../messaging/index.ts';
import type { Logger } from '../observability/index.ts';
import { AnswerInbox, answerEnvelope } from './answer-inbox.ts';

/** What a reactor answers to an event: the event name within its source, its data, and what to keep. */
export interface Reaction {
  /** e.g. `approved` -> published as `<source>.approved`. */
  type: string;
  data: Record<string, unknown>;
  /** Extra fields stored beside the reaction in the inbox (for queries and audits). */
  record?: Record<string, unknown>;
  /**
   * Called once this reaction is recorded, by the host that recorded it: not when the
   * event was reacted to before (another run's reaction won). For what must count each
   * reaction once, e.g. metrics of published verdicts.
   */
  onRecorded?: () => void;
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
  /**
   * May run more than once for one event (a duplicate of it, a redelivery after a crash,
   * two replicas), also after later events: what it writes must be keyed so that a
   * second run adds nothing. Only the reaction recorded first is published.
   */
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
 * id. The reaction recorded first is THE reaction to an event: every delivery publishes
 * that one (the first publish may be what was lost), under the same message id, so the
 * stream's dedup window and the saga's inbox both see one reaction.
 *
 * No read on the hot path: a first delivery reacts, then inserts the record; when the
 * insert hits the unique key (the event was reacted to before: a copy of it under another
 * message id, two replicas racing), the recorded reaction is read and published instead
 * of the one just computed. A redelivery (`attempt > 1`, after a crash or a lost ack,
 * most often after the record was written) reads the record first and replays it when
 * there is one: a reaction can be expensive (the fraud agent may ask an LLM), one read is
 * not. Exactly once holds either way because `react` adds nothing when it runs again
 * (see `ReactorDefinition.react`) and only the first record is ever published.
 *
 * Records of events reacted to at the same time are inserted together, one `insertMany`
 * per batch (InsertBatcher), each with its own answer from the unique key: inserted (this
 * reaction is published), duplicate (the stored one is), or failed (retried).
 */
export class EventReactorHost {
  readonly consumer: DurableConsumer;
  reacted = 0;
  replayed = 0;
  readonly records: Collection<ReactionRecord>;
  private readonly inbox: AnswerInbox<ReactionRecord>;

  constructor(
    private readonly def: ReactorDefinition,
    private readonly bus: Bus,
    private readonly db: Db,
    private readonly log: Logger,
  ) {
    this.records = db.collection<ReactionRecord>(def.inbox);
    this.inbox = new AnswerInbox(this.records, (r) => r.reaction, bus);
    this.consumer = new DurableConsumer(
      bus,
      { stream: bus.topo.streams.evt, durable: def.name, filter: bus.topo.evtSubject(def.on) },
      (d) => this.onEvent(d),
      log.child({ reactor: def.name }),
    );
  }

  /** Round trips that wrote inbox records (`insert` commands), whatever the number of records in each. */
  get recordWrites(): number {
    return this.inbox.writes;
  }

  async start(): Promise<void> {
    await this.def.setup?.(this.db);
    await this.consumer.start();
  }

  private async onEvent(d: Delivery): Promise<void> {
    const env = d.envelope;
    // The filter should make this impossible; a stray type is not ours to answer.
    if (env.type !== this.def.on) return;
    let reaction: Reaction | undefined;
    const record = await this.inbox.record(env.id, d.attempt, async () => {
      reaction = await this.def.react(env, {
        envelope: env,
        attempt: d.attempt,
        db: this.db,
        log: d.log,
      });
      const reactionEnv = answerEnvelope(
        env,
        `${env.id}:${this.def.idSuffix}`,
        `${this.def.source}.${reaction.type}`,
        reaction.data,
      );
      return { ...reaction.record, _id: env.id, reaction: reactionEnv, sagaId: env.sagaId, at: new Date() };
    });
    if (!record) {
      this.replayed++;
      return;
    }
    reaction?.onRecorded?.();
    this.reacted++;
    await this.inbox.publish(record);
  }

  async stop(): Promise<void> {
    await this.consumer.stop();
    this.log.info(
      {
        reactor: this.def.name,
        reacted: this.reacted,
        replayed: this.replayed,
        recordWrites: this.recordWrites,
        ...this.consumer.stats,
      },
      'reactor stopped',
    );
  }
}
