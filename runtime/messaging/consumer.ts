import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { classify, type JetsagaError } from '../errors.ts';
import type { Logger } from '../observability/index.ts';
import { type Bus, headersToRecord } from './bus.ts';
import { type DeadLetter, deadLetterId } from './dead-letter.ts';
import { type Envelope, EnvelopeSchema } from './envelope.ts';
import { type DurableSpec, provisionConsumer } from './provision.ts';

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

/**
 * Runs one durable pull consumer: validates each message, hands it to the handler with
 * bounded concurrency, and settles it: ack on success, `nak(delay)` with exponential
 * backoff and jitter on a retryable failure, dead letter + term on a terminal one or when
 * attempts run out. Nothing is dropped silently and a bad message never stops the loop.
 */
export class DurableConsumer {
  readonly stats: ConsumerStats = { processed: 0, redelivered: 0, deadLettered: 0, retried: 0 };
  private messages?: ConsumerMessages;
  private stopping = false;
  private loop?: Promise<void>;
  private readonly inFlight = new Map<JsMsg, number>();
  private readonly idle: Array<() => void> = [];
  private heartbeat?: NodeJS.Timeout;

  constructor(
    private readonly bus: Bus,
    private readonly spec: DurableSpec,
    private readonly handler: Handler,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await provisionConsumer(this.bus, this.spec);
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
      } catch (err) {
        if (this.stopping) break;
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

  /** Keeps the original, then terms it: a DLQ publish that fails leaves the message to redelivery. */
  private async deadLetter(
    msg: JsMsg,
    reason: JetsagaError['kind'] | 'exhausted',
    error: string,
  ): Promise<void> {
    const entry: DeadLetter = {
      id: deadLetterId(msg.info.stream, msg.info.streamSequence),
      consumer: this.spec.durable,
      stream: msg.info.stream,
      streamSeq: msg.info.streamSequence,
      subject: this.bus.topo.local(msg.subject),
      headers: headersToRecord(msg.headers),
      payload: msg.string(),
      reason,
      error,
      attempts: msg.info.deliveryCount,
      at: new Date().toISOString(),
    };
    try {
      const subject = this.bus.topo.dlqSubject(this.spec.durable);
      await this.bus.js.publish(subject, JSON.stringify(entry), { msgID: entry.id });
      msg.term(`${reason}: ${error}`.slice(0, 200));
      this.stats.deadLettered++;
      this.log.warn({ dlq: entry.id, reason, error, subject: entry.subject }, 'dead-lettered');
    } catch (err) {
      this.log.error({ err }, 'dead letter publish failed; message will be redelivered');
      msg.nak(this.bus.config.retryBaseMs);
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

function describe(err: unknown): string {
  if (err && typeof err === 'object' && 'issues' in err && Array.isArray(err.issues)) {
    return err.issues
      .map((i: { path: PropertyKey[]; message: string }) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
  }
  return err instanceof Error ? err.message : String(err);
}
