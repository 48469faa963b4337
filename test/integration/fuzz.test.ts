import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { DeadLetterSchema } from '../../runtime/messaging/index.ts';
import { prng } from '../scale/orders.ts';
import { order, useTestNode } from '../harness.ts';

/**
 * Random and mutated input at every HTTP endpoint and every subject: no process crashes,
 * HTTP answers 4xx problem+json, and bad messages land in the DLQ with a reason.
 */
const rand = prng(42);
const catalogue = JSON.parse(readFileSync('contracts/catalogue.json', 'utf8')) as {
  messages: Record<string, { subject?: string; receivedBy: string[] }>;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

function randomValue(depth = 0): unknown {
  const kinds = ['null', 'bool', 'num', 'str', 'arr', 'obj', 'weird'] as const;
  switch (pick(depth > 3 ? kinds.slice(0, 4) : kinds)) {
    case 'null':
      return null;
    case 'bool':
      return rand() < 0.5;
    case 'num':
      return pick([0, -1, 1e308, -1e-9, 3.5, Number.MAX_SAFE_INTEGER, 42]);
    case 'str':
      return pick([
        '',
        'x',
        'ü🙂\u0000',
        'a'.repeat(5000),
        '$where',
        '{"a":1}',
        'SKU-1',
        'tok_visa',
        '../../etc',
      ]);
    case 'arr':
      return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(depth + 1));
    case 'obj':
      return Object.fromEntries(
        Array.from({ length: Math.floor(rand() * 4) }, (_, i) => [
          pick(['a', '$set', 'items', `k${i}`, '__proto__']),
          randomValue(depth + 1),
        ]),
      );
    default:
      return pick([{ $gt: '' }, { 'a.b': 1 }, [[[]]], { items: { $ne: null } }]);
  }
}

