import { z } from 'zod';
import { defineSettings } from 'jetsaga';

/**
 * The fraud agent's own settings, in jetsaga's table (`jetsaga help` lists them): each from its
 * JETSAGA_FRAUD_* variable or its flag (`--fraud-threshold`, ...). The LLM reviewer is off
 * unless `JETSAGA_FRAUD_LLM_URL` is set. A bad value stops the role with the flag and variable
 * at fault and what they accept.
 */
export const fraudSettings = defineSettings({
  threshold: {
    env: 'JETSAGA_FRAUD_THRESHOLD',
    schema: z.coerce.number().min(0).max(1).optional(),
    help: "flag at or above this score; none: the model's own threshold",
  },
  modelPath: {
    env: 'JETSAGA_FRAUD_MODEL_PATH',
    schema: z.string().min(1).optional(),
    help: 'model artifact to load; none: the shipped services/fraud-agent/model/fraud-model.json',
  },
  llmUrl: {
    env: 'JETSAGA_FRAUD_LLM_URL',
    schema: z
      .url({ protocol: /^https?$/, error: 'an http(s) URL such as http://127.0.0.1:11434/v1' })
      .optional(),
    help: 'OpenAI-compatible base URL (…/v1); POSTs <url>/chat/completions; none: no LLM review',
  },
  llmModel: {
    env: 'JETSAGA_FRAUD_LLM_MODEL',
    schema: z.string().min(1).default('gpt-4o-mini'),
    help: 'model name sent to the endpoint',
  },
  llmKey: {
    env: 'JETSAGA_FRAUD_LLM_KEY',
    schema: z.string().min(1).optional(),
    help: 'bearer token for the endpoint',
    secret: true,
  },
  llmTimeoutMs: {
    env: 'JETSAGA_FRAUD_LLM_TIMEOUT_MS',
    schema: z.coerce.number().int().min(50).max(60_000).default(2_000),
    help: 'give up on the reviewer after this and keep the model verdict',
  },
  llmBand: {
    env: 'JETSAGA_FRAUD_LLM_BAND',
    schema: z
      .string()
      .regex(
        /^\s*(0(\.\d+)?|1(\.0+)?)\s*,\s*(0(\.\d+)?|1(\.0+)?)\s*$/,
        'two scores "low,high" such as 0.2,0.7',
      )
      .transform((s) => s.split(',').map(Number) as [number, number])
      .refine(([low, high]) => low < high, 'low must be below high')
      .default([0.2, 0.7]),
    help: 'scores in [low, high) are borderline and go to the reviewer',
  },
  reviewBand: {
    env: 'JETSAGA_FRAUD_REVIEW_BAND',
    schema: z
      .string()
      .regex(
        /^\s*(0(\.\d+)?|1(\.0+)?)\s*,\s*(0(\.\d+)?|1(\.0+)?)\s*$/,
        'two scores "low,high" such as 0.3,0.6',
      )
      .transform((s) => s.split(',').map(Number) as [number, number])
      .refine(([low, high]) => low < high, 'low must be below high')
      .optional(),
    help: 'scores in [low, high) the LLM reviewer did not settle go to a person (fraud.review); none: no manual review',
  },
});

export type FraudConfig = ReturnType<typeof fraudSettings.load>;

/**
 * The settings from `env` and the flags in `argv` (by default the process's environment and
 * command line), `overrides` winning.
 */
export function loadFraudConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<FraudConfig> = {},
  argv: readonly string[] = env === process.env ? process.argv.slice(2) : [],
): FraudConfig {
  return { ...fraudSettings.load(env, argv), ...overrides };
}
