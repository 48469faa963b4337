import { z } from 'zod';
import type { SagaStatus } from '../store/index.ts';
import { timerEventType } from '../timers/index.ts';
import { contract, type MessageContract } from '../wire/index.ts';

/** The events the runtime itself sends a saga, beside its participants' replies. */
export const RuntimeEvent = {
  /**
   * A saga was stored: published once per saga (message id `<sagaId>:start`) after the insert
   * that creates it, and republished by the outbox sweep under that id if that publish failed.
   * It is both the orchestrator's cue for the first step and the lifecycle fact "this saga
   * started", so reactors subscribe to it as it is rather than to a second event: a distinct
   * `saga.began` would say the same thing one message later, for the cost of a publish and of a
   * write to take it out of the outbox.
   */
  started: 'saga.started',
  timer: timerEventType,
  /** A cancel request; machines that support cancel handle it by compensating. */
  cancel: 'saga.cancel',
  /**
   * An operator's request to resend what a saga stalled on (resume.ts). Handled by the
   * orchestrator, never shown to the machine, so machines stay pure and unaware of it.
   */
  resume: 'saga.resume',
  /**
   * A saga reached a terminal status: written into the outbox by the very update that ends it
   * (message id `<sagaId>:ended`), so it goes out exactly once per saga with no write of its
   * own. For reactors; the orchestrator, which wrote it, acks it unread.
   */
  ended: 'saga.ended',
} as const;

/**
 * Events the orchestrator publishes about sagas for others to react to, never to be stepped by a
 * saga: its consumer acks them without loading the saga (it reads `evt.>`, so it gets them too).
 */
export const lifecycleOnlyEvents: ReadonlySet<string> = new Set([RuntimeEvent.ended]);

/** The data of `saga.ended`. */
export const SagaEndedData = z.object({
  sagaType: z.string().min(1).describe('the saga type, as in the envelope'),
  version: z.number().int().positive().optional().describe('the machine version the saga ran'),
  status: z.enum(['completed', 'compensated', 'failed', 'cancelled']).describe('the terminal status'),
  reason: z
    .string()
    .nullable()
    .optional()
    .describe('why it ended so (the machine output or context reason, or the runtime: machine-error, ...)'),
  state: z.string().nullable().optional().describe('the final state of its machine'),
  output: z
    .record(z.string(), z.unknown())
    .optional()
    .describe(
      "the machine's output, when its final state gives one: what the saga's author publishes about its end",
    ),
});
export type SagaEndedData = z.output<typeof SagaEndedData>;
// Every terminal status of the store, and only those, is a status saga.ended may carry.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const endedStatusesMatch: Same<
  SagaEndedData['status'],
  Exclude<SagaStatus, 'running' | 'compensating'>
> = true;
void endedStatusesMatch;

/**
 * The contracts of the runtime's own events, by full type: what the API, the timers and the
 * orchestrator publish (all version 1), and what the orchestrator validates them against.
 */
export const runtimeEventContracts: Readonly<Record<string, MessageContract>> = Object.freeze({
  [RuntimeEvent.started]: contract(
    z.object({
      by: z.string().optional().describe('who started it: the API token name, `anonymous` with auth off'),
    }),
    {
      description:
        'a saga was stored and asks the orchestrator for its first step (published by the API, once per saga); reactors may subscribe to it as the saga-started lifecycle event',
    },
  ),
  [RuntimeEvent.timer]: contract(
    z.object({
      timerId: z.string().describe('the durable timer that is due'),
      dueAt: z.number().describe('its due time, ms since the epoch'),
    }),
    { description: "a saga's durable timer is due (published by the orchestrator's timer scheduler)" },
  ),
  [RuntimeEvent.cancel]: contract(
    z.object({
      reason: z.string(),
      by: z.string().optional().describe('who asked: the API token name, `anonymous` with auth off'),
    }),
    { description: 'a request to cancel a running saga; its machine compensates (published by the API)' },
  ),
  [RuntimeEvent.resume]: contract(
    z.object({
      by: z.string().optional().describe('who asked: the API token name, `anonymous` with auth off'),
    }),
    {
      description:
        'an operator asks a saga whose step ran out of resends to send its unanswered commands again (published by the API)',
    },
  ),
  [RuntimeEvent.ended]: contract(SagaEndedData, {
    description:
      'a saga reached a terminal status (published by the orchestrator from the outbox of the write that ended it, once per saga); for reactors',
  }),
});
