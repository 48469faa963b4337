import { describe, expect, it } from 'vitest';
import { order, useTestNode } from '../harness.ts';

interface Overview {
  window: string;
  since: string;
  until: string;
  counts: {
    total: number;
    byStatus: Record<string, number>;
    byType: Array<{ type: string; total: number; byStatus: Record<string, number> }>;
  };
  series: { bucketSeconds: number; starts: number[]; ends: number[] };
  durations: {
    sampled: boolean;
    byType: Array<{ type: string; ended: number; p50Ms: number; p95Ms: number }>;
  };
  reasons: Array<{ reason: string; status: string; type: string; count: number; links: { sagas: string } }>;
  deadLetters: { waiting: number; byConsumer: Array<{ consumer: string; count: number }> } | null;
  consumers: Array<{
    stream: string;
    consumer: string;
    pending: number;
    ackPending: number;
    lag: number;
  }> | null;
}

const type = 'order-fulfillment';

describe('GET /v1/overview', () => {
  const node = useTestNode();

  const start = async (body: unknown) => {
    const res = await node().post(`/v1/saga-types/${type}/sagas`, body);
    expect(res.status).toBe(202);
    return ((await res.json()) as { sagaId: string }).sagaId;
  };
  const outOfStock = () => order({ items: [{ sku: 'SKU-OUT', qty: 1, unitPrice: 5 }] });

  it('counts known sagas by status and type, per minute, with durations, top reasons and their list link', async () => {
    const ids = await Promise.all([
      start(order()),
      start(order()),
      start(outOfStock()),
      start(outOfStock()),
      start(outOfStock()),
    ]);
    const docs = await Promise.all(ids.map((id) => node().waitForTerminal(id)));
    expect(docs.map((d) => d.status).sort()).toEqual([
      'compensated',
      'compensated',
      'compensated',
      'completed',
      'completed',
    ]);

    const res = await node().fetch('/v1/overview?window=1h');
    expect(res.status).toBe(200);
    const o = (await res.json()) as Overview;
    expect(o.window).toBe('1h');
    expect(o.counts.total).toBe(5);
    expect(o.counts.byStatus).toMatchObject({ completed: 2, compensated: 3, running: 0, failed: 0 });
    expect(o.counts.byType).toEqual([
      { type, total: 5, byStatus: expect.objectContaining({ completed: 2, compensated: 3 }) },
    ]);
    expect(o.series.bucketSeconds).toBe(60);
    expect(o.series.starts).toHaveLength(60);
    expect(o.series.ends).toHaveLength(60);
    expect(o.series.starts.reduce((a, b) => a + b, 0)).toBe(5);
    expect(o.series.ends.reduce((a, b) => a + b, 0)).toBe(5);
    // Just started: in the last bucket or the one before it.
    expect(o.series.starts.slice(-2).reduce((a, b) => a + b, 0)).toBe(5);
    expect(o.durations.sampled).toBe(false);
    const [d] = o.durations.byType;
    expect(d).toMatchObject({ type, ended: 5 });
    expect(d!.p50Ms).toBeGreaterThan(0);
    expect(d!.p95Ms).toBeGreaterThanOrEqual(d!.p50Ms);
    expect(o.reasons).toEqual([
      {
        reason: 'out-of-stock',
        status: 'compensated',
        type,
        count: 3,
        links: { sagas: `/v1/sagas?type=${type}&status=compensated` },
      },
    ]);
    // The link is the list API's own filter: it lists exactly those sagas.
    const listed = (await (await node().fetch(o.reasons[0]!.links.sagas)).json()) as {
      items: Array<{ sagaId: string; reason: string }>;
    };
    expect(listed.items.map((s) => s.sagaId).sort()).toEqual(ids.slice(2).sort());
    expect(listed.items.every((s) => s.reason === 'out-of-stock')).toBe(true);
    expect(o.deadLetters).toEqual({ waiting: 0, byConsumer: [] });
    expect(o.consumers).not.toBeNull();
    const orchestrator = o.consumers!.find((c) => c.consumer === 'orchestrator');
    expect(orchestrator).toBeDefined();
    for (const c of o.consumers!) expect(c.lag).toBe(c.pending + c.ackPending);
  });

  it('refuses an unknown window with a problem naming it', async () => {
    const res = await node().fetch('/v1/overview?window=2d');
    expect(res.status).toBe(400);
    const p = (await res.json()) as { errors: Array<{ field: string }> };
    expect(p.errors.map((e) => e.field)).toEqual(['window']);
  });
});
