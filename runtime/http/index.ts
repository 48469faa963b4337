export { type ApiDeps, createApp, maxBodyBytes } from './app.ts';
export { type CheckResult, type Probe, probeTimeoutMs, runProbe } from './health-routes.ts';
export {
  type MappedProblem,
  type ProblemDetails,
  type ProblemFields,
  problem,
  problemContentType,
  statusTitle,
  toProblem,
} from './problem.ts';
export { type RunningApi, serveApi } from './server.ts';
export type { HistoryView, SagaInspectorView, SagaSummaryView } from './views.ts';
