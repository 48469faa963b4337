import { describe, expect, it } from 'vitest';
import { sagaIdForKey } from '../../runtime/orchestrator/index.ts';
import type { Envelope } from '../../runtime/wire/index.ts';
import { defineParticipant, type ParticipantDefinition } from '../../runtime/participants/index.ts';
import { appForTests } from '../dist.ts';
import { order, useTestNode, waitUntil } from '../harness.ts';

/** Shipping that never answers, so the saga is still running when its dead letter is replayed. */
const silentShipping: ParticipantDefinition = defineParticipant({
  name: 'shipping',
  commands: {
    ...appForTests.participants.shipping!.commands,
    'create-shipment': { handle: () => new Promise(() => undefined) },
  },
});

interface Letter {
  id: string;
  deadLetterId: string;
  consumer: string;
  sagaId: string | null;
  messageType: string | null;
  reason: string;
  headers: Record<string, string>;
}
interface Page {
  items: Letter[];
  nextCursor: string | null;
}

describe('dead letters API', () => {
  const node = useTestNode({
    dist: { ...appForTests, participants: { ...appForTests.participants, shipping: silentShipping } },
    config: { maxDeliver: 2, retryBaseMs: 20, retryMaxMs: 40, ackWaitMs: 60_000, shutdownTimeoutMs: 500 },
  });

  const list = async (query: string) => (await (await node().fetch(`/v1/dlq${query}`)).json()) as Page;
  const until = (query: string, n: number): Promise<Letter[]> =>
    waitUntil(
      async () => {
        const { items } = await list(query);
        return items.length >= n ? items : null;
      },
      `${n} dead letters for ${query}`,
      15_000,
      50,
    );

  it('lists by consumer with cursor pagination, and deletes', async () => {
    const subject = `${node().bus.topo.namespace}.cmd.inventory.reserve`;
    for (let i = 0; i < 3; i++) await node().bus.js.publish(subject, `poison ${i}`, { msgID: `poison-${i}` });
    await until('?consumer=svc-inventory', 3);
    const first = await list('?consumer=svc-inventory&limit=2');
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).not.toBeNull();
    const rest = await list(`?consumer=svc-inventory&limit=2&cursor=${first.nextCursor}`);
    const ids = [...first.items, ...rest.items].map((l) => l.id);
    expect(new Set(ids).size).toBe(3);
    expect(
      [...first.items, ...rest.items].every(
        (l) => l.consumer === 'svc-inventory' && l.reason === 'validation',
      ),
    ).toBe(true);
    expect((await list('?consumer=orchestrator')).items.every((l) => l.consumer === 'orchestrator')).toBe(
      true,
    );

    expect((await node().fetch(`/v1/dlq/${ids[0]}`, { method: 'DELETE' })).status).toBe(204);
    expect((await list('?consumer=svc-inventory')).items.map((l) => l.id)).not.toContain(ids[0]);
    const again = await node().fetch(`/v1/dlq/${ids[0]}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(again.headers.get('content-type')).toBe('application/problem+json');
  });

  it('replays an event that arrived before its saga existed: the saga gets it once it does', async () => {
    const sagaId = sagaIdForKey('order-fulfillment', 'early-cancel');
    const early: Envelope = {
      id: `${sagaId}:early-cancel`,
      type: 'saga.cancel',
      schemaVersion: 1,
      occurredAt: new Date().toISOString(),
      sagaId,
      sagaType: 'order-fulfillment',
      correlationId: 'early',
      causationId: null,
      data: { reason: 'replayed from the DLQ' },
    };
    await node().bus.publish('evt.saga.cancel', early, early.id);
    const [letter] = await until(`?sagaId=${sagaId}`, 1);
    expect(letter).toMatchObject({
      consumer: 'orchestrator',
      reason: 'exhausted',
      sagaId,
      messageType: 'saga.cancel',
    });
    expect((await list(`?sagaId=someone-else`)).items).toEqual([]);

    const started = await node().post('/v1/saga-types/order-fulfillment/sagas', order(), {
      'Idempotency-Key': 'early-cancel',
    });
    expect(((await started.json()) as { sagaId: string }).sagaId).toBe(sagaId);
    await node().waitFor(sagaId, (d) => d.state !== null);

    const replay = await node().post(`/v1/dlq/${letter!.id}/replay`, '');
    expect(replay.status).toBe(200);
    const body = (await replay.json()) as { msgId: string; subject: string; duplicate: boolean };
    expect(body).toMatchObject({
      msgId: `${letter!.deadLetterId}:replay:${letter!.id}`,
      subject: 'evt.saga.cancel',
      duplicate: false,
    });
    const doc = await node().waitForTerminal(sagaId);
    expect(doc.status).toBe('cancelled');
    expect(doc.reason).toBe('cancelled: replayed from the DLQ');
    expect((await list(`?sagaId=${sagaId}`)).items).toEqual([]);
    expect((await node().post(`/v1/dlq/${letter!.id}/replay`, '')).status).toBe(404);
  });
});
