import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { DeadLetterSchema, provisionConsumer, provisionStreams } from '../../runtime/messaging/index.ts';
import { renderMetrics } from '../../runtime/observability/index.ts';
import { testEnvelope, useTestNode, waitUntil } from '../harness.ts';

/**
 * A dead letter that cannot be written on the last delivery (the DLQ stream is gone) does not let
 * max_deliver drop the message: it is retried until the DLQ takes it.
 */
describe('dead letters during a DLQ outage', () => {
  const node = useTestNode({ config: { maxDeliver: 2, retryBaseMs: 20, retryMaxMs: 50 } });

  const metric = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it('provisions durables without a server-side max_deliver, lifting the one an older durable has', async () => {
    const { bus } = node();
    const jsm = await jetstreamManager(bus.nc);
    const { cmd } = bus.topo.streams;
    expect((await jsm.consumers.info(cmd, 'svc-inventory')).config.max_deliver).toBe(-1);
    await jsm.consumers.add(cmd, {
      durable_name: 'svc-old',
      filter_subject: bus.topo.cmdFilter('old'),
      max_deliver: 20,
    });
    await provisionConsumer(bus, {
      stream: cmd,
      durable: 'svc-old',
      filter: bus.topo.cmdFilter('old'),
    });
    expect((await jsm.consumers.info(cmd, 'svc-old')).config.max_deliver).toBe(-1);
    await jsm.consumers.delete(cmd, 'svc-old');
  });

  it('keeps retrying the dead letter after the last attempt, and writes it once the DLQ is back', async () => {
    const { bus, orchestrator } = node();
    const jsm = await jetstreamManager(bus.nc);
    const dlq = bus.topo.streams.dlq;
    await jsm.streams.delete(dlq);
    await bus.publish(
      'evt.inventory.reserved',
      testEnvelope('inventory.reserved', 'orphan-outage', 'no-such-saga', {}),
      'orphan-outage',
    );
    // Every attempt (2) fails in the handler and the dead letter of the last one cannot be written:
    // the deliveries go on past maxDeliver, and each failed dead letter is counted (and logged).
    await waitUntil(
      () => orchestrator!.consumer.deadLetterFailures >= 2,
      'two deliveries whose dead letter could not be written',
      10_000,
    );
    const ci = await jsm.consumers.info(bus.topo.streams.evt, 'orchestrator');
    expect(ci.num_ack_pending + ci.num_pending).toBe(1);
    const failures = orchestrator!.consumer.deadLetterFailures;
    const { body } = await renderMetrics();
    expect(
      metric(body, 'jetsaga_dead_letter_failures_total{consumer="orchestrator"}'),
    ).toBeGreaterThanOrEqual(failures);

    await provisionStreams(bus);
    const m = await waitUntil(
      () => jsm.streams.getMessage(dlq, { seq: 1 }).catch(() => null),
      'the message to be dead-lettered',
      10_000,
    );
    const letter = DeadLetterSchema.parse(m.json());
    expect(letter).toMatchObject({
      reason: 'exhausted',
      consumer: 'orchestrator',
      subject: 'evt.inventory.reserved',
    });
    expect(letter.error).toContain('does not exist');
    expect(letter.attempts).toBeGreaterThan(2);
    await waitUntil(
      async () => {
        const info = await jsm.consumers.info(bus.topo.streams.evt, 'orchestrator');
        return info.num_ack_pending === 0 && info.num_pending === 0;
      },
      'the message to be acked after its dead letter',
      5_000,
    );
  });
});
