import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiTokenEntry } from '../../runtime/api-tokens.ts';
import type { Config } from '../../runtime/config.ts';
import type { ReviewCase } from '../../sagas/order-fulfillment/index.ts';
import { FakeLlm } from '../../services/fraud-agent/fake-llm.ts';
import { fraudAgent } from '../../services/fraud-agent/index.ts';
import { appForTests } from '../dist.ts';
import { order, useTestNode } from '../harness.ts';
import { fullHistory } from './fraud-support.ts';

const writeToken = 'r'.repeat(24);
const readToken = 'q'.repeat(24);
const asAlice = { Authorization: `Bearer ${writeToken}` };
const asViewer = { Authorization: `Bearer ${readToken}` };

interface ListedSaga {
  sagaId: string;
  state: string;
  createdAt: string;
  context?: { review?: ReviewCase | null };
}

/**
 * The manual review queue in the running system. The review band is the whole score range, so
 * every payment the LLM reviewer does not settle goes to a person: the LLM endpoint answers 500
 * (the agent falls back to the model, and to the review band) except where a test makes it decide.
 */
describe('fraud review queue', () => {
  const llm = new FakeLlm();
  beforeAll(() => {
    llm.mode = { kind: 'status', status: 500 };
    return llm.start();
  });
  afterAll(() => llm.stop());
  const node = useTestNode(() => ({
    dist: {
      ...appForTests,
      reactors: {
        ...appForTests.reactors,
        'fraud-agent': fraudAgent({
          reviewBand: [0, 1],
          llmUrl: llm.url,
          llmBand: [0, 1],
          llmTimeoutMs: 1_500,
        }),
      },
    },
    config: {
      auth: 'tokens',
      apiTokens: [
        { name: 'alice', token: writeToken, scope: 'write' },
        { name: 'viewer', token: readToken, scope: 'read' },
      ] as ApiTokenEntry[] as unknown as Config['apiTokens'],
    },
  }));
  const customerId = `rv-${randomBytes(3).toString('hex')}`;

  async function start(orderId: string, over: Record<string, unknown> = {}): Promise<string> {
    const res = await node().post(
      '/v1/saga-types/order-fulfillment/sagas',
      order({ orderId, customerId, ...over }),
      asAlice,
    );
    expect(res.status).toBe(202);
    return ((await res.json()) as { sagaId: string }).sagaId;
  }
  const signal = (sagaId: string, name: string, body: unknown, headers: Record<string, string> = asAlice) =>
    node().post(`/v1/sagas/${sagaId}/signals/${name}`, body, headers);
  async function queue(): Promise<ListedSaga[]> {
    const res = await node().fetch(
      '/v1/sagas?type=order-fulfillment&state=reviewing&order=oldest&include=context',
      { headers: asViewer },
    );
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: ListedSaga[] }).items;
  }
  const reviewing = (sagaId: string) => node().waitFor(sagaId, (d) => d.state === 'reviewing');

  let first = '';
  let second = '';

  it('orders in the review band wait in reviewing, listed oldest first with the case to decide', async () => {
    first = await start(`${customerId}-1`);
    await reviewing(first);
    second = await start(`${customerId}-2`, { items: [{ sku: 'SKU-2', qty: 3, unitPrice: 15 }] });
    await reviewing(second);

    const items = await queue();
    expect(items.map((i) => i.sagaId)).toEqual([first, second]);
    const [a, b] = items.map((i) => i.context!.review!);
    expect(a).toMatchObject({ amount: 20, customerId, reviewBand: [0, 1], outcome: null });
    expect(b).toMatchObject({ amount: 45, customerId, outcome: null });
    expect(b!.score).toBeGreaterThanOrEqual(0);
    expect(b!.threshold).toBeGreaterThan(0);
    expect(b!.reasons.at(-1)).toBe('score in the manual review band [0, 1): a person decides');
    expect(b!.reasons).toContainEqual(expect.stringMatching(/^LLM reviewer unavailable \(error: HTTP 500\)/));
    // The queue pages oldest first too: the cursor walks forward.
    const res = await node().fetch('/v1/sagas?state=reviewing&order=oldest&limit=1', { headers: asViewer });
    const page1 = (await res.json()) as { items: ListedSaga[]; links: { next: string } };
    expect(page1.items.map((i) => [i.sagaId, i.context])).toEqual([[first, undefined]]);
    const page2 = (await (await node().fetch(page1.links.next, { headers: asViewer })).json()) as {
      items: ListedSaga[];
    };
    expect(page2.items.map((i) => i.sagaId)).toEqual([second]);
    // The customer's earlier payment, as the agent saw it: carried by the event, not read from its store.
    expect(a!.recentPayments).toEqual([]);
    expect(b!.recentPayments).toEqual([
      expect.objectContaining({ paymentId: `pay_${customerId}-1`, amountUsd: 20, sameCard: true }),
    ]);
  });

  it('a read token may not decide; a note over 500 characters is refused naming the field', async () => {
    // What the inspector asks to know whether to offer the buttons.
    const session = await node().fetch('/v1/session', { headers: asViewer });
    expect(await session.json()).toEqual({ caller: 'viewer', scope: 'read', auth: 'tokens' });
    const denied = await signal(first, 'approve-review', { note: 'ok' }, asViewer);
    expect(denied.status).toBe(403);
    const long = await signal(first, 'approve-review', { note: 'x'.repeat(501) });
    expect(long.status).toBe(400);
    expect(((await long.json()) as { errors: Array<{ field: string }> }).errors[0]!.field).toBe('note');
    expect((await node().store.load(first))!.state).toBe('reviewing');
  });

  it('approved by a signal: the order is captured and completes, the history says who and why', async () => {
    const res = await signal(
      first,
      'approve-review',
      { note: 'regular customer' },
      {
        ...asAlice,
        'Idempotency-Key': 'review-first',
      },
    );
    expect(res.status).toBe(202);
    const doc = await node().waitForTerminal(first);
    expect(doc.status).toBe('completed');
    expect((doc.context as { review: ReviewCase }).review.outcome).toEqual({
      decision: 'approved',
      by: 'alice',
      note: 'regular customer',
    });
    const history = await fullHistory(node(), first, doc.rev);
    expect(history.map((h) => h.event.type)).toEqual([
      'saga.started',
      'inventory.reserved',
      'payment.authorized',
      'fraud.review',
      'saga.signal.approve-review',
      'payment.captured',
      'shipping.shipment-created',
      'inventory.committed',
    ]);
    const decided = history.find((h) => h.event.type === 'saga.signal.approve-review')!;
    expect(decided).toMatchObject({
      from: 'reviewing',
      to: 'capturingPayment',
      event: { data: { by: 'alice', data: { note: 'regular customer' } } },
    });
    // The review's deadline was armed on the way in and cancelled by the decision.
    const review = history.find((h) => h.event.type === 'fraud.review')!;
    expect(review.timers?.set.map((t) => t.id)).toEqual([expect.stringMatching(/reviewTimeout/)]);
    expect(decided.timers?.cancelled).toEqual([expect.stringMatching(/reviewTimeout/)]);
    expect((await queue()).map((i) => i.sagaId)).toEqual([second]);
  });

  it('rejected by a signal: the authorization is voided, the stock released, reason fraud-review-rejected', async () => {
    expect((await signal(second, 'reject-review', { note: 'card reported stolen' })).status).toBe(202);
    const doc = await node().waitForTerminal(second);
    expect(doc.status).toBe('compensated');
    expect(doc.reason).toBe('fraud-review-rejected');
    const types = (await fullHistory(node(), second, doc.rev)).map((h) => h.event.type);
    expect(types.slice(-3)).toEqual(['saga.signal.reject-review', 'payment.voided', 'inventory.released']);
    expect(types).not.toContain('payment.captured');
    expect((doc.context as { review: ReviewCase }).review.outcome).toMatchObject({ decision: 'rejected' });
  });

  it('nobody decides by the deadline: the policy does (approve captures, the default rejects)', async () => {
    const approved = await start(`${customerId}-3`, {
      reviewTimeoutMs: 1_000,
      reviewTimeoutPolicy: 'approve',
    });
    const rejected = await start(`${customerId}-4`, { reviewTimeoutMs: 1_000 });
    const [a, r] = await Promise.all([node().waitForTerminal(approved), node().waitForTerminal(rejected)]);
    expect(a.status).toBe('completed');
    expect((a.context as { review: ReviewCase }).review.outcome).toEqual({
      decision: 'timeout',
      policy: 'approve',
    });
    expect(r.status).toBe('compensated');
    expect(r.reason).toBe('fraud-review-timeout');
    const fired = (await fullHistory(node(), approved, a.rev)).find((h) => h.from === 'reviewing')!;
    expect(fired).toMatchObject({ event: { type: 'saga.timer' }, to: 'capturingPayment' });
  });

  it('the LLM reviewer, when it decides, settles the case before it reaches a person', async () => {
    llm.mode = { kind: 'answer', content: '{"verdict":"approve","reason":"matches the usual basket"}' };
    try {
      const sagaId = await start(`${customerId}-5`);
      const doc = await node().waitForTerminal(sagaId);
      expect(doc.status).toBe('completed');
      const history = await fullHistory(node(), sagaId, doc.rev);
      expect(history.some((h) => h.to === 'reviewing')).toBe(false);
      expect(history.find((h) => h.event.type.startsWith('fraud.'))!.event).toMatchObject({
        type: 'fraud.approved',
        data: { reviewer: 'llm' },
      });
    } finally {
      llm.mode = { kind: 'status', status: 500 };
    }
  });
});
