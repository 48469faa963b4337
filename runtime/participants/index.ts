export {
  asStored,
  type CommandContext,
  type CommandHandler,
  command,
  commandIdOfKey,
  defineParticipant,
  keepReply,
  upsertWithReply,
  type ParticipantDefinition,
  type Reply,
  replyKey,
  replyPathOf,
  replyToStore,
  type StoredReply,
  storedReply,
  type WithReplies,
} from './participant.ts';
export { participantDurable, ParticipantHost } from './participant-host.ts';
export {
  defineReactor,
  EventReactorHost,
  type Kept,
  type Reaction,
  type ReactionContext,
  type ReactionRecord,
  type ReactorDefinition,
  type ReactorHostDeps,
  type ReactorSetupContext,
  reactorDurable,
  reactorEventTypes,
} from './event-reactor.ts';
export {
  type ParticipantSchedule,
  type ParticipantScheduleContext,
  type ScheduleContext,
  type ScheduleDefinition,
  type ScheduledJob,
  ScheduleRunner,
  type StartSagaOnce,
  type StartSagaOptions,
} from './schedule.ts';
export type { InboxRetention } from './inbox-purge.ts';
