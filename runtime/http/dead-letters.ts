import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstreamManager,
  type MsgRequest,
  type StoredMsg,
} from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/nats-core';
import { NotFoundError } from '../errors.ts';
import { type Bus, fetchOriginalPayload, subjectMatches, type Topology } from '../messaging/index.ts';
import type { DeadLetterView } from './schemas.ts';
import { parseDeadLetter, toView } from './dead-letter-records.ts';

export interface DeadLetterQuery {
  consumer?: string;
  sagaId?: string;
  limit: number;
  /** The last dead letter (DLQ stream sequence) of the previous page. */
  after?: number;
}

/** How many DLQ messages one list request reads at most while filtering by saga. */
const scanLimit = 2_000;

/** A durable consumer's name as jetsaga makes them (NATS forbids `.`, `*`, `>` and whitespace). */
const durableName = /^[A-Za-z0-9_-]{1,255}$/;

/** A dead letter that must not be replayed (not one jetsaga wrote, or not to its subject): a 422. */
export class ReplayRefusedError extends Error {
  constructor(
    message: string,
    readonly about: { subject?: string; consumer?: string } = {},
  ) {
    super(message);
    this.name = 'ReplayRefusedError';
  }
}

/**
 * Where a dead letter's local subject may be replayed: a literal subject of jetsaga's
 * commands (`cmd.>`) or events (`evt.>`), namespaced, with the stream that stores it; or
 * why not. Which consumer reads it is checked against the server on top of this.
 */
