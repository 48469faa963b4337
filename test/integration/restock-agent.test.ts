import { randomBytes, randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Envelope, type ReactorDefinition, TransientError } from 'jetsaga';
import { isTerminal } from '../../runtime/store/index.ts';
import { receipts, stock } from '../../services/inventory/index.ts';
import { restockAgent } from '../../services/restock-agent/agent.ts';
import { records, skus } from '../../services/restock-agent/agent-store.ts';
import { appForTests } from '../dist.ts';
import { order, outboxSettled, testEnvelope, useTestNode, waitUntil, watchEvents } from '../harness.ts';
import { checkOrderInvariants, seededStock } from '../invariants.ts';

/**
 * The restock agent in the running system (real NATS, a real MongoDB-wire server, every role of the
 * reference app): it learns a SKU's demand from inventory's sales, and when a sale leaves the SKU at
 * or below its reorder point it opens one recommendation, starts one restock saga, and closes the
 * recommendation on the saga's end, however often the events come.
 *
 * Sixty days of sales are published as the inventory service would (a day is one second here, so
 * their times span the last minute), on one ended order saga (the orchestrator ignores events for
 * an ended saga): a history the model reads as it would read a shop's.
 */
/** Events whose first reaction "crashes" after it took effect (the agent restarts mid-way). */
const crashOnce = new Set<string>();

/** The agent, crashing once after reacting to the events in `crashOnce`: the event comes again. */
function crashingAgent(agent: ReactorDefinition): ReactorDefinition {
  return {
    ...agent,
    async react(event, ctx) {
      const reaction = await agent.react(event, ctx);
      if (crashOnce.delete(event.id)) throw new TransientError('crashed after reacting, before recording');
      return reaction;
    },
  };
}

