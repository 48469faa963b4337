import { Counter, Histogram, register } from 'prom-client';

/**
 * The fraud agent's metrics in prom-client's default registry (the API's /metrics
 * serves it). Registration is idempotent so a module loaded twice (tests) reuses them.
 */
function once<T>(name: string, make: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

export const fraudMetrics = {
  verdicts: once(
    'jetsaga_fraud_verdicts_total',
    () =>
      new Counter({
        name: 'jetsaga_fraud_verdicts_total',
        help: 'Fraud verdicts published, by outcome and by who decided',
        labelNames: ['outcome', 'reviewer'] as const,
      }),
  ),
  score: once(
    'jetsaga_fraud_score',
    () =>
      new Histogram({
        name: 'jetsaga_fraud_score',
        help: 'Model fraud scores of payments',
        buckets: [0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99],
      }),
  ),
  inference: once(
    'jetsaga_fraud_inference_seconds',
    () =>
      new Histogram({
        name: 'jetsaga_fraud_inference_seconds',
        help: 'In-process model time per payment: features, trees, reasons',
        buckets: [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005],
      }),
  ),
  decision: once(
    'jetsaga_fraud_verdict_seconds',
    () =>
      new Histogram({
        name: 'jetsaga_fraud_verdict_seconds',
        help: 'Time from receiving a payment to its verdict: history, model and LLM review',
        buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      }),
  ),
  llmCalls: once(
    'jetsaga_fraud_llm_calls_total',
    () =>
      new Counter({
        name: 'jetsaga_fraud_llm_calls_total',
        help: 'LLM reviewer calls, by result (approve, flag, timeout, error, unparseable)',
        labelNames: ['result'] as const,
      }),
  ),
  llmFallbacks: once(
    'jetsaga_fraud_llm_fallbacks_total',
    () =>
      new Counter({
        name: 'jetsaga_fraud_llm_fallbacks_total',
        help: "Borderline payments that kept the model's verdict because the reviewer failed, by cause",
        labelNames: ['cause'] as const,
      }),
  ),
};
