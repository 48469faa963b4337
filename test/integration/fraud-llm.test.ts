import { register } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeLlm } from '../../services/fraud-agent/fake-llm.ts';
import { fraudAgent } from '../../services/fraud-agent/index.ts';
import { appForTests } from '../dist.ts';
import { order, useTestNode } from '../harness.ts';
import { fullHistory } from './fraud-support.ts';

/**
 * The LLM reviewer in the running system, against a local OpenAI-compatible endpoint.
 * The band is the whole score range, so every payment is reviewed.
 */
describe('fraud agent with an LLM reviewer', () => {
  const llm = new FakeLlm();
  beforeAll(() => llm.start());
  afterAll(() => llm.stop());
  // Its options once the endpoint listens: the agent is given its URL.
  const node = useTestNode(() => ({
    dist: {
      ...appForTests,
      reactors: {
        'fraud-agent': fraudAgent({
          llmUrl: llm.url,
          llmModel: 'reviewer-1',
          llmBand: [0, 1],
          llmTimeoutMs: 1_500,
        }),
      },
    },
  }));

  async function run(orderId: string) {
    const res = await node().post('/v1/saga-types/order-fulfillment/sagas', order({ orderId }));
    const { sagaId } = (await res.json()) as { sagaId: string };
    const doc = await node().waitForTerminal(sagaId);
    const verdict = (await fullHistory(node(), sagaId, doc.rev)).find((h) =>
      h.event.type.startsWith('fraud.'),
    )!;
    return { doc, verdict: verdict.event.data as { reviewer: string; reasons: string[] } };
  }

  const fallbacks = async (cause: string) => {
    const metric = (await register.getSingleMetric('jetsaga_fraud_llm_fallbacks_total')!.get()).values;
    return metric.find((v) => v.labels.cause === cause)?.value ?? 0;
  };

  it('a reviewer that times out: the model verdict stands, and the reasons say so', async () => {
    llm.mode = { kind: 'slow', ms: 10_000 };
    const before = await fallbacks('timeout');
    const { doc, verdict } = await run('llm-slow');
    expect(doc.status).toBe('completed');
    expect(verdict.reviewer).toBe('model');
    expect(verdict.reasons.at(-1)).toMatch(
      /^LLM reviewer unavailable \(timeout: no answer within 1500 ms\); model verdict kept$/,
    );
    expect(await fallbacks('timeout')).toBe(before + 1);
    expect(llm.requests.at(-1)!.body.model).toBe('reviewer-1');
  });

  it('a reviewer that fails or answers garbage: the model verdict stands', async () => {
    llm.mode = { kind: 'status', status: 500 };
    const a = await run('llm-500');
    expect(a.doc.status).toBe('completed');
    expect(a.verdict.reasons.at(-1)).toMatch(/unavailable \(error: HTTP 500\)/);
    llm.mode = { kind: 'garbage' };
    const b = await run('llm-garbage');
    expect(b.doc.status).toBe('completed');
    expect(b.verdict.reasons.at(-1)).toMatch(/unavailable \(unparseable/);
  });

  it('a reviewer that flags a borderline payment decides it', async () => {
    llm.mode = {
      kind: 'answer',
      content: '{"verdict":"flag","reason":"shipping address used by flagged accounts"}',
    };
    const { doc, verdict } = await run('llm-flag');
    expect(doc.status).toBe('compensated');
    expect(doc.reason).toBe('fraud');
    expect(verdict.reviewer).toBe('llm');
    expect(verdict.reasons.at(-1)).toBe('LLM reviewer flagged: shipping address used by flagged accounts');
  });
});
