import type { Distribution } from '../runtime/node.ts';
import { SagaRegistry } from '../runtime/orchestrator/index.ts';
import { sagas } from '../sagas/index.ts';
import { participants } from '../services/index.ts';

/** The distribution under test: this repository's sagas and participants. */
export const distributionForTests: Distribution = {
  registry: new SagaRegistry().register(...sagas),
  participants,
};
