/**
 * The public surface of jetsaga (`import ... from 'jetsaga'`): define an app (sagas,
 * participants, reactors), run its roles, and the types they exchange. Everything not
 * exported here is internal and may change without notice.
 */

// Apps and running them
export { type App, type AppSpec, appEnvVar, defineApp, eventContractsOf, loadApp } from './app.ts';
export { CliError, type CliOptions, runCli } from './cli.ts';
export {
  type Config,
  configHelp,
  type ConfigOption,
  defaultConfig,
  defineSettings,
  loadConfig,
  type Settings,
  type SettingValues,
} from './config.ts';
export { allRoles, recommendedNodeFlags, type Role, roleName, type RunningNode, startNode } from './node.ts';

// Sagas
export {
  defineSaga,
  inputContractOf,
  RuntimeEvent,
  runtimeEventContracts,
  SagaEndedData,
  type EmittedCommand,
  type MachineEvent,
  type SagaDefinition,
  sagaIdForKey,
  type SignalEvent,
  signalEventType,
  SagaRegistry,
  type StartRequest,
  startSaga,
  startSagaOnce,
} from './orchestrator/index.ts';
export { type StepPolicy } from './orchestrator/index.ts';

// Participants and reactors
export {
  asStored,
  type CommandContext,
  type CommandHandler,
  command,
  commandIdOfKey,
  defineParticipant,
  defineReactor,
  keepReply,
  upsertWithReply,
  type Kept,
  type ParticipantDefinition,
  type Reaction,
  type ReactionContext,
  type ReactorDefinition,
  type ReactorSetupContext,
  type Reply,
  replyKey,
  replyPathOf,
  replyToStore,
  type ParticipantSchedule,
  type ParticipantScheduleContext,
  type ScheduleContext,
  type ScheduleDefinition,
  type ScheduledJob,
  type StartSagaOnce,
  type StartSagaOptions,
  type StoredReply,
  storedReply,
  type WithReplies,
} from './participants/index.ts';

// Messages, documents, errors
export {
  ConflictError,
  ContractError,
  ErrorKind,
  type FieldIssue,
  JetsagaError,
  NotFoundError,
  TerminalError,
  TransientError,
  ValidationError,
} from './errors.ts';
export { type Envelope, EnvelopeSchema, Header } from './wire/index.ts';
// Message contracts: versions and upcasters
export {
  checkData,
  contract,
  type ContractLookup,
  type ContractOptions,
  isContract,
  type MessageContract,
  oldestAccepted,
  upcastData,
  type Upcaster,
} from './wire/index.ts';
export { type HistoryEntry, isTerminal, type SagaDoc, SagaStatus, terminalStatuses } from './store/index.ts';

// Helpers for participants' own writes
export { Batcher, type BatcherOptions } from './store/batcher.ts';
export { isDuplicateKey, onlyDuplicates } from './store/index.ts';
export { createLogger, type Logger } from './observability/index.ts';
