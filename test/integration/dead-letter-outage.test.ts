import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadLetterSchema, provisionConsumer, provisionStreams } from '../../runtime/messaging/index.ts';
import { renderMetrics } from '../../runtime/observability/index.ts';
import { startTestNode, testEnvelope, type TestNode } from '../harness.ts';

/**
 * A dead letter that cannot be written on the last delivery (the DLQ stream is gone) does not let
 * max_deliver drop the message: it is retried until the DLQ takes it.
 */
describe('dead letters during a DLQ outage', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ config: { maxDeliver: 2, retryBaseMs: 20, retryMaxMs: 50 } });
  });
  afterAll(async () => {
    await node?.destroy();
  });

  const metric = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it('provisions durables without a server-side max_deliver, lifting the one an older durable has', async () => {
    const jsm = await jetstreamManager(node.bus.nc);
    const { cmd } = node.bus.topo.streams;
    expect((await jsm.consumers.info(cmd, 'svc-inventory')).config.max_deliver).toBe(-1);
    await jsm.consumers.add(cmd, {
      durable_name: 'svc-old',
      filter_subject: node.bus.topo.cmdFilter('old'),
      max_deliver: 20,
    });
    await provisionConsumer(node.bus, {
      stream: cmd,
      durable: 'svc-old',
      filter: node.bus.topo.cmdFilter('old'),
    });
    expect((await jsm.consumers.info(cmd, 'svc-old')).config.max_deliver).toBe(-1);
    await jsm.consumers.delete(cmd, 'svc-old');
  });

  it('keeps retrying the dead letter after the last attempt, and writes it once the DLQ is back', async () => {
    const jsm = await jetstreamManager(node.bus.nc);
    const dlq = node.bus.topo.streams.dlq;
    await jsm.streams.delete(dlq);
    await node.bus.publish(
      'evt.inventory.reserved',
      testEnvelope('inventory.reserved', 'orphan-outage', 'no-such-saga', {}),
      'orphan-outage',
    );
    // Every attempt (2) fails in the handler and the dead letter of the last one cannot be written.
    await new Promise((r) => setTimeout(r, 1_500));
    const ci = await jsm.consumers.info(node.bus.topo.streams.evt, 'orchestrator');
    expect(ci.num_ack_pending + ci.num_pending).toBe(1);
    // Each failed dead letter is counted (and logged), and the deliveries went on past maxDeliver.
    const failures = node.orchestrator!.consumer.deadLetterFailures;
    expect(failures).toBeGreaterThanOrEqual(2);
    const { body } = await renderMetrics();
    expect(
      metric(body, 'jetsaga_dead_letter_failures_total{consumer="orchestrator"}'),
    ).toBeGreaterThanOrEqual(failures);

    await provisionStreams(node.bus);
    const until = Date.now() + 10_000;
    for (;;) {
      const m = await jsm.streams.getMessage(dlq, { seq: 1 }).catch(() => null);
      if (m) {
        const letter = DeadLetterSchema.parse(m.json());
        expect(letter).toMatchObject({
          reason: 'exhausted',
          consumer: 'orchestrator',
          subject: 'evt.inventory.reserved',
        });
        expect(letter.error).toContain('does not exist');
        expect(letter.attempts).toBeGreaterThan(2);
        break;
      }
      if (Date.now() > until) throw new Error('the message was never dead-lettered');
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; ; i++) {
      const info = await jsm.consumers.info(node.bus.topo.streams.evt, 'orchestrator');
      if (info.num_ack_pending === 0 && info.num_pending === 0) break;
      if (i > 100) throw new Error('still unacked after its dead letter');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});
