import { timerEventType } from '../timers/index.ts';

/** The events the runtime itself sends a saga, beside its participants' replies. */
export const RuntimeEvent = {
  started: 'saga.started',
  timer: timerEventType,
  /** A cancel request; machines that support cancel handle it by compensating. */
  cancel: 'saga.cancel',
} as const;
