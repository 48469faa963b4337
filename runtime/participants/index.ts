export {
  type CommandContext,
  type CommandHandler,
  command,
  defineParticipant,
  type ParticipantDefinition,
  type Reply,
} from './participant.ts';
export { ParticipantHost } from './participant-host.ts';
export {
  EventReactorHost,
  type Reaction,
  type ReactionContext,
  type ReactionRecord,
  type ReactorDefinition,
} from './event-reactor.ts';
