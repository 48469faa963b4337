import type { Collection, Filter } from 'mongodb';
import { TransientError } from '../errors.ts';
import type { Bus } from '../messaging/index.ts';
import type { Envelope } from '../wire/index.ts';
import { InsertBatcher } from '../store/insert-batcher.ts';

/**
 * The answer to an incoming message: its own id, caused by that message, in the same saga and
 * correlation (and trace) as it.
 */
export function answerEnvelope(cause: Envelope, id: string, type: string, data: Envelope['data']): Envelope {
  return {
    id,
    type,
    schemaVersion: 1,
    occurredAt: new Date().toISOString(),
    sagaId: cause.sagaId,
    sagaType: cause.sagaType,
    correlationId: cause.correlationId,
    causationId: cause.id,
    traceparent: cause.traceparent,
    data,
  };
}

/**
 * The inbox of a host that answers each incoming message once (a participant's reply to a
 * command, a reactor's reaction to an event): one record per message id (the unique `_id`
 * decides), and the answer recorded first is THE answer, published under its own id on every
 * delivery. Records of messages answered at the same time are inserted together (InsertBatcher).
 */
export class AnswerInbox<R extends { _id: string }> {
  private readonly writer: InsertBatcher<R>;

  constructor(
    private readonly records: Collection<R>,
    /** null: the message was handled and recorded, but answers nothing (a reactor that ignores an event). */
    private readonly answerOf: (record: R) => Envelope | null,
    private readonly bus: Bus,
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
   * published.
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
    if ((await this.writer.insert(record)) === 'duplicate') {
      const seen = await this.find(id);
      // Gone meanwhile: retried, and the next insert decides.
      if (!seen) throw new TransientError(`inbox record ${id}: duplicate key, but no record found`);
      return this.replay(seen);
    }
    return record;
  }

  /** Publishes a record's answer under its own message id. */
  async publish(record: R): Promise<void> {
    const env = this.answerOf(record);
    if (!env) return;
    await this.bus.publish(`evt.${env.type}`, env, env.id);
  }

  private async find(id: string): Promise<R | null> {
    return (await this.records.findOne({ _id: id } as Filter<R>)) as R | null;
  }

  private async replay(seen: R): Promise<null> {
    await this.publish(seen);
    return null;
  }
}
