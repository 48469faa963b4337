export { Batcher } from './batcher.ts';
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
export {
  type Cleared,
  type DueSaga,
  nextWake,
  onlyDuplicates,
  SagaStore,
  type Transition,
} from './saga-store.ts';