/** A valid value with one field removed, replaced or retyped. */
function mutate(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return rand() < 0.5 ? randomValue() : value;
  const copy: Record<string, unknown> = Array.isArray(value)
    ? ({ ...value } as Record<string, unknown>)
    : { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const key = keys.length > 0 ? pick(keys) : 'extra';
  const roll = rand();
  if (roll < 0.3) delete copy[key];
  else if (roll < 0.6) copy[key] = randomValue();
  else copy[key] = mutate(copy[key]);
  return Array.isArray(value) ? Object.values(copy) : copy;
}

const rawBodies = ['', '{', 'null', '[]', '"str"', '{"a":', '\u0000\u0001', '{"customerId": 1e999}', 'true'];

describe('fuzz', () => {
  const node = useTestNode({ config: { maxDeliver: 2, retryBaseMs: 10, retryMaxMs: 20 } });

  it('every HTTP endpoint answers bad input with 4xx problem+json, never 5xx', async () => {
    const statuses = new Map<number, number>();
    const check = async (res: Response, what: string) => {
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status, what).toBeLessThan(500);
      if (res.status >= 400)
        expect(res.headers.get('content-type'), what).toContain('application/problem+json');
      await res.arrayBuffer();
    };
    for (let i = 0; i < 150; i++) {
      const type = pick(['order-fulfillment', 'trip-booking', 'nope', '%00', 'a'.repeat(300)]);
      const body =
        rand() < 0.3 ? pick(rawBodies) : JSON.stringify(rand() < 0.5 ? randomValue() : mutate(order()));
      await check(
        await node().post(`/v1/saga-types/${encodeURIComponent(type)}/sagas`, body),
        `POST ${type} ${body.slice(0, 80)}`,
      );
    }
    for (let i = 0; i < 40; i++) {
      const id = encodeURIComponent(pick(['nope', '', '..', "'; drop", 'x'.repeat(500), '$gt']));
      await check(await node().fetch(`/v1/sagas/${id}`), `GET ${id}`);
      await check(await node().post(`/v1/sagas/${id}/cancel`, pick(rawBodies)), `cancel ${id}`);
      const q = new URLSearchParams({
        [pick(['status', 'type', 'limit', 'cursor', 'x'])]: String(randomValue()),
      });
      await check(await node().fetch(`/v1/sagas?${q}`), `list ${q}`);
    }
    expect(statuses.get(202) ?? 0).toBeLessThan(150);
    expect((await node().fetch('/readyz')).status).toBe(200);
  });

  it('random and mutated messages on every subject land in the DLQ with a reason; the node keeps working', async () => {
    const subjects = [
      ...[
        'inventory.reserve',
        'inventory.release',
        'payment.authorize',
        'payment.capture',
        'payment.void',
        'payment.refund',
        'shipping.create-shipment',
        'shipping.cancel-shipment',
        'flights.book',
        'hotels.cancel',
      ].map((t) => `cmd.${t}`),
      ...[
        'saga.started',
        'saga.timer',
        'saga.cancel',
        'inventory.reserved',
        'payment.authorized',
        'fraud.flagged',
        'x.y',
      ].map((t) => `evt.${t}`),
    ];
    // And every subject of the catalogue that some role consumes: the reactors' events
    // (`saga.ended`, `inventory.committed`), the restock saga's commands, the signals (a saga's
    // input has no subject: it comes through the API).
    for (const m of Object.values(catalogue.messages))
      if (m.subject && m.receivedBy.length > 0 && !subjects.includes(m.subject)) subjects.push(m.subject);
    const valid = {
      id: 'fuzz-1',
      type: 'inventory.reserve',
      schemaVersion: 1,
      occurredAt: new Date().toISOString(),
      sagaId: 'fuzz-saga',
      sagaType: 'order-fulfillment',
      correlationId: 'fuzz',
      causationId: null,
      data: { orderId: 'o-1', items: [{ sku: 'SKU-1', qty: 1 }] },
    };
    const ns = node().bus.topo.namespace;
    let sent = 0;
    for (const subject of subjects) {
      for (let i = 0; i < 4; i++) {
        const payload =
          i === 0
            ? pick(rawBodies)
            : JSON.stringify(
                i === 1
                  ? randomValue()
                  : { ...(mutate(valid) as object), id: `fuzz-${sent}`, sagaId: `fuzz-saga-${sent}` },
              );
        await node().bus.js.publish(`${ns}.${subject}`, payload, { msgID: `fuzz-msg-${sent++}` });
      }
    }
    // Every message is either handled or dead-lettered; none is dropped silently.
    const jsm = await jetstreamManager(node().bus.nc);
    await expect
      .poll(async () => (await jsm.streams.info(node().bus.topo.streams.dlq)).state.messages, {
        timeout: 30_000,
        interval: 200,
      })
      .toBeGreaterThan(sent / 2);
    // Every consumer has handled or dead-lettered all of it: nothing pending, nothing being retried.
    const { cmd, evt } = node().bus.topo.streams;
    const outstanding = async () => {
      let n = 0;
      for (const stream of [cmd, evt])
        for await (const c of jsm.consumers.list(stream)) n += c.num_pending + c.num_ack_pending;
      return n;
    };
    await expect.poll(outstanding, { timeout: 60_000, interval: 200 }).toBe(0);
    const info = await jsm.streams.info(node().bus.topo.streams.dlq);
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const letter = DeadLetterSchema.parse(
        (await jsm.streams.getMessage(node().bus.topo.streams.dlq, { seq }))!.json(),
      );
      expect(letter.reason).toMatch(/^(validation|contract|exhausted|terminal|not-found|conflict)$/);
      expect(letter.error.length).toBeGreaterThan(0);
    }
    const res = await node().post('/v1/saga-types/order-fulfillment/sagas', order());
    const { sagaId } = (await res.json()) as { sagaId: string };
    expect((await node().waitForTerminal(sagaId)).status).toBe('completed');
  });
});