export function replayTarget(
  topo: Topology,
  localSubject: string,
): { ok: true; subject: string; stream: string } | { ok: false; why: string } {
  const tokens = localSubject.split('.');
  if (localSubject.length > 512) return { ok: false, why: 'not a valid subject: longer than 512 characters' };
  if (/[*>]/.test(localSubject))
    return { ok: false, why: 'it holds a wildcard; a replay publishes to one literal subject' };
  if (tokens.some((t) => t === '' || /[\s\p{Cc}]/u.test(t)))
    return { ok: false, why: 'not a valid subject: an empty token, whitespace or a control character' };
  const [kind, ...rest] = tokens;
  if ((kind !== 'cmd' && kind !== 'evt') || rest.length === 0)
    return {
      ok: false,
      why: "not a subject of jetsaga's topology: a replay publishes only to its commands (cmd.>) or events (evt.>)",
    };
  const subject = kind === 'cmd' ? topo.cmdSubject(rest.join('.')) : topo.evtSubject(rest.join('.'));
  const stream = kind === 'cmd' ? topo.streams.cmd : topo.streams.evt;
  if (!subjectMatches(kind === 'cmd' ? topo.allCmd : topo.allEvt, subject))
    return { ok: false, why: `not a subject of stream ${stream}` };
  return { ok: true, subject, stream };
}

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
      const view = toView(msg, this.bus.topo);
      if (!q.sagaId || view.sagaId === q.sagaId) items.push(view);
      if (items.length >= q.limit || scanned >= scanLimit) break;
    }
    // More may follow: the client asks again from here (an empty last page is possible).
    return { items, nextCursor: String(lastSeen) };
  }

  private async message(id: number): Promise<StoredMsg> {
    const jsm = await this.jsm();
    const msg = await jsm.streams.getMessage(this.stream, { seq: id }).catch(notFoundAsNull);
    if (!msg) throw new NotFoundError(`no dead letter with id ${id} (replayed, deleted or expired)`);
    return msg;
  }

  /**
   * Publishes the original payload again to its original subject with its original
   * headers, under a new Nats-Msg-Id derived from this dead letter, then deletes it. The
   * id is stable, so a replay repeated after a crash (or by two clients) publishes once.
   *
   * A DLQ record is data: anyone who may publish on `dlq.*` can write one. So a replay goes
   * only to a literal subject of jetsaga's own commands or events that the consumer the
   * record names reads, by that durable's filter on the server; anything else, and a
   * record that is not a dead letter jetsaga wrote, is a `ReplayRefusedError` (422) and
   * publishes nothing.
   */
  async replay(
    id: number,
  ): Promise<{ subject: string; msgId: string; streamSeq: number; duplicate: boolean }> {
    const msg = await this.message(id);
    const parsed = parseDeadLetter(msg);
    if (!parsed.ok)
      throw new ReplayRefusedError(
        `DLQ message ${id} is not a dead letter jetsaga wrote (${parsed.why}): it cannot be replayed, only deleted`,
      );
    const letter = parsed.letter;
    const refuse = (why: string) =>
      new ReplayRefusedError(
        `dead letter ${id} (of consumer ${JSON.stringify(letter.consumer)}) cannot be replayed to ${JSON.stringify(letter.subject)}: ${why}`,
        {
          subject: letter.subject,
          consumer: letter.consumer,
        },
      );
    const target = replayTarget(this.bus.topo, letter.subject);
    if (!target.ok) throw refuse(target.why);
    if (letter.stream !== target.stream)
      throw refuse(
        `the record says its original is in stream ${letter.stream}, but that subject is stored in ${target.stream}`,
      );
    const reads = await this.reads(target.stream, letter.consumer);
    if (!reads.ok) throw refuse(reads.why);
    if (reads.filters.length > 0 && !reads.filters.some((f) => subjectMatches(f, target.subject)))
      throw refuse(
        `consumer ${letter.consumer} does not read it: its filter is ${reads.filters.map((f) => this.bus.topo.local(f)).join(', ')}`,
      );

    const msgId = `${letter.id}:replay:${id}`;
    let h: MsgHdrs;
    try {
      h = natsHeaders();
      for (const [key, value] of Object.entries(letter.headers)) {
        // Server-interpreted headers (ids, expectations, rollups) must not ride along.
        if (!key.toLowerCase().startsWith('nats-')) h.set(key, value);
      }
      // The new Nats-Msg-Id embeds the id: a valid header value here is a valid one there.
      h.set('jetsaga-replay-of', letter.id);
    } catch (err) {
      throw refuse(`its headers or id cannot be sent: ${err instanceof Error ? err.message : String(err)}`);
    }
    const payload = await fetchOriginalPayload(await this.jsm(), letter);
    if (!payload)
      throw refuse(
        `the record keeps only the first bytes of its payload, and the original is no longer in stream ${letter.stream} at sequence ${letter.streamSeq}`,
      );
    const ack = await this.bus.js.publish(target.subject, payload, { msgID: msgId, headers: h });
    // Only a JetStream stream's ack has these; the response promises the sequence it was stored at.
    if (ack.stream !== target.stream || !Number.isSafeInteger(ack.seq) || ack.seq < 1)
      throw new Error(`replay of dead letter ${id}: unexpected publish ack ${JSON.stringify(ack)}`);
    await this.delete(id).catch((err: unknown) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
    return { subject: letter.subject, msgId, streamSeq: ack.seq, duplicate: ack.duplicate };
  }

  /**
   * The subjects a durable consumer reads, from its config on the server (the source of
   * truth, whatever the record says): none when it reads its whole stream.
   */
  private async reads(
    stream: string,
    durable: string,
  ): Promise<{ ok: true; filters: string[] } | { ok: false; why: string }> {
    if (!durableName.test(durable))
      return { ok: false, why: `${JSON.stringify(durable)} is not the name of a durable consumer` };
    const jsm = await this.jsm();
    // The consumer list (the api's NATS grants allow it, for /metrics) rather than one consumer's info.
    for await (const ci of jsm.consumers.list(stream)) {
      if (ci.name !== durable) continue;
      const { filter_subject: one, filter_subjects: many } = ci.config;
      return { ok: true, filters: many && many.length > 0 ? many : one ? [one] : [] };
    }
    return {
      ok: false,
      why: `consumer ${durable} does not read stream ${stream}, which stores it (no such durable)`,
    };
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
