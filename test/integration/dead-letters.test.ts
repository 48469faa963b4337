import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { DeadLetterSchema } from '../../runtime/messaging/index.ts';
import { type Envelope } from '../../runtime/wire/index.ts';
import { useTestNode, waitUntil } from '../harness.ts';

/** Invalid input is never dropped silently and never crashes a process: it is dead-lettered with a reason. */
describe('dead letters', () => {
  const node = useTestNode({
    config: { maxDeliver: 3, unknownSagaAttempts: 2, retryBaseMs: 20, retryMaxMs: 50 },
  });

  async function deadLetters(min: number) {
    const jsm = await jetstreamManager(node().bus.nc);
    const stream = node().bus.topo.streams.dlq;
    await waitUntil(
      async () => (await jsm.streams.info(stream)).state.messages >= min,
      `${min} dead letters`,
      15_000,
      50,
    );
    const out = [];
    const info = await jsm.streams.info(stream);
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (m) out.push(DeadLetterSchema.parse(m.json()));
    }
    return out;
  }

  const envelope = (over: Partial<Envelope>): Envelope => ({
    id: 'x-1',
    type: 'inventory.reserve',
    schemaVersion: 1,
    occurredAt: new Date().toISOString(),
    sagaId: 'no-such-saga',
    sagaType: 'order-fulfillment',
    correlationId: 'corr-1',
    causationId: null,
    data: {},
    ...over,
  });

  it('keeps malformed payloads, bad command data and events for unknown sagas, each with its reason', async () => {
    const ns = node().bus.topo.namespace;
    await node().bus.js.publish(`${ns}.cmd.inventory.reserve`, 'not json at all', { msgID: 'poison-1' });
    await node().bus.js.publish(`${ns}.cmd.inventory.reserve`, JSON.stringify({ id: 'x', type: 'Nope' }), {
      msgID: 'poison-2',
    });
    await node().bus.publish(
      'cmd.inventory.reserve',
      envelope({ id: 'bad-data', data: { orderId: 'o', items: [] } }),
      'poison-3',
    );
    await node().bus.publish(
      'evt.inventory.reserved',
      envelope({ id: 'orphan', type: 'inventory.reserved' }),
      'poison-4',
    );

    const letters = await deadLetters(4);
    const byMsg = new Map(letters.map((l) => [l.headers['Nats-Msg-Id'], l]));
    expect(byMsg.get('poison-1')).toMatchObject({
      reason: 'validation',
      subject: 'cmd.inventory.reserve',
      payload: 'not json at all',
      consumer: 'svc-inventory',
    });
    expect(byMsg.get('poison-2')!.error).toMatch(/type/);
    expect(byMsg.get('poison-3')).toMatchObject({ reason: 'validation' });
    expect(byMsg.get('poison-3')!.error).toContain('items');
    // Retried (a start may be on its way), then dead-lettered as not-found before maxDeliver runs out.
    expect(byMsg.get('poison-4')).toMatchObject({
      reason: 'not-found',
      attempts: 2,
      consumer: 'orchestrator',
    });
    expect(byMsg.get('poison-4')!.error).toContain(
      'saga no-such-saga does not exist: not in the store after 2 deliveries of inventory.reserved',
    );
    expect(letters).toHaveLength(4);
  });
});
