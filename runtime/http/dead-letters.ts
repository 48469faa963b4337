import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstreamManager,
  type MsgRequest,
  type StoredMsg,
} from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { NotFoundError } from '../errors.ts';
import { type Bus, type DeadLetter, DeadLetterSchema, Header } from '../messaging/index.ts';
import type { DeadLetterView } from './schemas.ts';

export interface DeadLetterQuery {
  consumer?: string;
  sagaId?: string;
  limit: number;
  /** The last dead letter (DLQ stream sequence) of the previous page. */
  after?: number;
}

/** How many DLQ messages one list request reads at most while filtering by saga. */
const scanLimit = 2_000;

/**
 * Dead-letter administration over the DLQ stream: list (oldest first, by stream
 * sequence), replay and delete. The API id of a dead letter is its DLQ stream sequence.
 */
export class DeadLetterAdmin {
  private jsmPromise?: Promise<JetStreamManager>;

  constructor(private readonly bus: Bus) {}

  private jsm(): Promise<JetStreamManager> {
    this.jsmPromise ??= jetstreamManager(this.bus.nc);
    return this.jsmPromise;
  }

  private get stream(): string {
    return this.bus.topo.streams.dlq;
  }

  async list(q: DeadLetterQuery): Promise<{ items: DeadLetterView[]; nextCursor: string | null }> {
    const jsm = await this.jsm();
    const subject = q.consumer ? this.bus.topo.dlqSubject(q.consumer) : this.bus.topo.allDlq;
    const items: DeadLetterView[] = [];
    let seq = (q.after ?? 0) + 1;
    let scanned = 0;
    let lastSeen = q.after ?? 0;
    for (;;) {
      // The server's "next message on this subject at or after seq": one round trip per letter.
      const msg = await jsm.streams
        .getMessage(this.stream, { seq, next_by_subj: subject } as unknown as MsgRequest)
        .catch(notFoundAsNull);
      if (!msg) return { items, nextCursor: null };
      scanned++;
      lastSeen = msg.seq;
      seq = msg.seq + 1;
      const view = toView(msg);
      if (!q.sagaId || view.sagaId === q.sagaId) items.push(view);
      if (items.length >= q.limit || scanned >= scanLimit) break;
    }
    // More may follow: the client asks again from here (an empty last page is possible).
    return { items, nextCursor: String(lastSeen) };
  }

  async get(id: number): Promise<{ msg: StoredMsg; letter: DeadLetter }> {
    const jsm = await this.jsm();
    const msg = await jsm.streams.getMessage(this.stream, { seq: id }).catch(notFoundAsNull);
    if (!msg) throw new NotFoundError(`no dead letter with id ${id} (replayed, deleted or expired)`);
    return { msg, letter: DeadLetterSchema.parse(msg.json()) };
  }

  /**
   * Publishes the original payload again to its original subject with its original
   * headers, under a new Nats-Msg-Id derived from this dead letter, then deletes it. The
   * id is stable, so a replay repeated after a crash (or by two clients) publishes once.
   */
  async replay(
    id: number,
  ): Promise<{ subject: string; msgId: string; streamSeq: number; duplicate: boolean }> {
    const { letter } = await this.get(id);
    const h = natsHeaders();
    for (const [key, value] of Object.entries(letter.headers)) {
      // Server-interpreted headers (ids, expectations, rollups) must not ride along.
      if (!key.toLowerCase().startsWith('nats-')) h.set(key, value);
    }
    h.set('jetsaga-replay-of', letter.id);
    const msgId = `${letter.id}:replay:${id}`;
    const ns = this.bus.topo.namespace;
    const subject = ns ? `${ns}.${letter.subject}` : letter.subject;
    const ack = await this.bus.js.publish(subject, letter.payload, { msgID: msgId, headers: h });
    await this.delete(id).catch((err: unknown) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
    return { subject: letter.subject, msgId, streamSeq: ack.seq, duplicate: ack.duplicate };
  }

  async delete(id: number): Promise<void> {
    const jsm = await this.jsm();
    const deleted = await jsm.streams.deleteMessage(this.stream, id, false).catch((err: unknown) => {
      if (isMissing(err)) return false;
      throw err;
    });
    if (!deleted) throw new NotFoundError(`no dead letter with id ${id} (replayed, deleted or expired)`);
  }

  /** Dead letters per consumer, for the metrics endpoint. */
  async countByConsumer(): Promise<Map<string, number>> {
    const jsm = await this.jsm();
    const info = await jsm.streams.info(this.stream, { subjects_filter: this.bus.topo.allDlq });
    const counts = new Map<string, number>();
    for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
      const consumer = this.bus.topo.local(subject).replace(/^dlq\./, '');
      counts.set(consumer, (counts.get(consumer) ?? 0) + n);
    }
    return counts;
  }
}

function isMissing(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.NoMessageFound ||
      err.code === 10057 ||
      /not found|no message/i.test(err.message))
  );
}

function notFoundAsNull(err: unknown): null {
  if (isMissing(err)) return null;
  throw err;
}

function toView(msg: StoredMsg): DeadLetterView {
  const parsed = DeadLetterSchema.safeParse(safeJson(msg));
  const letter: DeadLetter = parsed.success
    ? parsed.data
    : {
        id: `dlq-${msg.seq}`,
        consumer: msg.subject.split('.').at(-1) ?? '',
        stream: '',
        streamSeq: 0,
        subject: msg.subject,
        headers: {},
        payload: msg.string(),
        reason: 'unknown',
        error: 'this DLQ message is not a dead letter written by jetsaga',
        attempts: 0,
        at: msg.time.toISOString(),
      };
  const at = new Date(letter.at);
  return {
    id: String(msg.seq),
    deadLetterId: letter.id,
    consumer: letter.consumer,
    subject: letter.subject,
    sagaId: letter.headers[Header.sagaId] ?? payloadField(letter.payload, 'sagaId'),
    messageType: letter.headers[Header.messageType] ?? payloadField(letter.payload, 'type'),
    reason: letter.reason,
    error: letter.error,
    attempts: letter.attempts,
    at: Number.isNaN(at.getTime()) ? null : at.toISOString(),
    headers: letter.headers,
    payload: letter.payload,
  };
}

function safeJson(msg: StoredMsg): unknown {
  try {
    return msg.json();
  } catch {
    return null;
  }
}

/** A message published without jetsaga's headers may still carry its saga in the envelope. */
function payloadField(payload: string, field: string): string | null {
  try {
    const value = (JSON.parse(payload) as Record<string, unknown> | null)?.[field];
    return typeof value === 'string' ? value : null;
  } catch {
    return null;
  }
}
