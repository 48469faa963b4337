export interface BatcherOptions {
  maxBatch: number;
  maxInFlight: number;
  /**
   * For writes nobody waits on (history copies): how long a batch waits for company before it
   * goes, unless it fills up or `flushNow` is called. 0 (the default): it goes at once.
   */
  lingerMs?: number;
}

/**
 * Group commit: items submitted while earlier batches are still being written go together
 * in the next one, so many sagas moving at once cost one round trip instead of one each, and
 * a lone item goes out at once (no added latency when the system is quiet). `write` answers
 * one result per item, in order; when it throws, every item of that batch gets the error.
 * With `lingerMs`, a quiet system writes in batches too, at the cost of that delay.
 */
export class Batcher<T, R> {
  private queue: Array<{ item: T; resolve: (r: R) => void; reject: (err: unknown) => void }> = [];
  private inFlight = 0;
  private scheduled = false;
  private lingering: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly write: (items: T[]) => Promise<R[]>,
    private readonly opts: BatcherOptions,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      const linger = this.opts.lingerMs ?? 0;
      this.schedule(linger <= 0 || this.queue.length >= this.opts.maxBatch ? 0 : linger);
    });
  }

  /** Somebody waits for what is queued: it goes in this turn of the event loop, lingering or not. */
  flushNow(): void {
    if (this.queue.length > 0) this.schedule(0);
  }

  /** A flush in this turn of the event loop (whatever else is submitted in it joins), or after `delayMs`. */
  private schedule(delayMs: number): void {
    // A batch in flight takes the queue with it when it ends.
    if (this.inFlight >= this.opts.maxInFlight || this.scheduled) return;
    if (delayMs > 0) {
      this.lingering ??= setTimeout(() => this.flush(), delayMs);
      return;
    }
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.lingering) clearTimeout(this.lingering);
    this.lingering = null;
    while (this.queue.length > 0 && this.inFlight < this.opts.maxInFlight) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
      this.inFlight++;
      this.write(batch.map((b) => b.item))
        .then(
          (results) => batch.forEach((b, i) => b.resolve(results[i] as R)),
          (err: unknown) => batch.forEach((b) => b.reject(err)),
        )
        .finally(() => {
          this.inFlight--;
          this.flush();
        });
    }
  }
}
