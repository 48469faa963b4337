export { type Responder, SagaTestKit } from './saga-test-kit.ts';
export { replayHistories } from './replay-histories.ts';
export {
  type Divergence,
  divergenceLine,
  type RecordedSaga,
  type RecordedTransition,
  ReplayAspect,
  type ReplayedStep,
  type ReplayOptions,
  type ReplayReport,
  type ReplayResult,
  replaySummary,
} from '../orchestrator/index.ts';
