import type { ExtraRole } from '../runtime/node.ts';
import type { ParticipantDefinition } from '../runtime/participants/index.ts';
import { fraudAgentRole } from './fraud-agent/index.ts';
import { inventory } from './inventory/index.ts';
import { payment } from './payment/index.ts';
import { shipping } from './shipping/index.ts';
import { cars, flights, hotels } from './travel/index.ts';

/** Every participant this distribution ships, by name (`jetsaga service <name>`). */
export const participants: Record<string, ParticipantDefinition> = {
  inventory,
  payment,
  shipping,
  flights,
  hotels,
  cars,
};

/** Agents that react to events rather than commands, by role name (`jetsaga <name>`). */
export const extraRoles: Record<string, ExtraRole> = {
  'fraud-agent': fraudAgentRole(),
};
