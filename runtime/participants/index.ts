export {
  type CommandContext,
  type CommandHandler,
  command,
  defineParticipant,
  type ParticipantDefinition,
  type Reply,
} from './participant.ts';
export { ParticipantHost } from './participant-host.ts';
