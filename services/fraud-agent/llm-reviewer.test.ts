import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFraudConfig } from './config.ts';
import { FakeLlm } from './fake-llm.ts';
import { chatCompletionsUrl, LlmReviewer, parseAnswer, type ReviewRequest } from './llm-reviewer.ts';

const request: ReviewRequest = {
  score: 0.45,
  threshold: 0.41,
  modelVersion: 'gbdt-1.test',
  modelReasons: ['amount 800.00 USD (+1.89)'],
  features: { amountUsd: 800 },
  payment: { amount: 800, currency: 'USD' },
  recentHistory: [],
};

describe('LLM reviewer against a local OpenAI-compatible endpoint', () => {
  const llm = new FakeLlm();
  beforeAll(() => llm.start());
  afterAll(() => llm.stop());
  const reviewer = (timeoutMs = 5_000) =>
    new LlmReviewer({ url: llm.url, model: 'm-1', key: 'k-1', timeoutMs });

  it('sends the chat request and takes a JSON verdict', async () => {
    llm.mode = {
      kind: 'answer',
      content: '```json\n{"verdict": "FLAG", "reason": "new card, high amount"}\n```',
    };
    expect(await reviewer().review(request)).toEqual({
      kind: 'decision',
      decision: 'flag',
      reason: 'new card, high amount',
    });
    const last = llm.requests.at(-1)!;
    expect(last.path).toBe('/v1/chat/completions');
    expect(last.auth).toBe('Bearer k-1');
    expect(last.body.model).toBe('m-1');
    expect(JSON.parse(last.body.messages[1]!.content)).toMatchObject({ score: 0.45, threshold: 0.41 });
  });

  it('falls back on a slow answer (timeout), a server error and garbage', async () => {
    llm.mode = { kind: 'slow', ms: 2_000 };
    expect(await reviewer(200).review(request)).toMatchObject({ kind: 'fallback', cause: 'timeout' });
    llm.mode = { kind: 'status', status: 500 };
    expect(await reviewer().review(request)).toEqual({
      kind: 'fallback',
      cause: 'error',
      detail: 'HTTP 500',
    });
    llm.mode = { kind: 'garbage' };
    expect(await reviewer().review(request)).toMatchObject({ kind: 'fallback', cause: 'unparseable' });
    llm.mode = { kind: 'answer', content: 'I think it is probably fine.' };
    expect(await reviewer().review(request)).toMatchObject({ kind: 'fallback', cause: 'unparseable' });
    llm.mode = { kind: 'answer', content: '{"verdict":"maybe"}' };
    expect(await reviewer().review(request)).toMatchObject({ kind: 'fallback', cause: 'unparseable' });
  });

  it('falls back when nothing listens', async () => {
    const gone = new LlmReviewer({ url: 'http://127.0.0.1:1/v1', model: 'm', timeoutMs: 500 });
    expect(await gone.review(request)).toMatchObject({ kind: 'fallback', cause: 'error' });
  });

  it('parses answers and builds the endpoint URL', () => {
    expect(parseAnswer('{"verdict":"approve"}')).toEqual({ decision: 'approve', reason: 'no reason given' });
    expect(parseAnswer('{"verdict":')).toBeNull();
    expect(chatCompletionsUrl('http://h/v1/')).toBe('http://h/v1/chat/completions');
    expect(chatCompletionsUrl('http://h/v1/chat/completions')).toBe('http://h/v1/chat/completions');
  });
});

describe('fraud agent settings', () => {
  it('defaults: no LLM, the model threshold, band 0.2..0.7', () => {
    expect(loadFraudConfig({})).toMatchObject({
      llmUrl: undefined,
      threshold: undefined,
      llmTimeoutMs: 2_000,
      llmBand: [0.2, 0.7],
    });
    expect(
      loadFraudConfig({
        JETSAGA_FRAUD_LLM_URL: 'http://127.0.0.1:8000/v1',
        JETSAGA_FRAUD_LLM_BAND: '0.1, 0.9',
      }),
    ).toMatchObject({ llmUrl: 'http://127.0.0.1:8000/v1', llmBand: [0.1, 0.9] });
  });

  it('names the variable at fault', () => {
    expect(() => loadFraudConfig({ JETSAGA_FRAUD_LLM_TIMEOUT_MS: 'soon' })).toThrow(
      /JETSAGA_FRAUD_LLM_TIMEOUT_MS/,
    );
    expect(() => loadFraudConfig({ JETSAGA_FRAUD_LLM_BAND: '0.8,0.2' })).toThrow(
      /JETSAGA_FRAUD_LLM_BAND.*below/,
    );
    expect(() => loadFraudConfig({ JETSAGA_FRAUD_LLM_URL: 'ftp://x' })).toThrow(/JETSAGA_FRAUD_LLM_URL/);
    expect(() => loadFraudConfig({ JETSAGA_FRAUD_THRESHOLD: '2' })).toThrow(/JETSAGA_FRAUD_THRESHOLD/);
  });

  it('manual review is off unless JETSAGA_FRAUD_REVIEW_BAND names a band', () => {
    expect(loadFraudConfig({}).reviewBand).toBeUndefined();
    expect(loadFraudConfig({ JETSAGA_FRAUD_REVIEW_BAND: '0.3,0.6' }).reviewBand).toEqual([0.3, 0.6]);
    expect(() => loadFraudConfig({ JETSAGA_FRAUD_REVIEW_BAND: '0.6,0.3' })).toThrow(
      /JETSAGA_FRAUD_REVIEW_BAND.*below/,
    );
    expect(() => loadFraudConfig({ JETSAGA_FRAUD_REVIEW_BAND: 'grey' })).toThrow(/JETSAGA_FRAUD_REVIEW_BAND/);
  });
});
