export { createLogger, type Logger } from './logger.ts';
export {
  addMetricsSource,
  collectProcessMetrics,
  type MetricsSnapshot,
  type MetricsSource,
  metricsRegistry,
  renderMetrics,
  sagaMetrics,
} from './metrics.ts';
export { nodeMetricsSource, type NodeMetricsParts } from './node-metrics.ts';
export { sagaMetricsObserver, type TransitionObserver } from './saga-metrics.ts';
