export { defineSaga, inputContractOf, type SagaDefinition, SagaRegistry } from './definition.ts';
export { Orchestrator, orchestratorDurable } from './orchestrator.ts';
export { type ActorDeps, SagaActor } from './saga-actor.ts';
export { lifecycleOnlyEvents, RuntimeEvent, runtimeEventContracts, SagaEndedData } from './runtime-events.ts';
export {
  currentInput,
  sagaIdForKey,
  sameStartInput,
  type Started,
  type StartRequest,
  startSaga,
  startSagaOnce,
} from './start.ts';
export {
  type EmittedCommand,
  type MachineEvent,
  runStep,
  type StepResult,
  stateName,
  timerKey,
} from './step.ts';
export { requestCancel } from './cancel.ts';
export { requestResume, resumable } from './resume.ts';
export {
  requestSignal,
  type SignalEvent,
  signalEventType,
  type SignalRequest,
  type SignalSent,
  statesAccepting,
} from './signals.ts';
export { type StepPolicy } from './step-policies.ts';
export {
  type Divergence,
  firstDifference,
  type RecordedSaga,
  type RecordedTransition,
  ReplayAspect,
  type ReplayedStep,
  type ReplayResult,
  replaySaga,
} from './replay.ts';
export {
  divergenceLine,
  parseRecordedSagas,
  RecordedSagaSchema,
  replayRecorded,
  type ReplayOptions,
  type ReplayReport,
  replaySummary,
} from './replay-report.ts';
export { purgedWhen } from './retention.ts';
