import type { Bus } from '../messaging/index.ts';
import { type Envelope, envelope } from '../wire/index.ts';
import type { Logger } from '../observability/index.ts';
import type { DueSaga, SagaDoc, SagaStore } from '../store/index.ts';

export const timerEventType = 'saga.timer';

/** Timers armed by a replica whose clock is behind ours by up to this are still found. */
const clockMarginMs = 2_000;
/** Timer events published (PubAcks awaited) or handed to local actors at once. */
const pipeline = 256;
/** Due sagas read per query when they are handed to local actors with their documents (default). */
const duePage = 1000;

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
  /** Timers fired (stepped here or published), counted as each one lands, not when its poll ends. */
  fired = 0;

  /** Timer events published to the stream: all of them without a local delivery, else those whose local step failed. */
  published = 0;

  private readonly local?: LocalTimerDelivery;
  private readonly pageSize: number;

  constructor(
    private readonly store: SagaStore,
    private readonly bus: Bus,
    private readonly log: Logger,
    private readonly pollMs: number,
    opts: { local?: LocalTimerDelivery; pageSize?: number } = {},
  ) {
    this.local = opts.local;
    this.pageSize = opts.pageSize ?? duePage;
  }

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

  /** Timer event ids fired (stepped here or published) within the duplicate window. */
  private readonly recent = new Map<string, number>();
  /**
   * When the last completed poll looked: every saga due by then was published (or is in
   * `recent`), so the next poll reads only sagas that became due since (minus a margin).
   */
  private watermark: Date | null = null;
  private lastFullScan = 0;

  /**
   * Fires every due timer not fired lately. A poll reads only sagas that became due
   * since the last one looked (an indexed range, minus a margin for a timer armed by a replica
   * whose clock is behind, or committed while that poll ran); every half duplicate window (at
   * most 30 s) it reads all due sagas again, which refires a timer whose event was lost once
   * its duplicate window has passed.
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
    const firing = new Firing(this, now, windowMs);
    if (this.local) {
      // Pages of whole documents. A page is stepped before the next is read: the sagas that moved
      // have left the range, so the next page holds others. One query for every due saga would
      // make the server hold all of them, decoded, for the whole poll: after an outage that can be
      // a large backlog, and a MongoDB-wire server spends the poll collecting garbage.
      const seen = new Set<string>();
      for (;;) {
        const page = await this.store.findDueDocs(now, since, this.pageSize);
        let fresh = 0;
        for (const saga of page) {
          if (seen.has(saga._id)) continue;
          seen.add(saga._id);
          fresh++;
          await firing.fire(saga, (env) => this.local!(env, saga));
        }
        await firing.settled();
        if (page.length < this.pageSize) break;
        if (fresh === 0) {
          // A whole page of sagas that stay due (their steps failed, their events went to the
          // stream): the rest is read in one query and published.
          for await (const saga of this.store.findDue(now, since))
            if (!seen.has(saga._id)) await firing.fire(saga);
          break;
        }
      }
    } else {
      for await (const saga of this.store.findDue(now, since)) await firing.fire(saga);
    }
    await firing.settled();
    firing.throwIfFailed();
    // Not the latest due time found: after a restart thousands of sagas can share an old one,
    // and a watermark behind them would read them all again at every poll until they moved.
    this.watermark = now;
    if (full) this.lastFullScan = now.getTime();
    return firing.count;
  }

  /** Publishes a timer event with a msg id that is the same for every copy within one duplicate window. */
  publish(env: Envelope, epoch: number): Promise<void> {
    return this.bus.publish(`evt.${timerEventType}`, env, `${env.id}:${epoch}`).then(() => {
      this.published++;
    });
  }

  /** For a poll's `Firing`: whether the timer event `id` fired within the duplicate window. */
  wasRecentlyFired(id: string): boolean {
    return this.recent.has(id);
  }

  /** For a poll's `Firing`: timer event `id` was stepped or published. */
  markFired(id: string): void {
    this.recent.set(id, Date.now());
    this.fired++;
  }

  /** For a poll's `Firing`. */
  warn(obj: Record<string, unknown>, msg: string): void {
    this.log.warn(obj, msg);
  }

  async stop(): Promise<void> {
    if (this.handle) clearTimeout(this.handle);
    await this.running;
    if (this.handle) clearTimeout(this.handle);
  }
}

/** The timers one poll fires: at most `pipeline` at once, failures kept for the end of the poll. */
class Firing {
  count = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  private failed = false;
  /** One msg id per duplicate window: a timer whose event was lost fires again in a later one. */
  private readonly epoch: number;

  constructor(
    private readonly scheduler: TimerScheduler,
    private readonly now: Date,
    windowMs: number,
  ) {
    this.epoch = Math.floor(now.getTime() / windowMs);
  }

  /**
   * Fires the saga's due timers not fired lately: the first through `local` when given, the
   * others (and all of them without it) published. A second due timer of the same saga would
   * find the document moved on by the first; it goes through the stream and the saga's mailbox.
   */
  async fire(saga: DueSaga, local?: (env: Envelope) => Promise<void>): Promise<void> {
    let first = true;
    for (const timer of Object.values(saga.timers)) {
      if (timer.dueAt > this.now) continue;
      const id =
        `${saga._id}:timer:${timer.dueAt.getTime()}:${timer.id.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(
          0,
          200,
        );
      if (this.scheduler.wasRecentlyFired(id)) continue;
      const env = envelope({
        id,
        type: timerEventType,
        occurredAt: this.now,
        sagaId: saga._id,
        sagaType: saga.type,
        correlationId: saga.correlationId,
        causationId: null,
        traceparent: saga.traceparent,
        data: { timerId: timer.id, dueAt: timer.dueAt.getTime() },
      });
      const fired =
        local && first
          ? local(env).catch((err: unknown) => {
              this.scheduler.warn(
                { err: String(err), sagaId: saga._id, timerId: timer.id },
                'local timer step failed; publishing the timer event',
              );
              return this.scheduler.publish(env, this.epoch);
            })
          : this.scheduler.publish(env, this.epoch);
      first = false;
      // Settles either way: a rejection is kept for the end of the poll, none goes unhandled.
      const p: Promise<void> = fired.then(
        () => {
          this.scheduler.markFired(id);
          this.inFlight.delete(p);
        },
        (err: unknown) => {
          if (!this.failed) {
            this.failed = true;
            this.failure = err;
          }
          this.inFlight.delete(p);
        },
      );
      this.inFlight.add(p);
      this.count++;
      if (this.inFlight.size >= pipeline) await Promise.race(this.inFlight);
    }
  }

  async settled(): Promise<void> {
    await Promise.all(this.inFlight);
  }

  throwIfFailed(): void {
    if (this.failed) throw this.failure;
  }
}
