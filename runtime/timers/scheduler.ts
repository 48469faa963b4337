import type { Bus, Envelope } from '../messaging/index.ts';
import type { Logger } from '../observability/index.ts';
import type { DueSaga, SagaDoc, SagaStore } from '../store/index.ts';

export const timerEventType = 'saga.timer';

/** Timers armed by a replica whose clock is behind ours by up to this are still found. */
const clockMarginMs = 2_000;
/** Timer events published (PubAcks awaited) or handed to local actors at once. */
const pipeline = 256;

/**
 * Hands a due timer's event, with the saga document the poll just read, to this process's actor
 * of the saga (which takes its step as for an event from the stream). Resolves once the step is
 * committed; rejects when it could not be, and the event then goes through the stream.
 */
export type LocalTimerDelivery = (env: Envelope, doc: SagaDoc) => Promise<void>;

/**
 * Fires due durable timers. Any number of orchestrator replicas may run it: each due
 * timer becomes an ordinary event whose id is derived from (saga, timer, due time), so the
 * saga's inbox (and the stream's duplicate window) collapse the copies, and the actor
 * ignores a timer that is no longer armed. The event goes through the saga's mailbox like
 * any other, which is what removes the timer, exactly once.
 *
 * With a local delivery (the orchestrator's), the event and the document the poll read go
 * straight to this process's actor of the saga: no publish, delivery and ack through the
 * stream, and no second read of the document (the actor's commit is conditional on the
 * revision it was read at, so a document another replica moved meanwhile is only a retry).
 * A timer whose local step fails is published instead and takes the stream's path, with its
 * redeliveries and dead letters. Without one, every timer is published.
 */
export class TimerScheduler {
  private handle?: NodeJS.Timeout;
  private running?: Promise<void>;
  fired = 0;

  /** Timer events published to the stream: all of them without a local delivery, else those whose local step failed. */
  published = 0;

  constructor(
    private readonly store: SagaStore,
    private readonly bus: Bus,
    private readonly log: Logger,
    private readonly pollMs: number,
    private readonly local?: LocalTimerDelivery,
  ) {}

  start(): void {
    const tick = () => {
      this.running = this.poll()
        .then(() => undefined)
        .catch((err) => this.log.warn({ err: String(err) }, 'timer poll failed'))
        .finally(() => {
          this.handle = setTimeout(tick, this.pollMs);
        });
    };
    tick();
  }

  /** Timer event ids published within the duplicate window: the stream has them already. */
  private readonly recent = new Map<string, number>();
  /**
   * When the last completed poll looked: every saga due by then was published (or is in
   * `recent`), so the next poll reads only sagas that became due since (minus a margin).
   */
  private watermark: Date | null = null;
  private lastFullScan = 0;

  /**
   * Publishes every due timer not published lately. A poll reads only sagas that became due
   * since the last one looked (an indexed range, minus a margin for a timer armed by a replica
   * whose clock is behind, or committed while that poll ran); every
   * `fullScanMs` it reads all due sagas again, which refires a timer whose event was lost
   * once its duplicate window has passed.
   */
  async poll(now = new Date()): Promise<number> {
    const windowMs = this.bus.config.duplicateWindowMs;
    const cutoff = now.getTime() - windowMs;
    for (const [id, at] of this.recent) {
      if (at >= cutoff) break; // insertion order is publication order
      this.recent.delete(id);
    }
    const full =
      this.watermark === null || now.getTime() - this.lastFullScan >= Math.min(windowMs / 2, 30_000);
    const since = full ? undefined : new Date(this.watermark!.getTime() - clockMarginMs);
    // One msg id per duplicate window: copies within it collapse in the stream, and a
    // timer whose event was lost (dead-lettered while the store was down) fires later.
    const epoch = Math.floor(now.getTime() / windowMs);
    let n = 0;
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    const sagas: AsyncIterable<DueSaga | SagaDoc> = this.local
      ? this.store.findDueDocs(now, since)
      : this.store.findDue(now, since);
    for await (const saga of sagas) {
      let first = true;
      for (const timer of Object.values(saga.timers)) {
        if (timer.dueAt > now) continue;
        const id =
          `${saga._id}:timer:${timer.dueAt.getTime()}:${timer.id.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(
            0,
            200,
          );
        if (this.recent.has(id)) continue;
        const env: Envelope = {
          id,
          type: timerEventType,
          schemaVersion: 1,
          occurredAt: now.toISOString(),
          sagaId: saga._id,
          sagaType: saga.type,
          correlationId: saga.correlationId,
          causationId: null,
          traceparent: saga.traceparent,
          data: { timerId: timer.id, dueAt: timer.dueAt.getTime() },
        };
        const publish = () => this.bus.publish(`evt.${timerEventType}`, env, `${id}:${epoch}`);
        // One local step per saga and poll: a second due timer of the same saga would find the
        // document moved on by the first; it goes through the stream and the saga's mailbox.
        const fire =
          this.local && first
            ? this.local(env, saga as SagaDoc).catch((err: unknown) => {
                this.log.warn(
                  { err: String(err), sagaId: saga._id, timerId: timer.id },
                  'local timer step failed; publishing the timer event',
                );
                this.published++;
                return publish();
              })
            : publish().then(() => {
                this.published++;
              });
        first = false;
        // Settles either way (a rejection is kept for the end of the poll, none goes unhandled).
        const p: Promise<void> = fire.then(
          () => {
            this.recent.set(id, Date.now());
            inFlight.delete(p);
          },
          (err: unknown) => {
            failure ??= err;
            inFlight.delete(p);
          },
        );
        inFlight.add(p);
        n++;
        if (inFlight.size >= pipeline) await Promise.race(inFlight);
      }
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    // Not the latest due time found: after a restart thousands of sagas can share an old one,
    // and a watermark behind them would read them all again at every poll until they moved.
    this.watermark = now;
    if (full) this.lastFullScan = now.getTime();
    this.fired += n;
    return n;
  }

  async stop(): Promise<void> {
    if (this.handle) clearTimeout(this.handle);
    await this.running;
    if (this.handle) clearTimeout(this.handle);
  }
}
