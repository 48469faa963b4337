import { describe, expect, it } from 'vitest';
import { renderMetrics } from './observability/index.ts';
import { sagaMetricsObserver } from './node-metrics.ts';

const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('saga metrics', () => {
  it('counts sagas started and ended, their durations and how long each state lasted', async () => {
    const observe = sagaMetricsObserver();
    const createdAt = new Date(Date.now() - 2000);
    const doc = (rev: number, state: string) => ({ _id: 's-1', type: 'unit-saga', rev, createdAt, state });
    observe(doc(1, 'a'), { status: 'running' }, {});
    observe(doc(2, 'b'), { status: 'running' }, {});
    observe(doc(3, 'done'), { status: 'completed' }, {});
    const text = (await renderMetrics()).body;
    expect(value(text, 'jetsaga_sagas_started_total{type="unit-saga"}')).toBe(1);
    expect(value(text, 'jetsaga_sagas_ended_total{type="unit-saga",status="completed"}')).toBe(1);
    expect(value(text, 'jetsaga_saga_duration_seconds_count{type="unit-saga",status="completed"}')).toBe(1);
    expect(value(text, 'jetsaga_saga_step_seconds_count{type="unit-saga",state="a"}')).toBe(1);
    expect(value(text, 'jetsaga_saga_step_seconds_count{type="unit-saga",state="b"}')).toBe(1);
  });
});
