import type { SagaStore } from './saga-store.ts';
import type { HistoryEntry } from './saga-doc.ts';

/**
 * Copies history entries to `saga_history` in batches: entries appended while a write is in
 * flight (or within `lingerMs` of the first) go together in one `insertMany`, so many sagas
 * moving at once cost one round trip instead of one each. Each append resolves when its entry
 * is stored (or was before) and rejects when its batch failed; the entry then stays pending on
 * its saga and the outbox sweep copies it later.
 */
export class HistoryWriter {
  private queue: Array<{ entry: HistoryEntry; done: (err?: unknown) => void }> = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;

  constructor(
    private readonly store: SagaStore,
    private readonly opts: { maxBatch: number; lingerMs: number; maxInFlight: number } = {
      maxBatch: 256,
      lingerMs: 2,
      maxInFlight: 4,
    },
  ) {}

  append(entry: HistoryEntry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entry, done: (err) => (err ? reject(err) : resolve()) });
      if (this.queue.length >= this.opts.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.lingerMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // A full pipe: the batch grows until a write returns, which is what batching is for.
    if (this.queue.length === 0 || this.inFlight >= this.opts.maxInFlight) return;
    const batch = this.queue.splice(0, this.opts.maxBatch);
    this.inFlight++;
    this.store
      .appendHistories(batch.map((b) => b.entry))
      .then(
        () => batch.forEach((b) => b.done()),
        (err: unknown) => batch.forEach((b) => b.done(err ?? new Error('history write failed'))),
      )
      .finally(() => {
        this.inFlight--;
        if (this.queue.length > 0) this.flush();
      });
  }
}
