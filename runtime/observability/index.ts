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
