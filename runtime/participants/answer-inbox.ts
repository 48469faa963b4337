import type { Collection, Filter } from 'mongodb';
import { TransientError } from '../errors.ts';
import { type Bus, type Delivery, DurableConsumer } from '../messaging/index.ts';
import type { DurableSpec } from '../messaging/provision.ts';
import type { Logger } from '../observability/index.ts';
import {
  activeTraceparent,
  inSpan,
  publishAttributes,
  type Span,
  SpanKind,
  traceparentOf,
  tracingOn,
} from '../observability/tracing.ts';
import { type Envelope, envelope } from '../wire/index.ts';
import { InsertBatcher } from '../store/insert-batcher.ts';
import type { PurgeLoop } from '../store/index.ts';
import { type InboxRetention, inboxPurge } from './inbox-purge.ts';

/**
 * The answer to an incoming message: its own id, caused by that message, in the same saga and
 * correlation (and trace) as it. Traced, it carries the context of the span computing it (the
 * handler's, see `AnswerHost.answer`), a child of the message's.
 */
export function answerEnvelope(
  cause: Envelope,
  id: string,
  type: string,
  data: Envelope['data'],
  /** When the answer was made, if not now (a reply stored in a document keeps its time). */
  occurredAt?: Date,
  /** The version of `data`'s shape (the producer's declared contract of `type`); 1 when absent. */
  schemaVersion?: number,
): Envelope {
  return envelope({
    id,
    type,
    sagaId: cause.sagaId,
    sagaType: cause.sagaType,
    correlationId: cause.correlationId,
    causationId: cause.id,
    traceparent: activeTraceparent() ?? cause.traceparent,
    data,
    ...(occurredAt ? { occurredAt } : {}),
    ...(schemaVersion !== undefined ? { schemaVersion } : {}),
  });
}

/**
 * The inbox of a host that answers each incoming message once (a participant's reply to a
 * command, a reactor's reaction to an event): one record per message id (the unique `_id`
 * decides), and the answer recorded first is THE answer, published under its own id on every
 * delivery. Records of messages answered at the same time are inserted together (InsertBatcher).
 *
 * A record whose answer is kept elsewhere (`keptElsewhere`: a participant's reply stored in its
 * own document, atomically with the effect, see `replyToStore` in participant.ts) is not inserted:
 * its answer is already as durable as a record, and every run of the message finds the same one.
 */
export class AnswerInbox<R extends { _id: string }> {
  private readonly writer: InsertBatcher<R>;

  constructor(
    private readonly records: Collection<R>,
    /** null: the message was handled and recorded, but answers nothing (a reactor that ignores an event). */
    private readonly answerOf: (record: R) => Envelope | null,
    private readonly bus: Bus,
    /**
     * `fresh`: this record's answer was kept elsewhere by this very computation (published, not
     * inserted); `earlier`: kept elsewhere by an earlier one (published again, a replay);
     * undefined: an ordinary record, inserted.
     */
    private readonly keptElsewhere?: (record: R) => 'fresh' | 'earlier' | undefined,
  ) {
    this.writer = new InsertBatcher(records);
  }

  /** Round trips that wrote records (`insert` commands), whatever the number of records in each. */
  get writes(): number {
    return this.writer.writes;
  }

  /**
   * Computes and records the answer to message `id`, or publishes the answer recorded before.
   * Returns the new record (its answer is for the caller to publish, see `publish`), or null
   * when an earlier answer was published again.
   *
   * No read on the hot path: a first delivery computes, then inserts; a duplicate key (a copy
   * under another message id, two replicas racing) publishes the stored answer instead of the
   * one just computed. A redelivery (`attempt > 1`: a crash or a lost ack, most often after
   * the record was written) reads first and replays without computing again. Exactly once
   * holds because `compute` adds nothing when it runs again and only the first record is ever
   * published. An answer kept elsewhere (`keptElsewhere`) is not inserted: `compute` found or
   * wrote it atomically with its effect, and finds that same one on every run; a redelivery still
   * reads the inbox first (its answer may have been recorded here, by an older version or a
   * handler that could not keep it).
   */
  async record(id: string, attempt: number, compute: () => Promise<R>): Promise<R | null> {
    if (attempt > 1) {
      const seen = await this.find(id);
      if (seen) return this.replay(seen);
    }
    let record: R;
    try {
      record = await compute();
    } catch (err) {
      // A duplicate whose re-run fails still has its answer; anything else fails as it did.
      const seen = await this.find(id).catch(() => null);
      if (!seen) throw err;
      return this.replay(seen);
    }
    const kept = this.keptElsewhere?.(record);
    if (kept === 'fresh') return record;
    if (kept === 'earlier') return this.replay(record);
    if ((await this.writer.insert(record)) === 'duplicate') {
      const seen = await this.find(id);
      // Gone meanwhile: retried, and the next insert decides.
      if (!seen) throw new TransientError(`inbox record ${id}: duplicate key, but no record found`);
      return this.replay(seen);
    }
    return record;
  }

  /**
   * Publishes a record's answer under its own message id. Traced, in a span of its own (the child
   * of the handler's span, or of the trace context the answer holds), whose context the message
   * sent carries.
   */
  async publish(record: R): Promise<void> {
    const env = this.answerOf(record);
    if (!env) return;
    const subject = `evt.${env.type}`;
    if (!tracingOn()) {
      await this.bus.publish(subject, env, env.id);
      return;
    }
    await inSpan(
      `publish ${subject}`,
      activeTraceparent() ?? env.traceparent,
      SpanKind.PRODUCER,
      (span) => this.bus.publish(subject, { ...env, traceparent: traceparentOf(span!) }, env.id),
      () => ({ ...publishAttributes(subject, env.id, env.sagaId), 'saga.message.type': env.type }),
    );
  }

