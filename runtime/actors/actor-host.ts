/**
 * A host of virtual actors: one per key, activated on first message, with a serial
 * mailbox (one message at a time, in arrival order) and passivation when idle or when
 * the live count passes its cap (least recently used first). An actor holds only a cache
 * of durable state, so passivating it loses nothing.
 */
export interface ActorHostOptions<A> {
  create: (key: string) => A;
  idleMs: number;
  maxLive: number;
  /** Called when an actor is dropped from memory. */
  onPassivate?: (key: string, actor: A) => void;
  /**
   * Whether an actor has nothing more to do (e.g. its saga has ended): it is passivated as soon
   * as its mailbox is empty instead of staying live until idle. A late message activates it again.
   */
  finished?: (actor: A) => boolean;
}

interface Slot<A> {
  actor: A;
  /** Tail of the mailbox: the promise of the last queued message. */
  tail: Promise<unknown>;
  pending: number;
  lastUsed: number;
}

export class ActorHost<A> {
  private readonly live = new Map<string, Slot<A>>();
  private readonly sweeper: NodeJS.Timeout;
  passivations = 0;

  constructor(private readonly opts: ActorHostOptions<A>) {
    this.sweeper = setInterval(() => this.passivateIdle(), Math.max(50, Math.floor(opts.idleMs / 2)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.live.size;
  }

  /** Queues `fn` on the actor's mailbox and resolves with its result. */
  run<T>(key: string, fn: (actor: A) => Promise<T>): Promise<T> {
    let slot = this.live.get(key);
    if (slot) {
      // Re-insert to keep the map in least-recently-used order.
      this.live.delete(key);
    } else {
      slot = { actor: this.opts.create(key), tail: Promise.resolve(), pending: 0, lastUsed: Date.now() };
    }
    this.live.set(key, slot);
    const s = slot;
    s.pending++;
    const result = s.tail.then(() => fn(s.actor));
    s.tail = result.then(
      () => this.done(key, s),
      () => this.done(key, s),
    );
    if (this.live.size > this.opts.maxLive) this.evictOverflow();
    return result;
  }

  private done(key: string, slot: Slot<A>): void {
    slot.pending--;
    slot.lastUsed = Date.now();
    if (slot.pending > 0) return;
    if (this.live.size > this.opts.maxLive || this.opts.finished?.(slot.actor)) this.passivate(key, slot);
  }

  private evictOverflow(): void {
    for (const [key, slot] of this.live) {
      if (this.live.size <= this.opts.maxLive) return;
      if (slot.pending === 0) this.passivate(key, slot);
    }
  }

  private passivateIdle(): void {
    const cutoff = Date.now() - this.opts.idleMs;
    for (const [key, slot] of this.live) {
      if (slot.lastUsed > cutoff) return; // LRU order: the rest are newer
      if (slot.pending === 0) this.passivate(key, slot);
    }
  }

  private passivate(key: string, slot: Slot<A>): void {
    if (this.live.get(key) !== slot) return;
    this.live.delete(key);
    this.passivations++;
    this.opts.onPassivate?.(key, slot.actor);
  }

  /** Waits for every mailbox to drain. */
  async drain(): Promise<void> {
    await Promise.all([...this.live.values()].map((s) => s.tail));
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
