import type { Distribution } from '../runtime/node.ts';
import { SagaRegistry } from '../runtime/orchestrator/index.ts';
import { sagas } from '../sagas/index.ts';
import { extraRoles, participants } from '../services/index.ts';

/** The distribution under test: this repository's sagas, participants and agents (the fraud agent). */
export const distributionForTests: Distribution = {
  registry: new SagaRegistry().register(...sagas),
  participants,
  extraRoles,
};
