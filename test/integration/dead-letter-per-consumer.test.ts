import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../harness.ts';

interface Letter {
  id: string;
  deadLetterId: string;
  consumer: string;
  reason: string;
  subject: string;
}

/** A message two consumers cannot read is dead-lettered by each of them: one letter per consumer. */
describe('dead letters of a message two consumers read', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ config: { maxDeliver: 2, retryBaseMs: 20, retryMaxMs: 40 } });
  });
  afterAll(async () => {
    await node?.destroy();
  });

  const list = async (query: string) =>
    ((await (await node.fetch(`/v1/dlq${query}`)).json()) as { items: Letter[] }).items;

  it('keeps the orchestrator and the fraud agent letters of one invalid payment.authorized', async () => {
    const ack = await node.bus.js.publish(`${node.bus.topo.namespace}.evt.payment.authorized`, '{not json', {
      msgID: 'bad-payment-1',
    });
    let all: Letter[] = [];
    for (let i = 0; i < 200; i++) {
      all = await list('');
      if (all.length >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // Give a lost second letter time to show up before concluding.
    await new Promise((r) => setTimeout(r, 300));
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
