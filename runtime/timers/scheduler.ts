import type { Bus, Envelope } from '../messaging/index.ts';
import type { Logger } from '../observability/index.ts';
import type { SagaStore } from '../store/index.ts';

export const timerEventType = 'saga.timer';

/** Timers armed by a replica whose clock is behind ours by up to this are still found. */
const clockMarginMs = 2_000;
/** Timer events published at once (PubAcks awaited together). */
const publishPipeline = 256;

/**
 * Fires due durable timers. Any number of orchestrator replicas may run it: each due
 * timer is published as an ordinary event whose id is derived from (saga, timer, due
 * time), so the stream's duplicate window and the saga's inbox collapse the copies, and
 * the actor ignores a timer that is no longer armed. The event goes through the saga's
 * mailbox like any other, which is what removes the timer, exactly once.
 */
export class TimerScheduler {
  private handle?: NodeJS.Timeout;
  private running?: Promise<void>;
  fired = 0;

  constructor(
    private readonly store: SagaStore,
    private readonly bus: Bus,
    private readonly log: Logger,
    private readonly pollMs: number,
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
    let inFlight: Array<Promise<void>> = [];
    for await (const saga of this.store.findDue(now, since)) {
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
        inFlight.push(
          this.bus.publish(`evt.${timerEventType}`, env, `${id}:${epoch}`).then(() => {
            this.recent.set(id, Date.now());
          }),
        );
        n++;
        if (inFlight.length >= publishPipeline) {
          await Promise.all(inFlight);
          inFlight = [];
        }
      }
    }
    await Promise.all(inFlight);
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
