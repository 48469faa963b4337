import type { Bus, Envelope } from '../messaging/index.ts';
import type { Logger } from '../observability/index.ts';
import type { SagaStore } from '../store/index.ts';

export const timerEventType = 'saga.timer';

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

  /** Timer event ids published recently, so a backlog is not published again every poll. */
  private readonly recent = new Map<string, number>();

  async poll(now = new Date()): Promise<number> {
    const resendAfter = now.getTime() - 10_000;
    for (const [id, at] of this.recent) if (at < resendAfter) this.recent.delete(id);
    let n = 0;
    let after: { nextWakeAt: Date; _id: string } | undefined;
    for (;;) {
      const due = await this.store.findDue(now, 500, after);
      if (due.length === 0) break;
      const last = due[due.length - 1]!;
      after = { nextWakeAt: last.nextWakeAt!, _id: last._id };
      await Promise.all(
        due.map(async (saga) => {
          for (const timer of Object.values(saga.timers)) {
            if (timer.dueAt > now) continue;
            const id =
              `${saga._id}:timer:${timer.dueAt.getTime()}:${timer.id.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(
                0,
                200,
              );
            // Published lately and not yet consumed (a backlog): the stream has it already.
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
            // One msg id per duplicate window: copies within it collapse in the stream, and a
            // timer whose event was lost (dead-lettered while the store was down) fires later.
            const epoch = Math.floor(now.getTime() / this.bus.config.duplicateWindowMs);
            await this.bus.publish(`evt.${timerEventType}`, env, `${id}:${epoch}`);
            this.recent.set(id, now.getTime());
            n++;
          }
        }),
      );
      if (due.length < 500) break;
    }
    this.fired += n;
    return n;
  }

  async stop(): Promise<void> {
    if (this.handle) clearTimeout(this.handle);
    await this.running;
    if (this.handle) clearTimeout(this.handle);
  }
}
