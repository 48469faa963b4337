export { Batcher } from './batcher.ts';
export { isDuplicateKey, onlyDuplicates } from './duplicate-key.ts';
export {
  applyContextChanges,
  contextChangesOf,
  contextKeyframeEvery,
  keyframeOf,
  withContexts,
} from './history-context.ts';
export {
  type ContextChanges,
  type HistoryEntry,
  historyOnDoc,
  isTerminal,
  type OutboxEntry,
  type SagaDoc,
  SagaStatus,
  type StalledCommand,
  type StoredHistoryEntry,
  type TimerEntry,
  terminalStatuses,
} from './saga-doc.ts';
export type { DueSaga } from './recovery-queries.ts';
export type {
  SagaBacklog,
  SagaListFilter,
  SagaListItem,
  SagaListPage,
  SagaListPaging,
  SagaListPosition,
  SagaSummaryDoc,
} from './saga-queries.ts';
export { ClientWatchdog, type WatchdogLog } from './client-watchdog.ts';
export { type Cleared, type HistoryMoved, nextWake, SagaStore, type Transition } from './saga-store.ts';
export type { EndedPurge, SagaTombstone } from './purge-queries.ts';
export { PurgeLoop, type PurgeRound } from './purge-loop.ts';
