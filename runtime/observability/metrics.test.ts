import { describe, expect, it } from 'vitest';
import { addMetricsSource, renderMetrics } from './index.ts';

const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('metrics', () => {
  it('turns running consumer totals into counters and reads gauges on scrape', async () => {
    const stats = { processed: 3, redelivered: 1, deadLettered: 0, retried: 0 };
    let live = 2;
    const remove = addMetricsSource({
      id: 'unit',
      snapshot: async () => ({
        consumers: [{ consumer: 'unit-consumer', ...stats }],
        consumerInfo: [{ stream: 'S', consumer: 'unit-consumer', pending: 7, ackPending: 1 }],
        dlq: [{ stream: 'D', consumer: 'unit-consumer', messages: 4 }],
        actors: { live, passivations: 5 },
        backlog: { outbox: 1, timersArmed: 2, timersOverdue: 0 },
      }),
    });
    try {
      const first = (await renderMetrics()).body;
      expect(value(first, 'jetsaga_messages_processed_total{consumer="unit-consumer"}')).toBe(3);
      expect(value(first, 'jetsaga_consumer_pending_messages{stream="S",consumer="unit-consumer"}')).toBe(7);
      expect(value(first, 'jetsaga_dlq_messages{stream="D",consumer="unit-consumer"}')).toBe(4);
      expect(value(first, 'jetsaga_actors_live')).toBe(2);
      expect(value(first, 'jetsaga_actors_passivated_total')).toBe(5);
      stats.processed = 10;
      live = 1;

      const second = (await renderMetrics()).body;
      expect(value(second, 'jetsaga_messages_processed_total{consumer="unit-consumer"}')).toBe(10);
      expect(value(second, 'jetsaga_actors_live')).toBe(1);
    } finally {
      remove();
    }
  });
});
