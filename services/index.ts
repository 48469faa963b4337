import type { ParticipantDefinition, ReactorDefinition } from 'jetsaga';
import { fraudAgent } from './fraud-agent/index.ts';
import { inventory } from './inventory/index.ts';
import { payment } from './payment/index.ts';
import { shipping } from './shipping/index.ts';
import { cars, flights, hotels } from './travel/index.ts';

/** Every participant of the reference app (`jetsaga service <name>`). */
export const participants: ParticipantDefinition[] = [inventory, payment, shipping, flights, hotels, cars];

/** Agents that react to events rather than commands (`jetsaga <name>`). */
export const reactors: ReactorDefinition[] = [fraudAgent()];
