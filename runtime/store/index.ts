export {
  type HistoryEntry,
  isTerminal,
  type OutboxEntry,
  type SagaDoc,
  SagaStatus,
  type TimerEntry,
  terminalStatuses,
} from './saga-doc.ts';
export { nextWake, SagaStore, type Transition } from './saga-store.ts';
