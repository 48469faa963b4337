import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { History, PaymentFacts } from './facts.ts';
import { computeFeatures, describeFeature, type FeatureName, featureNames } from './features.ts';
import { type CompiledModel, compileModel, explainMargin, type GbdtModel, sigmoid } from './gbdt.ts';

/** The shipped model: a versioned JSON artifact written by `npm run fraud:train`. */
export const defaultModelPath = new URL('./model/fraud-model.json', import.meta.url);

const TreeSchema = z.object({
  f: z.array(z.number().int()),
  t: z.array(z.number()),
  l: z.array(z.number().int()),
  r: z.array(z.number().int()),
  v: z.array(z.number()),
});

export const ArtifactSchema = z.object({
  format: z.literal('jetsaga-fraud-gbdt/1'),
  version: z.string().min(1),
  features: z.array(z.string()),
  threshold: z.number().min(0).max(1),
  training: z.record(z.string(), z.unknown()),
  evaluation: z.object({
    auc: z.number(),
    precision: z.number(),
    recall: z.number(),
    threshold: z.number(),
    heldOut: z.number().int(),
    line: z.string(),
  }),
  model: z.object({ base: z.number(), trees: z.array(TreeSchema) }),
});
export type Artifact = z.infer<typeof ArtifactSchema>;

/** The version names the model's content, so the same training always yields the same name. */
export function modelVersion(model: GbdtModel, threshold: number): string {
  const hash = createHash('sha256')
    .update(JSON.stringify({ features: featureNames, threshold, model }))
    .digest('hex');
  return `gbdt-1.${hash.slice(0, 8)}`;
}

export function loadArtifact(path: URL | string = defaultModelPath): Artifact {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(
      `fraud model ${String(path)} cannot be read: ${(err as Error).message}; run npm run fraud:train`,
    );
  }
  const artifact = ArtifactSchema.parse(raw);
  if (artifact.features.join(',') !== featureNames.join(',')) {
    throw new Error(
      `fraud model ${artifact.version} was trained on other features than this code computes; run npm run fraud:train`,
    );
  }
  return artifact;
}

export interface Score {
  score: number;
  flagged: boolean;
  threshold: number;
  /** The top contributing features in words, with their log-odds contribution. */
  reasons: string[];
  modelVersion: string;
  inferenceMs: number;
  features: Record<FeatureName, number>;
}

/** Scores payments in-process: features, trees, and the features that moved the score most. */
export class Scorer {
  readonly version: string;
  readonly threshold: number;
  private readonly model: CompiledModel;
  /** Contributions of the payment being scored (scoring is synchronous, so one array serves all). */
  private readonly byFeature = new Float64Array(featureNames.length);

  constructor(artifact: Artifact, threshold = artifact.threshold) {
    this.model = compileModel(artifact.model);
    this.version = artifact.version;
    this.threshold = threshold;
  }

  score(facts: PaymentFacts, history: History, topReasons = 3): Score {
    const t0 = performance.now();
    const x = computeFeatures(facts, history);
    const byFeature = this.byFeature;
    const score = sigmoid(explainMargin(this.model, x, byFeature).margin);
    const flagged = score >= this.threshold;
    const inferenceMs = performance.now() - t0;
    // A flag is explained by what raised the risk, an approval by what lowered it.
    const ranked = featureNames
      .map((name, i) => ({ name, i, c: byFeature[i]! }))
      .filter((r) => (flagged ? r.c > 0 : r.c < 0))
      .sort((a, b) => (flagged ? b.c - a.c : a.c - b.c) || a.i - b.i)
      .slice(0, topReasons);
    const reasons = ranked.map(
      (r) => `${describeFeature(r.name, x[r.i]!, facts)} (${r.c >= 0 ? '+' : ''}${r.c.toFixed(2)})`,
    );
    const features = Object.fromEntries(featureNames.map((n, i) => [n, x[i]!])) as Record<
      FeatureName,
      number
    >;
    return {
      score,
      flagged,
      threshold: this.threshold,
      reasons,
      modelVersion: this.version,
      inferenceMs,
      features,
    };
  }
}
