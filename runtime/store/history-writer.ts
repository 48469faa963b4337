import { Batcher } from './batcher.ts';
import type { HistoryEntry } from './saga-doc.ts';
import type { SagaStore } from './saga-store.ts';

/**
 * Copies history entries to `saga_history` in batches (one `insertMany` for the entries of
 * many sagas, see Batcher). Each append resolves when its entry is stored (or was before)
 * and rejects when its batch failed; the entry then stays pending on its saga and the outbox
 * sweep copies it later. Nobody waits for a copy on a saga's way (the saga document holds the
 * entry, and the API reads it there meanwhile), so a copy lingers `lingerMs` for company: a
 * saga's steps at low load share one write instead of one each.
 */
export class HistoryWriter {
  private readonly batcher: Batcher<HistoryEntry, null>;

  constructor(store: SagaStore, lingerMs = 0) {
    this.batcher = new Batcher(
      async (entries) => {
        await store.appendHistories(entries);
        return entries.map(() => null);
      },
      { maxBatch: 256, maxInFlight: 2, lingerMs },
    );
  }

  async append(entry: HistoryEntry): Promise<void> {
    await this.batcher.submit(entry);
  }

  /** The copies appended so far go now (somebody waits for them). */
  flushNow(): void {
    this.batcher.flushNow();
  }
}
