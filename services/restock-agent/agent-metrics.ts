import { Counter, Gauge, register } from 'prom-client';

/** Registration is idempotent so a module loaded twice (tests) reuses them. */
function once<T>(name: string, make: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

/** The restock agent's metrics in prom-client's default registry (served at /metrics). */
export const restockMetrics = {
  recommendations: once(
    'jetsaga_restock_recommendations_total',
    () =>
      new Counter({
        name: 'jetsaga_restock_recommendations_total',
        help: 'Restock recommendations opened, and closed by the outcome of their restock saga',
        labelNames: ['event'] as const,
      }),
  ),
  forecastError: once(
    'jetsaga_restock_forecast_mae_units',
    () =>
      new Gauge({
        name: 'jetsaga_restock_forecast_mae_units',
        help: "Mean absolute error of the model's past lead-time forecasts of a SKU, in units",
        labelNames: ['sku'] as const,
      }),
  ),
  reorderPoint: once(
    'jetsaga_restock_reorder_point_units',
    () =>
      new Gauge({
        name: 'jetsaga_restock_reorder_point_units',
        help: "A SKU's reorder point from its latest forecast",
        labelNames: ['sku'] as const,
      }),
  ),
};
