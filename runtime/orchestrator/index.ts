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
export { type StepPolicy } from './step-policies.ts';
