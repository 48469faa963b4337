import { Batcher } from './batcher.ts';
import type { HistoryEntry } from './saga-doc.ts';
import type { SagaStore } from './saga-store.ts';

/**
 * Copies history entries to `saga_history` in batches (one `insertMany` for the entries of
 * many sagas, see Batcher). Each append resolves when its entry is stored (or was before)
 * and rejects when its batch failed; the entry then stays pending on its saga and the outbox
 * sweep copies it later.
 */
export class HistoryWriter {
  private readonly batcher: Batcher<HistoryEntry, null>;

  constructor(store: SagaStore) {
    this.batcher = new Batcher(
      async (entries) => {
        await store.appendHistories(entries);
        return entries.map(() => null);
      },
      { maxBatch: 256, maxInFlight: 2 },
    );
  }

  async append(entry: HistoryEntry): Promise<void> {
    await this.batcher.submit(entry);
  }
}
