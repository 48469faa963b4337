import { createHash } from 'node:crypto';
import { featureNames } from '../features.ts';
import type { Dataset, TrainOptions } from '../gbdt.ts';
import { generate, type LabeledPayment } from './generator.ts';

/** Everything that determines the shipped model; `fraud:train` and `fraud:eval` read it from here. */
export const recipe = {
  train: { seed: 20260101, payments: 150_000 },
  heldOut: { seed: 20260202, payments: 40_000 },
  /** Share of training customers kept aside to stop boosting and to pick the threshold. */
  validShare: 0.2,
  /** The threshold is the best recall at this precision on the validation customers. */
  minPrecision: 0.94,
  gbdt: {
    rounds: 400,
    learningRate: 0.1,
    maxDepth: 5,
    minChildWeight: 1,
    minLeafRows: 20,
    lambda: 1,
    maxBins: 64,
    patience: 30,
  } satisfies TrainOptions,
} as const;

export function toDataset(rows: LabeledPayment[]): Dataset {
  const columns = featureNames.map(() => new Float64Array(rows.length));
  const labels = new Uint8Array(rows.length);
  rows.forEach((r, i) => {
    for (let f = 0; f < featureNames.length; f++) columns[f]![i] = r.x[f]!;
    labels[i] = r.label;
  });
  return { columns, labels };
}

/** Splits by customer, so no customer's history is on both sides. */
export function splitByCustomer(rows: LabeledPayment[], share: number): [LabeledPayment[], LabeledPayment[]] {
  const a: LabeledPayment[] = [];
  const b: LabeledPayment[] = [];
  for (const r of rows) {
    const h = createHash('sha256').update(r.facts.customerId).digest().readUInt32BE(0) / 2 ** 32;
    (h < share ? b : a).push(r);
  }
  return [a, b];
}

export const heldOutRows = () => generate(recipe.heldOut);
export const trainingRows = () => generate(recipe.train);
