export {
  type ApiApp,
  type ApiDeps,
  createApp,
  maxBodyBytes,
  openApiDocument,
  openApiDocumentFor,
} from './app.ts';
export { type AuthSettings, authSettings, isOpenPath, requiredScope } from './auth.ts';
export { DeadLetterAdmin } from './dead-letters.ts';
export { type CheckResult, type Probe, probeTimeoutMs, runProbe } from './health-routes.ts';
export { machineGraph } from './machine-graph.ts';
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
