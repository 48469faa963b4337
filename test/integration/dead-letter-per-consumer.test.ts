import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { useTestNode, waitUntil } from '../harness.ts';

interface Letter {
  id: string;
  deadLetterId: string;
  consumer: string;
  reason: string;
  subject: string;
}

/** A message two consumers cannot read is dead-lettered by each of them: one letter per consumer. */
describe('dead letters of a message two consumers read', () => {
  const node = useTestNode({ config: { maxDeliver: 2, retryBaseMs: 20, retryMaxMs: 40 } });

  const list = async (query: string) =>
    ((await (await node().fetch(`/v1/dlq${query}`)).json()) as { items: Letter[] }).items;

  it('keeps the orchestrator and the fraud agent letters of one invalid payment.authorized', async () => {
    const { bus } = node();
    const ack = await bus.js.publish(`${bus.topo.namespace}.evt.payment.authorized`, '{not json', {
      msgID: 'bad-payment-1',
    });
    // A consumer writes its letter before it lets go of the message (term): once neither consumer
    // holds it any more, every letter there is to be is written.
    const jsm = await jetstreamManager(bus.nc);
    const released = async (durable: string) => {
      const info = await jsm.consumers.info(bus.topo.streams.evt, durable);
      return info.num_pending + info.num_ack_pending === 0;
    };
    await waitUntil(
      async () => (await released('orchestrator')) && (await released('fraud-agent')),
      'the orchestrator and the fraud agent to be done with the message',
      10_000,
    );
    const orchestrator = await list('?consumer=orchestrator');
    const fraud = await list('?consumer=fraud-agent');
    expect(orchestrator).toHaveLength(1);
    expect(fraud).toHaveLength(1);
    expect(orchestrator[0]).toMatchObject({ reason: 'validation', subject: 'evt.payment.authorized' });
    expect(fraud[0]).toMatchObject({ reason: 'validation', subject: 'evt.payment.authorized' });
    expect(orchestrator[0]!.deadLetterId).not.toBe(fraud[0]!.deadLetterId);
    expect(orchestrator[0]!.deadLetterId).toContain(String(ack.seq));
  });
});
