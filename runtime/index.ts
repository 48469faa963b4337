/** The public surface of jetsaga (`import ... from 'jetsaga'`). */

export { type CliExtras, runCli } from './cli.ts';
export { type Config, configHelp, defaultConfig, loadConfig } from './config.ts';
export {
  ConflictError,
  JetsagaError,
  NotFoundError,
  TerminalError,
  TransientError,
  ValidationError,
} from './errors.ts';
export { type Envelope, EnvelopeSchema, Header } from './messaging/index.ts';
export { type Distribution, recommendedNodeFlags, type Role, type RunningNode, startNode } from './node.ts';
export { defineSaga, type SagaDefinition, SagaRegistry, startSaga } from './orchestrator/index.ts';
export {
  type CommandContext,
  command,
  defineParticipant,
  type ParticipantDefinition,
  type Reply,
} from './participants/index.ts';
export { type SagaDoc, SagaStatus } from './store/index.ts';
