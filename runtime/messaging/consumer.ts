import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { classify, type JetsagaError } from '../errors.ts';
import type { Logger } from '../observability/index.ts';
import { messagingMetrics } from '../observability/metrics.ts';
import { type Bus, headersToRecord } from './bus.ts';
import { buildDeadLetter, deadLetterBudget, deadLetterId, defaultMaxPayload } from './dead-letter.ts';
import { type Envelope, EnvelopeSchema } from '../wire/index.ts';
import { type DurableSpec, isNotFound, provisionConsumer } from './provision.ts';

export interface Delivery {
  /** Subject without the namespace, e.g. `evt.payment.authorized`. */
  subject: string;
  envelope: Envelope;
  headers: Record<string, string>;
  /** 1 on first delivery. */
  attempt: number;
  streamSeq: number;
  log: Logger;
}

export type Handler = (delivery: Delivery) => Promise<void>;

export interface ConsumerStats {
  processed: number;
  redelivered: number;
  deadLettered: number;
  retried: number;
}

/** Dead letters whose publish failed, remembered for their retry (bounded: oldest forgotten first). */
const maxRemembered = 10_000;

/**
 * Runs one durable pull consumer: validates each message, hands it to the handler with
 * bounded concurrency, and settles it: ack on success, `nak(delay)` with exponential
 * backoff and jitter on a retryable failure, dead letter + term on a terminal one or when
 * attempts run out. Nothing is dropped silently and a bad message never stops the loop.
 *
 * The attempt limit (`maxDeliver`) is this class's, not the server's: the durable has no
 * max_deliver (see `provisionConsumer`), because a server that stops redelivering after
 * max_deliver drops the message silently when its last delivery could not be dead-lettered
 * (the DLQ stream unavailable, a publish timeout): neither handled nor dead-lettered, only an
 * advisory nobody reads. Here a message is only ever termed after its dead letter's PubAck;
 * until then it is nak-ed with backoff and its dead letter retried on every redelivery, with
 * an error log and `jetsaga_dead_letter_failures_total` each time. A delivery past
 * `maxDeliver` (the dead letter failed before, or handlers crashed or outlived ack_wait) does
 * not run the handler again: it is dead-lettered.
 */
export class DurableConsumer {
  readonly stats: ConsumerStats = { processed: 0, redelivered: 0, deadLettered: 0, retried: 0 };
  private messages?: ConsumerMessages;
  private stopping = false;
  private loop?: Promise<void>;
  private readonly inFlight = new Map<JsMsg, number>();
  private readonly idle: Array<() => void> = [];
  private heartbeat?: NodeJS.Timeout;
  /** Dead letters not written yet, by stream sequence: their redelivery retries the same one. */
  private readonly unwritten = new Map<number, { reason: DeadLetterReason; error: string }>();
  /** Dead-letter publishes that failed (each was nak-ed for a retry). */
  deadLetterFailures = 0;
  private consuming = false;

  /**
   * True while its loop consumes (the durable found, messages flowing or awaited); false before
   * start, while the loop waits to retry (the durable missing, a failed pull) and once stopping.
   * Readiness (/readyz) asks it.
   */
  get running(): boolean {
    return this.consuming && !this.stopping;
  }

