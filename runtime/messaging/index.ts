export { Bus, envelopeHeaders, type PubAck } from './bus.ts';
export { type ConsumerLag, consumerLag } from './consumer-lag.ts';
export { backoff, type Delivery, DurableConsumer, type Handler } from './consumer.ts';
export {
  buildDeadLetter,
  type DeadLetter,
  deadLetterId,
  deadLetterPayload,
  DeadLetterSchema,
  fetchOriginalPayload,
} from './dead-letter.ts';

export { provisionConsumer, provisionStreams } from './provision.ts';
export { type Topology, topology } from './topology.ts';
export { anyMatches, subjectMatches } from './subject.ts';
export {
  UnroutedGuard,
  type UnroutedGuardOptions,
  unroutedConsumer,
  unroutedGuardSettings,
  type UnroutedSweep,
} from './unrouted.ts';
