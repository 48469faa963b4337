import type { Config } from '../config.ts';
import type { Bus } from '../messaging/index.ts';
import type { Logger } from '../observability/index.ts';
import { inSpan, publishAttributes, SpanKind, traceparentOf, tracingOn } from '../observability/tracing.ts';
import { outboxLeftAfter } from './commit.ts';
import { type Cleared, isTerminal, type OutboxEntry, type SagaDoc, type SagaStore } from '../store/index.ts';

export interface OutboxDeps {
  store: SagaStore;
  bus: Bus;
  config: Config;
  log: Logger;
}

/** The actor an outbox belongs to: its saga, and its cached document when a clear runs. */
export interface OutboxOwner {
  readonly id: string;
  readonly cached: SagaDoc | null;
}

/**
 * How long published outbox entries may wait for the saga's next transition to remove them
 * (in the same write) before a write of their own does: a third of the sweep's grace period
 * (1 s by default), so the sweep never takes them for entries a crash left behind.
 */
const clearDelayMs = (config: Config) => Math.max(1, Math.floor(config.outboxGraceMs / 3));

/**
 * One saga's outbox after its steps are written: publishes the entries (PubAck awaited), then
 * keeps track of what is published but still on the document. Those are removed by the saga's
 * next transition (`take` for its write), or by a write of their own a moment later when no
 * transition comes (at once when the saga has ended or is being recovered). A step that asks
 * for nothing leaves nothing to clear.
 */
export class OutboxFlush {
  /** Published outbox entries still on the document. */
  private readonly msgIds = new Set<string>();
  private clearTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly owner: OutboxOwner,
    private readonly deps: OutboxDeps,
  ) {}

  /** Everything published and removed from the document: nothing left to do. */
  get settled(): boolean {
    return this.clearTimer === null && this.msgIds.size === 0;
  }

  /** The outbox entry `msgId` is known to be published (the saga handles it as its own event). */
  published(msgId: string): void {
    this.msgIds.add(msgId);
  }

  /**
   * Publishes every entry of `doc`'s outbox not published yet with its original msg id
   * (idempotent, so in parallel). An ended saga, or one being recovered (`recovering`, the
   * sweep), gets no next transition: its clear goes at once, and the sweep's also takes the
   * saga out of its index. Resolves with the number of entries published.
   */
  async flush(doc: SagaDoc, recovering = false): Promise<number> {
    const entries = Object.values(doc.outbox).filter((e) => !this.msgIds.has(e.msgId));
    await Promise.all(entries.map((e) => this.publish(e)));
    for (const e of entries) this.msgIds.add(e.msgId);
    if (recovering || isTerminal(doc.status)) await this.clear(recovering);
    else this.scheduleClear();
    return entries.length;
  }

  /**
   * Publishes one entry; traced, in a span of its own, the child of the step that wrote it (the
   * traceparent its envelope holds), and the message sent carries the publish span's context.
   */
  private async publish(e: OutboxEntry): Promise<void> {
    if (!tracingOn()) {
      await this.deps.bus.publish(e.subject, e.envelope, e.msgId);
      return;
    }
    await inSpan(
      `publish ${e.subject}`,
      e.envelope.traceparent,
      SpanKind.PRODUCER,
      (span) =>
        this.deps.bus.publish(e.subject, { ...e.envelope, traceparent: traceparentOf(span!) }, e.msgId),
      () => ({
        ...publishAttributes(e.subject, e.msgId, e.envelope.sagaId),
        'saga.message.type': e.envelope.type,
      }),
    );
  }

  /**
   * Removes what is published from the owner's cached document and the stored one; the saga
   * leaves the sweep's index when nothing is left. `sweeping`: the sweep found the saga in its
   * index, so it is taken out even when there is nothing to remove.
   */
  async clear(sweeping = false): Promise<void> {
    if (this.clearTimer) clearTimeout(this.clearTimer);
    this.clearTimer = null;
    const doc = this.owner.cached;
    if (!doc) return;
    const cleared = this.take();
    if (cleared.msgIds.length === 0 && !sweeping) return;
    const emptiesIt = !outboxLeftAfter(doc, cleared);
    try {
      await this.deps.store.clearOutbox(doc._id, cleared, emptiesIt ? doc.rev : undefined);
    } catch (err) {
      this.putBack(cleared);
      throw err;
    }
    this.forget(doc, cleared);
  }

  private scheduleClear(): void {
    if (this.clearTimer || this.msgIds.size === 0) return;
    this.clearTimer = setTimeout(() => {
      this.clearTimer = null;
      this.clear().catch((err: unknown) =>
        this.deps.log.warn(
          { err: String(err), sagaId: this.owner.id },
          'outbox clear failed; the sweep retries',
        ),
      );
    }, clearDelayMs(this.deps.config));
    this.clearTimer.unref();
  }

  /** What is published and still on the document, for a write to remove; `putBack` if it fails. */
  take(): Cleared {
    const cleared = { msgIds: [...this.msgIds] };
    this.msgIds.clear();
    return cleared;
  }

  putBack(cleared: Cleared): void {
    for (const m of cleared.msgIds) this.msgIds.add(m);
  }

  /** The cached document after `cleared` was removed from the stored one. */
  forget(doc: SagaDoc, cleared: Cleared): void {
    for (const m of cleared.msgIds) delete doc.outbox[m];
  }
}