describe('restock agent', () => {
  const dayMs = 1_000;
  const node = useTestNode({
    dist: {
      ...appForTests,
      reactors: {
        ...appForTests.reactors,
        'restock-agent': crashingAgent(
          restockAgent({ config: { dayMs, leadTimeDays: 3, minHistoryDays: 14, forecastEveryMs: 600_000 } }),
        ),
      },
    },
  });
  const db = () => node().mongo.db(node().config.mongoDb);
  const sku = `LOW-${randomBytes(2).toString('hex')}`;
  const onHand = 4;
  let watched: Awaited<ReturnType<typeof watchEvents>>;
  let host: string;

  beforeAll(async () => {
    watched = await watchEvents(node());
    // A SKU that is nearly gone: what the restock will refill.
    await stock(db()).insertOne({ _id: sku, available: onHand, holds: {}, holders: {} });
    const res = await node().post('/v1/saga-types/order-fulfillment/sagas', order({ customerId: 'rs-host' }));
    host = ((await res.json()) as { sagaId: string }).sagaId;
    await node().waitFor(host, (d) => isTerminal(d.status) && outboxSettled(d));
  });
  afterAll(() => watched?.stop());

  /** A sale of `qty` units `daysAgo` days ago that left `available` units, as inventory publishes it. */
  function sale(daysAgo: number, qty: number, available: number, of = sku): Envelope {
    const env = testEnvelope('inventory.committed', randomUUID(), host, {
      orderId: `hist-${randomBytes(4).toString('hex')}`,
      items: [{ sku: of, qty }],
      levels: [{ sku: of, available }],
    });
    return { ...env, occurredAt: new Date(Date.now() - daysAgo * dayMs).toISOString() };
  }
  const publish = (env: Envelope, copy = '') =>
    node().bus.publish(`evt.${env.type}`, env, `${env.id}${copy}`);
  const recommended = (of = sku) =>
    watched.events.filter((e) => e.type === 'restock.recommended' && e.data.sku === of);
  const restockSagas = (of = sku) =>
    db()
      .collection<{ _id: string; type: string; input: { sku: string } }>('sagas')
      .find({ type: 'restock', 'input.sku': of })
      .toArray();
  /** Sixty days of sales of `of`, about eleven a day with busier weekends, leaving plenty in stock. */
  async function history(of: string): Promise<void> {
    let level = 1_000;
    for (let daysAgo = 60; daysAgo >= 1; daysAgo--) {
      const qty = 9 + (daysAgo % 7 < 2 ? 6 : 0) + (daysAgo % 3);
      level -= qty;
      await publish(sale(daysAgo, qty, level, of));
    }
    await waitUntil(
      async () => (await records(db()).countDocuments({ kind: 'sale', 'lines.sku': of })) === 60,
      `the agent to record the sixty days of sales of ${of}`,
    );
  }

  let opening: Envelope;

  it('a sale below the reorder point opens one recommendation and starts one restock saga', async () => {
    await history(sku);
    expect(recommended()).toEqual([]);
    expect(await restockSagas()).toEqual([]);
    // The order saga's end is not the agent's business: acked without a record (no write).
    const hostEnded = watched.events.find((e) => e.type === 'saga.ended' && e.sagaId === host);
    expect(hostEnded).toBeDefined();
    expect(await records(db()).findOne({ _id: hostEnded!.id })).toBeNull();

    // The sale that crosses the reorder point; the agent's first run of it opens the recommendation
    // and starts the saga, then crashes before recording: the event is redelivered to it.
    opening = sale(0, 12, onHand);
    crashOnce.add(opening.id);
    await publish(opening);
    const [rec] = await waitUntil(
      () => (recommended().length > 0 ? recommended() : null),
      'a recommendation',
    );
    expect(rec!.data).toMatchObject({
      sku,
      available: onHand,
      forecast: { days: 3 },
      modelVersion: expect.stringMatching(/^hw-sba-/),
    });
    const data = rec!.data as {
      qty: number;
      reorderPoint: number;
      forecast: { mean: number };
      reasons: string[];
    };
    expect(data.reorderPoint).toBeGreaterThanOrEqual(onHand);
    // Three days of about eleven a day, and an order that reaches past them.
    expect(data.forecast.mean).toBeGreaterThan(15);
    expect(data.forecast.mean).toBeLessThan(70);
    expect(data.qty).toBeGreaterThan(data.reorderPoint - onHand);
    expect(data.reasons.join(' ')).toMatch(/lead time 3 days/);
    await waitUntil(() => !crashOnce.has(opening.id) || null, 'the crash');
    await waitUntil(
      async () => (await records(db()).findOne({ _id: opening.id })) ?? null,
      'the sale recorded',
    );
    expect(await restockSagas()).toHaveLength(1);
    expect(recommended()).toHaveLength(1);
    const [saga] = await restockSagas();
    // The saga carries what the agent saw and why, for its timeline in the inspector.
    expect((saga as unknown as { input: { recommendation: unknown } }).input.recommendation).toMatchObject({
      reasons: data.reasons,
      reorderPoint: data.reorderPoint,
      modelVersion: expect.stringMatching(/^hw-sba-/),
    });
  });

  it('the completed restock raises the stock once and closes the recommendation; copies change nothing', async () => {
    const [rec] = recommended();
    const { qty, sagaId, recommendationId } = rec!.data as {
      qty: number;
      sagaId: string;
      recommendationId: string;
    };
    const doc = await node().waitFor(sagaId, (d) => isTerminal(d.status) && outboxSettled(d));
    expect(doc.status).toBe('completed');
    await waitUntil(
      async () => (await skus(db()).findOne({ _id: sku }))?.open === null,
      'the recommendation closed',
    );
    expect((await skus(db()).findOne({ _id: sku }))?.lastOutcome).toMatchObject({
      recommendationId,
      status: 'completed',
    });
    // Copies of the sale that opened it and of the saga's end, under new message ids.
    await publish(opening, ':copy');
    const ended = await waitUntil(
      () => watched.events.find((e) => e.type === 'saga.ended' && e.sagaId === sagaId),
      'saga.ended of the restock',
    );
    await publish(ended, ':copy');
    await waitUntil(
      async () => (await records(db()).countDocuments({ _id: { $in: [opening.id, ended.id] } })) === 2,
      'the agent to have recorded both',
    );
    // Both records were there before the copies: wait for the agent to have taken the copies too.
    const jsm = await jetstreamManager(node().bus.nc);
    await waitUntil(async () => {
      const info = await jsm.consumers.info(node().bus.topo.streams.evt, 'restock-agent');
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, 'the agent to have taken the copies');
    const s = await stock(db()).findOne({ _id: sku });
    expect(s).toMatchObject({ available: onHand + qty, received: qty });
    expect(await receipts(db()).countDocuments({ sku })).toBe(1);
    expect(await restockSagas()).toHaveLength(1);
    // A copy of the opening sale gets the recorded reaction published again, under its own id (the
    // stream keeps it once; a plain subscriber sees each publish): one recommendation still.
    expect(new Set(recommended().map((e) => e.id)).size).toBe(1);
    const report = await checkOrderInvariants(db(), { initialStock: { ...seededStock, [sku]: onHand } });
    expect(report.violations).toEqual([]);
    expect(report.duplicateEffects).toBe(0);
  });

  it('a refused purchase closes the recommendation and leaves the SKU open to the next one', async () => {
    // The supplier refuses this SKU (services/suppliers: a deterministic failure).
    const refused = 'SKU-REFUSED';
    await history(refused);
    await publish(sale(0, 12, 3, refused));
    const [first] = await waitUntil(
      () => (recommended(refused).length > 0 ? recommended(refused) : null),
      'a first recommendation',
    );
    const { sagaId, recommendationId } = first!.data as { sagaId: string; recommendationId: string };
    const doc = await node().waitFor(sagaId, (d) => isTerminal(d.status));
    expect(doc.status).toBe('compensated');
    await waitUntil(
      async () => (await skus(db()).findOne({ _id: refused }))?.open === null,
      'the SKU reopened',
    );
    expect((await skus(db()).findOne({ _id: refused }))?.lastOutcome).toMatchObject({
      recommendationId,
      status: 'compensated',
    });
    // Still low at the next sale: a new recommendation, its own saga.
    await publish(sale(0, 2, 1, refused));
    await waitUntil(() => (recommended(refused).length === 2 ? true : null), 'a second recommendation');
    const ids = recommended(refused).map((e) => (e.data as { recommendationId: string }).recommendationId);
    expect(new Set(ids).size).toBe(2);
    expect(await restockSagas(refused)).toHaveLength(2);
  });
});
