import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ModelParams } from './model.ts';

/** The shipped model: a versioned JSON artifact written by `npm run restock:train`. */
export const defaultModelPath = new URL('./model/restock-model.json', import.meta.url);

const Band = z.object({ below: z.number(), quantile: z.number().min(0).max(1) });

export const ModelParamsSchema = z.object({
  smooth: z.object({
    alpha: z.number(),
    beta: z.number(),
    gamma: z.number(),
    phi: z.number(),
    liftAlpha: z.number(),
  }),
  intermittent: z.object({ alpha: z.number(), liftAlpha: z.number() }),
  intermittentAdi: z.number(),
  serviceQuantile: z.object({
    intermittent: z.number().min(0).max(1),
    smooth: z.array(Band),
    above: z.number().min(0).max(1),
  }),
  errorWindow: z.number().int().positive(),
  reviewDays: z.number().int().positive(),
}) satisfies z.ZodType<ModelParams>;

export const ArtifactSchema = z.object({
  format: z.literal('jetsaga-restock/1'),
  version: z.string().min(1),
  model: ModelParamsSchema,
  training: z.record(z.string(), z.unknown()),
  evaluation: z.object({ seed: z.number().int(), line: z.string() }),
});
export type Artifact = z.infer<typeof ArtifactSchema>;

/** JSON with every object's keys sorted, so the same content always reads the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The version names the model's content, so the same training always yields the same name. */
export function modelVersion(model: ModelParams): string {
  const hash = createHash('sha256').update(canonicalJson(model)).digest('hex');
  return `hw-sba-1.${hash.slice(0, 8)}`;
}

export function loadArtifact(path: URL | string = defaultModelPath): Artifact {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(
      `restock model ${String(path)} cannot be read: ${(err as Error).message}; run npm run restock:train`,
    );
  }
  const artifact = ArtifactSchema.parse(raw);
  if (artifact.version !== modelVersion(artifact.model)) {
    throw new Error(`restock model ${artifact.version} does not match its parameters; run npm run restock:train`);
  }
  return artifact;
}
