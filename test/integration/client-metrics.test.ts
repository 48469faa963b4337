import { describe, expect, it } from 'vitest';
import { renderMetrics } from '../../runtime/observability/index.ts';
import { order, useTestNode } from '../harness.ts';

/** The `_count` of a histogram's series whose labels include `labels`, summed, from the text exposition. */
function seriesCount(body: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of body.split('\n')) {
    const m = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== `${name}_count`) continue;
    const have = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** Store and broker latency of a real saga, as a scrape sees them. */
describe('driver and client metrics', () => {
  const node = useTestNode();

  it('times the store commands and the publishes of an order saga', async () => {
    const before = (await renderMetrics()).body;
    const res = await node().post(
      '/v1/saga-types/order-fulfillment/sagas',
      order({ orderId: 'ord-metrics-1' }),
    );
    expect(res.status).toBe(202);
    const { sagaId } = (await res.json()) as { sagaId: string };
    expect((await node().waitForTerminal(sagaId)).status).toBe('completed');
    const after = (await renderMetrics()).body;

    const grew = (name: string, labels: Record<string, string>) =>
      seriesCount(after, name, labels) - seriesCount(before, name, labels);
    // The saga's transitions are updates of `sagas` (group commit), its start an insert.
    expect(
      grew('jetsaga_store_command_duration_seconds', {
        command: 'update',
        collection: 'sagas',
        outcome: 'ok',
      }),
    ).toBeGreaterThan(0);
    expect(
      grew('jetsaga_store_command_duration_seconds', {
        command: 'insert',
        collection: 'sagas',
        outcome: 'ok',
      }),
    ).toBeGreaterThan(0);
    // Commands to participants, their replies as events, each to its PubAck.
    expect(grew('jetsaga_nats_publish_duration_seconds', { kind: 'cmd', outcome: 'ok' })).toBeGreaterThan(0);
    expect(grew('jetsaga_nats_publish_duration_seconds', { kind: 'evt', outcome: 'ok' })).toBeGreaterThan(0);
    // Declared, at zero without a reconnect.
    expect(after).toMatch(/^jetsaga_nats_reconnects_total \d+$/m);
    expect(after).toMatch(/^jetsaga_nats_disconnects_total \d+$/m);
    expect(after).toContain('# TYPE jetsaga_messages_redelivered_total counter');
  });
});
