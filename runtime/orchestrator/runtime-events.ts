import { z } from 'zod';
import { timerEventType } from '../timers/index.ts';
import { contract, type MessageContract } from '../wire/index.ts';

/** The events the runtime itself sends a saga, beside its participants' replies. */
export const RuntimeEvent = {
  started: 'saga.started',
  timer: timerEventType,
  /** A cancel request; machines that support cancel handle it by compensating. */
  cancel: 'saga.cancel',
  /**
   * An operator's request to resend what a saga stalled on (resume.ts). Handled by the
   * orchestrator, never shown to the machine, so machines stay pure and unaware of it.
   */
  resume: 'saga.resume',
} as const;

/**
 * The contracts of the runtime's own events, by full type: what the API, the timers and the
 * orchestrator publish (all version 1), and what the orchestrator validates them against.
 */
export const runtimeEventContracts: Readonly<Record<string, MessageContract>> = Object.freeze({
  [RuntimeEvent.started]: contract(
    z.object({
      by: z.string().optional().describe('who started it: the API token name, `anonymous` with auth off'),
    }),
    { description: 'a saga was stored and asks the orchestrator for its first step (published by the API)' },
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
});
