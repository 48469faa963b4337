export { Batcher } from './batcher.ts';
export { isDuplicateKey, onlyDuplicates } from './duplicate-key.ts';
export {
  type HistoryEntry,
  isTerminal,
  type OutboxEntry,
  type SagaDoc,
  SagaStatus,
  type TimerEntry,
  terminalStatuses,
} from './saga-doc.ts';
export { HistoryWriter } from './history-writer.ts';
export { type Cleared, type DueSaga, nextWake, SagaStore, type Transition } from './saga-store.ts';
