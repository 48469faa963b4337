import { z } from 'zod';

/**
 * A second opinion on borderline payments from any OpenAI-compatible chat endpoint
 * (`POST <url>/chat/completions`). It never decides alone what it cannot deliver: a
 * timeout, an HTTP error or an answer that does not parse comes back as a fallback, and
 * the agent keeps the model's verdict.
 */

export interface ReviewRequest {
  score: number;
  threshold: number;
  modelVersion: string;
  modelReasons: string[];
  features: Record<string, number>;
  payment: Record<string, unknown>;
  recentHistory: Array<Record<string, unknown>>;
}

export type Review =
  | { kind: 'decision'; decision: 'approve' | 'flag'; reason: string }
  | { kind: 'fallback'; cause: 'timeout' | 'error' | 'unparseable'; detail: string };

export interface LlmSettings {
  url: string;
  model: string;
  key?: string;
  timeoutMs: number;
}

const ChatResponse = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable() }) })).min(1),
});
const Answer = z.object({
  verdict: z
    .string()
    .transform((s) => s.trim().toLowerCase())
    .pipe(z.enum(['approve', 'flag'])),
  reason: z.string().max(500).optional(),
});

const instructions = [
  'You review card payments that a fraud model scored as borderline for an online shop.',
  'You get the payment, the model score and threshold, the features and reasons, and the',
  "customer's recent payments. Decide whether to approve the payment or flag it as fraud.",
  'Answer with one JSON object and nothing else:',
  '{"verdict": "approve" | "flag", "reason": "<one short sentence>"}',
].join('\n');

export function chatCompletionsUrl(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith('/chat/completions') ? trimmed : `${trimmed}/chat/completions`;
}

/** Pulls the JSON object out of an answer, tolerating code fences and chatter around it. */
export function parseAnswer(content: string): { decision: 'approve' | 'flag'; reason: string } | null {
  const start = content.indexOf('{');
  const end = content.lastIndexOf('}');
  if (start < 0 || end <= start) return null;
  try {
    const parsed = Answer.safeParse(JSON.parse(content.slice(start, end + 1)));
    if (!parsed.success) return null;
    return { decision: parsed.data.verdict, reason: parsed.data.reason?.trim() || 'no reason given' };
  } catch {
    return null;
  }
}

export class LlmReviewer {
  constructor(private readonly settings: LlmSettings) {}

  async review(req: ReviewRequest): Promise<Review> {
    const { url, model, key, timeoutMs } = this.settings;
    let res: Response;
    let body: string;
    try {
      // One deadline for the whole exchange, body included: a slow stream is a timeout too.
      const signal = AbortSignal.timeout(timeoutMs);
      res = await fetch(chatCompletionsUrl(url), {
        method: 'POST',
        signal,
        headers: {
          'content-type': 'application/json',
          ...(key ? { authorization: `Bearer ${key}` } : {}),
        },
        body: JSON.stringify({
          model,
          temperature: 0,
          messages: [
            { role: 'system', content: instructions },
            { role: 'user', content: JSON.stringify(req) },
          ],
        }),
      });
      body = await res.text();
    } catch (err) {
      const e = err as Error;
      if (e.name === 'TimeoutError' || e.name === 'AbortError')
        return { kind: 'fallback', cause: 'timeout', detail: `no answer within ${timeoutMs} ms` };
      return { kind: 'fallback', cause: 'error', detail: e.message };
    }
    if (!res.ok) return { kind: 'fallback', cause: 'error', detail: `HTTP ${res.status}` };
    let content: string | null = null;
    try {
      const parsed = ChatResponse.safeParse(JSON.parse(body));
      content = parsed.success ? parsed.data.choices[0]!.message.content : null;
    } catch {
      content = null;
    }
    const answer = content === null ? null : parseAnswer(content);
    if (!answer)
      return { kind: 'fallback', cause: 'unparseable', detail: 'answer is not the requested JSON' };
    return { kind: 'decision', ...answer };
  }
}
