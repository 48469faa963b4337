import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { defineParticipant, type ParticipantDefinition } from '../../runtime/participants/index.ts';
import { appForTests } from '../dist.ts';
import { order, useTestNode, waitUntil } from '../harness.ts';
import { readSse } from './api-support.ts';

/** Shipping that never answers for country ZZ, so a saga can be held mid-flight and watched live. */
const original = appForTests.participants.shipping!.commands['create-shipment']!;
const holdingShipping: ParticipantDefinition = defineParticipant({
  name: 'shipping',
  commands: {
    ...appForTests.participants.shipping!.commands,
    'create-shipment': {
      handle: (data, ctx) =>
        (data as { address?: { country?: string } }).address?.country === 'ZZ'
          ? new Promise(() => undefined)
          : original.handle(data, ctx),
    },
  },
});

const held = (over: Record<string, unknown> = {}) =>
  order({ shippingAddress: { ...order().shippingAddress, country: 'ZZ' }, ...over });

interface Summary {
  sagaId: string;
  status: string;
  createdAt: string;
}

describe('saga API', () => {
  const node = useTestNode({
    dist: { ...appForTests, participants: { ...appForTests.participants, shipping: holdingShipping } },
    config: { ackWaitMs: 60_000, shutdownTimeoutMs: 500, ssePollMs: 50 },
  });

  const start = async (body: unknown, headers: Record<string, string> = {}) => {
    const res = await node().post('/v1/saga-types/order-fulfillment/sagas', body, headers);
    return { res, body: (await res.json()) as { sagaId: string } & Record<string, unknown> };
  };

  it('an Idempotency-Key retry returns the same saga, once, even when retries race', async () => {
    const first = await start(order(), { 'Idempotency-Key': 'order-77' });
    expect(first.res.status).toBe(202);
    const retries = await Promise.all(
      Array.from({ length: 5 }, () => start(order(), { 'Idempotency-Key': '"order-77"' })),
    );
    for (const r of retries) {
      expect(r.res.status).toBe(200);
      expect(r.res.headers.get('idempotent-replayed')).toBe('true');
      expect(r.body.sagaId).toBe(first.body.sagaId);
      expect(r.res.headers.get('location')).toBe(`/v1/sagas/${first.body.sagaId}`);
    }
    // Racing first attempts (no earlier request) also collapse into one saga.
    const racing = await Promise.all(
      Array.from({ length: 4 }, () => start(order(), { 'Idempotency-Key': 'race-1' })),
    );
    expect(new Set(racing.map((r) => r.body.sagaId)).size).toBe(1);
    expect(racing.map((r) => r.res.status).sort()).toEqual([200, 200, 200, 202]);
    // The key is per saga type and per key: another key is another saga.
    const other = await start(order(), { 'Idempotency-Key': 'order-78' });
    expect(other.body.sagaId).not.toBe(first.body.sagaId);
    expect(await node().store.sagas.countDocuments({ _id: first.body.sagaId })).toBe(1);
    // The same key with a different body is refused, not silently answered with the first saga.
    const changed = await start(order({ customerId: 'cust-2' }), { 'Idempotency-Key': 'order-77' });
    expect(changed.res.status).toBe(422);
    expect(changed.res.headers.get('content-type')).toBe('application/problem+json');
    expect((await start(order(), { 'Idempotency-Key': 'has spaces' })).res.status).toBe(400);
    // An empty key is a mistake, not "no key": a 400 naming the header, and no saga.
    const before = await node().store.sagas.countDocuments({});
    const empty = await start(order(), { 'Idempotency-Key': '' });
    expect(empty.res.status).toBe(400);
    expect(empty.body).toMatchObject({ errors: [{ field: 'Idempotency-Key' }] });
    expect(await node().store.sagas.countDocuments({})).toBe(before);
    await node().waitForTerminal(first.body.sagaId);
  });

  it('the deprecated POST /v1/sagas/{type} still starts, says so, and shares the Idempotency-Key space', async () => {
    const first = await start(order(), { 'Idempotency-Key': 'alias-1' });
    expect(first.res.status).toBe(202);
    const old = await node().post('/v1/sagas/order-fulfillment', order(), { 'Idempotency-Key': 'alias-1' });
    expect(old.status).toBe(200);
    expect(((await old.json()) as { sagaId: string }).sagaId).toBe(first.body.sagaId);
    expect(old.headers.get('deprecation')).toMatch(/^@\d+$/);
    expect(old.headers.get('link')).toBe('</v1/saga-types/order-fulfillment/sagas>; rel="successor-version"');
    const fresh = await node().post('/v1/sagas/order-fulfillment', order());
    expect(fresh.status).toBe(202);
    await node().waitForTerminal(((await fresh.json()) as { sagaId: string }).sagaId);
    await node().waitForTerminal(first.body.sagaId);
  });

  it('SSE delivers every transition live, in order, once, then ends', async () => {
    const { body } = await start(held());
    const url = `${node().api!.url}/v1/sagas/${body.sagaId}/events`;
    const arrived: Array<{ rev: number; to: string }> = [];
    const cancelled = (async () => {
      // Once the stream has shown the saga parked at the shipment (it stays there until cancelled).
      await waitUntil(
        () => arrived.some((t) => t.to === 'creatingShipment'),
        'the stream to show the saga at creatingShipment',
      );
      const res = await node().post(`/v1/sagas/${body.sagaId}/cancel`, { reason: 'watching it live' });
      expect(res.status).toBe(202);
      return arrived.length;
    })();
    const { res, events } = await readSse(url, {}, (e) => {
      if (e.event === 'transition') arrived.push(e.data as { rev: number; to: string });
      return e.event === 'end';
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const arrivedBeforeCancel = await cancelled;
    const transitions = events
      .filter((e) => e.event === 'transition')
      .map((e) => e.data as { rev: number; to: string });
    const revs = transitions.map((t) => t.rev);
    expect(revs).toEqual(revs.map((_, i) => i + 1));
    expect(events.map((e) => e.id).filter(Boolean)).toEqual(revs.map(String));
    // The compensation after the cancel arrived on the open stream, not in a replay.
    expect(arrived.length - arrivedBeforeCancel).toBeGreaterThanOrEqual(2);
    const history = (await (await node().fetch(`/v1/sagas/${body.sagaId}/history`)).json()) as unknown[];
    expect(transitions).toEqual(history);
    const end = events.at(-1)!;
    expect(end).toMatchObject({ event: 'end', data: { sagaId: body.sagaId, status: 'cancelled' } });
    expect(transitions.map((t) => t.to)).toContain('compensating.cancellingShipment');
    // With auth off, the history says the start and the cancel came from an anonymous caller.
    const recorded = (history as Array<{ event: { type: string; data: unknown } }>).map((h) => h.event);
    expect(recorded.find((e) => e.type === 'saga.started')!.data).toEqual({ by: 'anonymous' });
    expect(recorded.find((e) => e.type === 'saga.cancel')!.data).toEqual({
      reason: 'watching it live',
      by: 'anonymous',
    });

    // Reconnecting with Last-Event-ID continues after that revision.
    const resumed = await readSse(url, { headers: { 'Last-Event-ID': '3' } }, (e) => e.event === 'end');
    const resumedRevs = resumed.events.filter((e) => e.event === 'transition').map((e) => Number(e.id));
    expect(resumedRevs).toEqual(revs.filter((r) => r > 3));
  });

  it('cursor pagination visits every saga exactly once, newest first, while sagas keep starting', async () => {
    const created = await Promise.all(
      Array.from({ length: 23 }, (_, i) => start(order(), { 'X-Correlation-Id': `page-${i % 3}` })),
    );
    expect(created.every((c) => c.res.status === 202)).toBe(true);
    const all = await node()
      .store.sagas.find({}, { projection: { _id: 1 } })
      .toArray();
    const seen: Summary[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/v1/sagas?limit=4${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await (await node().fetch(query)).json()) as {
        items: Summary[];
        nextCursor: string | null;
        links: { next: string | null };
      };
      seen.push(...page.items);
      if (page.nextCursor) expect(page.links.next).toContain(`cursor=${page.nextCursor}`);
      cursor = page.nextCursor;
      // New sagas started mid-walk are newer than the cursor: they do not shift later pages.
      if (pages++ === 1) await start(order());
    } while (cursor);
    const ids = seen.map((s) => s.sagaId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(new Set(all.map((d) => d._id)));
    const keys = seen.map((s) => `${s.createdAt}|${s.sagaId}`);
    expect(keys).toEqual([...keys].sort().reverse());

    // Filters combine with pagination.
    const byCorrelation = (await (await node().fetch('/v1/sagas?correlationId=page-1&limit=500')).json()) as {
      items: Summary[];
    };
    expect(byCorrelation.items).toHaveLength(created.filter((_, i) => i % 3 === 1).length);
    const oldest = seen.at(-1)!.createdAt;
    const newest = seen[0]!.createdAt;
    const inRange = (await (
      await node().fetch(`/v1/sagas?createdAfter=${oldest}&createdBefore=${newest}&limit=500`)
    ).json()) as { items: Summary[] };
    expect(inRange.items.length).toBe(
      seen.filter((s) => s.createdAt >= oldest && s.createdAt < newest).length,
    );
    const bad = await node().fetch('/v1/sagas?cursor=not-a-cursor');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: Array<{ field: string }> }).errors[0]!.field).toBe('cursor');
    for (const c of created) await node().waitForTerminal(c.body.sagaId);
    const completed = (await (
      await node().fetch('/v1/sagas?status=completed&type=order-fulfillment&limit=500')
    ).json()) as { items: Summary[] };
    expect(completed.items.length).toBeGreaterThanOrEqual(23);
    expect(completed.items.every((s) => s.status === 'completed')).toBe(true);
  });

  it('one trace id follows a saga from the HTTP request through every command and event', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const { body } = await start(order(), { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    await node().waitForTerminal(body.sagaId);
    const jsm = await jetstreamManager(node().bus.nc);
    const seen: Array<{ stream: string; type: string; traceparent: string | undefined }> = [];
    for (const stream of [node().bus.topo.streams.cmd, node().bus.topo.streams.evt]) {
      const info = await jsm.streams.info(stream);
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
        if (m?.header.get('saga-id') !== body.sagaId) continue;
        seen.push({
          stream,
          type: m.header.get('message-type'),
          traceparent: m.header.get('traceparent') || undefined,
        });
      }
    }
    // The start event, four commands and four replies.
    expect(seen.filter((s) => s.stream.endsWith('SAGA_CMD')).length).toBeGreaterThanOrEqual(4);
    expect(seen.filter((s) => s.stream.endsWith('SAGA_EVT')).length).toBeGreaterThanOrEqual(5);
    for (const s of seen) expect(s.traceparent?.split('-')[1], `${s.stream} ${s.type}`).toBe(traceId);
  });

  it('metrics move as sagas run', async () => {
    const scrape = async () => {
      const text = await (await node().fetch('/metrics')).text();
      return (name: string) => {
        const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(name));
        return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
      };
    };
    const before = await scrape();
    const a = await start(order());
    const b = await start(order({ payment: { token: 'tok_declined' } }));
    await node().waitForTerminal(a.body.sagaId);
    await node().waitForTerminal(b.body.sagaId);
    const after = await scrape();
    const delta = (name: string) => after(name) - before(name);
    expect(delta('jetsaga_sagas_started_total{type="order-fulfillment"}')).toBe(2);
    expect(delta('jetsaga_sagas_ended_total{type="order-fulfillment",status="completed"}')).toBe(1);
    expect(delta('jetsaga_sagas_ended_total{type="order-fulfillment",status="compensated"}')).toBe(1);
    expect(delta('jetsaga_saga_duration_seconds_count{type="order-fulfillment",status="completed"}')).toBe(1);
    expect(delta('jetsaga_messages_processed_total{consumer="orchestrator"}')).toBeGreaterThanOrEqual(9);
    expect(delta('jetsaga_messages_processed_total{consumer="svc-payment"}')).toBeGreaterThanOrEqual(3);
    expect(
      after('jetsaga_saga_step_seconds_count{type="order-fulfillment",state="authorizingPayment"}'),
    ).toBeGreaterThan(0);
    // Both sagas ended: their actors left memory as soon as their last step was cleared.
    expect(delta('jetsaga_actors_passivated_total')).toBeGreaterThanOrEqual(2);
    const text = await (await node().fetch('/metrics')).text();
    for (const name of [
      'jetsaga_consumer_pending_messages{',
      'jetsaga_consumer_ack_pending_messages{',
      'jetsaga_outbox_backlog_sagas ',
      'jetsaga_timers_armed_sagas ',
      'jetsaga_timers_overdue_sagas ',
      'jetsaga_actors_passivated_total ',
      'jetsaga_messages_redelivered_total',
      'process_cpu_user_seconds_total ',
    ])
      expect(text).toContain(name);
  });
});