  constructor(
    private readonly bus: Bus,
    private readonly spec: DurableSpec,
    private readonly handler: Handler,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    // With `skip`, `jetsaga provision` creates the durable under its own NATS user; the loop below
    // waits for it to exist.
    if (this.bus.config.provision === 'auto') await provisionConsumer(this.bus, this.spec);
    // Long handlers tell the server they are still alive before ack_wait runs out.
    const beat = Math.max(1000, Math.floor(this.bus.config.ackWaitMs / 3));
    this.heartbeat = setInterval(() => {
      const now = Date.now();
      for (const [msg, since] of this.inFlight) if (now - since > beat) msg.working();
    }, beat);
    this.heartbeat.unref();
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const { config } = this.bus;
    while (!this.stopping) {
      try {
        const consumer = await this.bus.js.consumers.get(this.spec.stream, this.spec.durable);
        this.messages = await consumer.consume({
          // Small pulls spread work across replicas; short expiries notice a dead server
          // (a NATS node gone from a cluster) in seconds rather than half a minute.
          max_messages: Math.min(config.maxInFlight, 128),
          expires: 5_000,
        });
        this.consuming = true;
        for await (const msg of this.messages) {
          if (this.stopping) {
            // Not started: let the server redeliver it to whoever runs next.
            msg.nak();
            continue;
          }
          while (this.inFlight.size >= config.maxInFlight) await new Promise<void>((r) => this.idle.push(r));
          this.inFlight.set(msg, Date.now());
          void this.settle(msg).finally(() => {
            this.inFlight.delete(msg);
            this.idle.shift()?.();
          });
        }
        this.consuming = false;
      } catch (err) {
        this.consuming = false;
        if (this.stopping) break;
        if (isNotFound(err)) {
          this.log.warn(
            { consumer: this.spec.durable, stream: this.spec.stream },
            config.provision === 'skip'
              ? 'durable consumer does not exist yet; waiting for `jetsaga provision` to create it'
              : 'durable consumer is gone; restarting',
          );
          await new Promise((r) => setTimeout(r, 2_000));
          continue;
        }
        this.log.warn({ err, consumer: this.spec.durable }, 'consumer loop failed; restarting');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async settle(msg: JsMsg): Promise<void> {
    const attempt = msg.info.deliveryCount;
    if (attempt > 1) this.stats.redelivered++;
    let envelope: Envelope;
    try {
      envelope = EnvelopeSchema.parse(msg.json());
    } catch (err) {
      await this.deadLetter(msg, 'validation', `invalid envelope: ${describe(err)}`);
      return;
    }
    const unwritten = this.unwritten.get(msg.info.streamSequence);
    if (unwritten) {
      // Its handler is done with it: only its dead letter is left to write.
      await this.deadLetter(msg, unwritten.reason, unwritten.error);
      return;
    }
    if (attempt > this.bus.config.maxDeliver) {
      await this.deadLetter(
        msg,
        'exhausted',
        `delivered ${attempt} times without being settled (more than maxDeliver ${this.bus.config.maxDeliver}): its handlers crashed or outlived ack_wait, or its dead letter could not be written`,
      );
      return;
    }
    const log = this.log.child({
      sagaId: envelope.sagaId,
      correlationId: envelope.correlationId,
      msgId: msg.headers?.get('Nats-Msg-Id') || envelope.id,
      type: envelope.type,
    });
    try {
      await this.handler({
        subject: this.bus.topo.local(msg.subject),
        envelope,
        headers: headersToRecord(msg.headers),
        attempt,
        streamSeq: msg.info.streamSequence,
        log,
      });
      msg.ack();
      this.stats.processed++;
    } catch (err) {
      const e = classify(err);
      if (!e.retryable) {
        await this.deadLetter(msg, e.kind, e.message);
      } else if (attempt >= this.bus.config.maxDeliver) {
        await this.deadLetter(msg, 'exhausted', `gave up after ${attempt} attempts: ${e.message}`);
      } else {
        const delay = backoff(attempt, this.bus.config.retryBaseMs, this.bus.config.retryMaxMs);
        log.debug({ err: e.message, attempt, delay }, 'retrying');
        this.stats.retried++;
        msg.nak(delay);
      }
    }
  }

  /**
   * Keeps the original, then terms it, only once the DLQ stream has acked the dead letter. A
   * dead letter that cannot be written leaves the message unacked: nak-ed with backoff, it is
   * redelivered (the durable has no max_deliver) and the dead letter retried, for as long as
   * it takes, or until the message ages out of its stream (`streamMaxAgeMs`).
   */
  private async deadLetter(msg: JsMsg, reason: DeadLetterReason, error: string): Promise<void> {
    const { stream, streamSequence: seq, deliveryCount: attempt } = msg.info;
    const consumer = this.spec.durable;
    const subject = this.bus.topo.local(msg.subject);
    try {
      const id = deadLetterId(stream, seq, consumer);
      const entry = buildDeadLetter(
        {
          consumer,
          stream,
          streamSeq: seq,
          subject,
          headers: headersToRecord(msg.headers),
          data: msg.data,
          reason,
          error,
          attempts: attempt,
        },
        deadLetterBudget(this.bus.nc.info?.max_payload ?? defaultMaxPayload, id),
      );
      const ack = await this.bus.js.publish(this.bus.topo.dlqSubject(consumer), JSON.stringify(entry), {
        msgID: entry.id,
      });
      this.unwritten.delete(seq);
      msg.term(`${reason}: ${error}`.slice(0, 200));
      this.stats.deadLettered++;
      if (entry.payloadTruncated) messagingMetrics.deadLettersTruncated.inc({ consumer });
      this.log.warn(
        {
          dlq: entry.id,
          reason,
          error: entry.error,
          subject,
          streamSeq: seq,
          ...(ack.duplicate ? { duplicate: true } : {}),
          ...(entry.payloadTruncated ? { payloadTruncated: true, payloadBytes: entry.payloadBytes } : {}),
        },
        'dead-lettered',
      );
    } catch (err) {
      this.deadLetterFailures++;
      messagingMetrics.deadLetterFailures.inc({ consumer });
      this.unwritten.delete(seq);
      this.unwritten.set(seq, { reason, error });
      if (this.unwritten.size > maxRemembered) this.unwritten.delete(this.unwritten.keys().next().value!);
      const delay = backoff(attempt, this.bus.config.retryBaseMs, this.bus.config.retryMaxMs);
      this.log.error(
        { err, consumer, stream, streamSeq: seq, subject, attempt, reason, retryInMs: delay },
        'dead letter publish failed; the message stays unacked in its stream and its dead letter is retried',
      );
      msg.nak(delay);
    }
  }

  /** Stops fetching, lets in-flight messages finish (or the deadline pass). */
  async stop(deadlineMs = this.bus.config.shutdownTimeoutMs): Promise<void> {
    this.stopping = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.messages?.close().catch(() => undefined);
    const until = Date.now() + deadlineMs;
    while (this.inFlight.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await this.loop?.catch(() => undefined);
  }
}

/** Exponential backoff with full jitter, capped. */
export function backoff(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 20));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

type DeadLetterReason = JetsagaError['kind'] | 'exhausted';

function describe(err: unknown): string {
  if (err && typeof err === 'object' && 'issues' in err && Array.isArray(err.issues)) {
    return err.issues
      .map((i: { path: PropertyKey[]; message: string }) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
  }
  return err instanceof Error ? err.message : String(err);
}