  private async find(id: string): Promise<R | null> {
    return (await this.records.findOne({ _id: id } as Filter<R>)) as R | null;
  }

  private async replay(seen: R): Promise<null> {
    await this.publish(seen);
    return null;
  }
}

/** What an answering host is, for its consumer's logs and its stop line. */
export interface AnswerHostSpec<R extends { _id: string }> {
  /** `service` (a participant) or `reactor`: the log field naming the host, and its stop line. */
  role: 'service' | 'reactor';
  /** The stop line's name for `answered`: `handled` (commands) or `reacted` (events). */
  answeredAs: 'handled' | 'reacted';
  name: string;
  /** Its durable consumer (`participantDurable`, `reactorDurable`). */
  durable: DurableSpec;
  /** The inbox: one record per incoming message id. */
  records: Collection<R>;
  /** A record's answer to publish; null when the record answers nothing. */
  answerOf: (record: R) => Envelope | null;
  /** Whether a record's answer is kept outside the inbox (then not inserted): see `AnswerInbox`. */
  keptElsewhere?: (record: R) => 'fresh' | 'earlier' | undefined;
  bus: Bus;
  log: Logger;
  /** Purges records no message can reach any more; absent: they are kept for ever. */
  retention?: InboxRetention;
  /** Where a record keeps its saga's id (`sagaId`, `reply.sagaId`), for `retention`. */
  sagaIdPath: string;
}

/**
 * The core a participant host and a reactor host share: a durable consumer whose deliveries each
 * get one answer, recorded in the inbox (AnswerInbox) before it is published, the stats of
 * that, and the stop line. A host adds what differs: which messages it takes and how it
 * computes their answer (`onDelivery`, calling `answer`), what runs around start and stop.
 */
export abstract class AnswerHost<R extends { _id: string }> {
  readonly consumer: DurableConsumer;
  /**
   * Deliveries that published an answer recorded (or kept elsewhere) before: a duplicate, a
   * redelivery, a race.
   */
  replayed = 0;
  /** Deliveries whose answer this host computed, recorded (or kept elsewhere) first and published. */
  protected answered = 0;
  private readonly inbox: AnswerInbox<R>;
  private readonly purge?: PurgeLoop;

  constructor(private readonly spec: AnswerHostSpec<R>) {
    this.inbox = new AnswerInbox(spec.records, spec.answerOf, spec.bus, spec.keptElsewhere);
    this.consumer = new DurableConsumer(
      spec.bus,
      spec.durable,
      (d) => this.onDelivery(d),
      spec.log.child({ [spec.role]: spec.name }),
    );
    if (spec.retention)
      this.purge = inboxPurge(
        spec.records as unknown as Collection<{ _id: string; at: Date }>,
        spec.sagaIdPath,
        spec.retention,
        spec.log.child({ [spec.role]: spec.name, component: 'retention' }),
      );
  }

  /** Round trips that wrote inbox records (`insert` commands), whatever the number of records in each. */
  get recordWrites(): number {
    return this.inbox.writes;
  }

  /** Takes one delivery: checks it, then `answer`s it (or returns to ack it unanswered). */
  protected abstract onDelivery(d: Delivery): Promise<void>;

  /**
   * Records the answer `compute` gives to this delivery's message and publishes it, or, when the
   * message was answered before, publishes that answer instead (see `AnswerInbox.record`).
   * `recorded` runs only when this delivery's record is the one kept, before its publish.
   */
  protected async answer(d: Delivery, compute: () => Promise<R>, recorded?: () => void): Promise<void> {
    const env = d.envelope;
    const { role, name } = this.spec;
    return inSpan(
      `${role === 'service' ? 'handle' : 'react'} ${env.type}`,
      env.traceparent,
      SpanKind.CONSUMER,
      (span) => this.answerIn(d, compute, recorded, span),
      () => ({
        'messaging.system': 'nats',
        'messaging.operation.type': 'process',
        'messaging.message.id': env.id,
        [`jetsaga.${role}`]: name,
        'saga.id': env.sagaId,
        'saga.type': env.sagaType,
        'saga.message.type': env.type,
        'delivery.attempt': d.attempt,
      }),
    );
  }

  private async answerIn(
    d: Delivery,
    compute: () => Promise<R>,
    recorded: (() => void) | undefined,
    span: Span | undefined,
  ): Promise<void> {
    const record = await this.inbox.record(d.envelope.id, d.attempt, compute);
    if (!record) {
      this.replayed++;
      if (span?.isRecording()) span.setAttribute('answer.outcome', 'replayed');
      return;
    }
    if (span?.isRecording()) span.setAttribute('answer.outcome', 'answered');
    recorded?.();
    await this.inbox.publish(record);
    this.answered++;
  }

  async start(): Promise<void> {
    // The purge walks the records by age.
    if (this.purge) await this.spec.records.createIndex({ at: 1 });
    await this.consumer.start();
    this.purge?.start();
  }

  /** Stops the purge and the consumer (in-flight deliveries finish), runs `teardown`, logs the host's stats. */
  async stop(): Promise<void> {
    await this.purge?.stop();
    await this.consumer.stop();
    await this.teardown();
    const { role, answeredAs, name } = this.spec;
    this.spec.log.info(
      {
        [role]: name,
        [answeredAs]: this.answered,
        replayed: this.replayed,
        recordWrites: this.recordWrites,
        ...this.consumer.stats,
      },
      `${role} stopped`,
    );
  }

  /** What runs once the consumer stopped, before the stop line. */
  protected async teardown(): Promise<void> {}
}
