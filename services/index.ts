import type { ParticipantDefinition, ReactorDefinition } from 'jetsaga';
import { fraudAgent } from './fraud-agent/index.ts';
import { inventory } from './inventory/index.ts';
import { notifications } from './notifications/index.ts';
import { payment } from './payment/index.ts';
import { paymentBlocking } from './payment-blocking/index.ts';
import { restockAgent } from './restock-agent/agent.ts';
import { shipping } from './shipping/index.ts';
import { suppliers } from './suppliers/index.ts';
import { cars, flights, hotels } from './travel/index.ts';

/** Every participant of the reference app (`jetsaga service <name>`). */
export const participants: ParticipantDefinition[] = [
  inventory,
  payment,
  shipping,
  flights,
  hotels,
  cars,
  suppliers,
];

/**
 * Agents that react to events rather than commands (`jetsaga <name>`). Notifications and
 * payment-blocking are choreography: no saga knows them; they react to the runtime's saga.ended
 * and to the fraud agent's fraud.flagged. The restock agent watches inventory's sales and starts
 * restock sagas.
 */
export const reactors: ReactorDefinition[] = [
  fraudAgent(),
  notifications(),
  paymentBlocking(),
  restockAgent(),
];
