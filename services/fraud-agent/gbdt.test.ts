import { describe, expect, it } from 'vitest';
import { auc, chooseThreshold, confusionAt } from './evaluation.ts';
import {
  compileModel,
  type Dataset,
  explainMargin,
  type GbdtModel,
  predict,
  predictMargin,
  trainGbdt,
} from './gbdt.ts';
import { computeFeatures } from './features.ts';
import { generate } from './training/generator.ts';
import { Random } from '../random.ts';
import { loadArtifact } from './scorer.ts';

/** y = 1 mostly when x0 > 0.7 and x1 < 0.3; x2 is noise. */
function toy(seed: number, n: number): Dataset {
  const r = new Random(seed);
  const columns = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (const c of columns) c[i] = Math.round(r.next() * 1000) / 1000;
    labels[i] = (columns[0]![i]! > 0.7 && columns[1]![i]! < 0.3) !== r.chance(0.005) ? 1 : 0;
  }
  return { columns, labels };
}
const opts = {
  rounds: 60,
  learningRate: 0.2,
  maxDepth: 3,
  minChildWeight: 1,
  minLeafRows: 5,
  lambda: 1,
  maxBins: 32,
  patience: 10,
};
const row = (d: Dataset, i: number) => d.columns.map((c) => c[i]!);

/** The explanation walked on the model's JSON shape, as the scorer did before the packed model. */
function referenceContributions(model: GbdtModel, x: ArrayLike<number>, features: number) {
  const byFeature = new Float64Array(features);
  let bias = model.base;
  for (const t of model.trees) {
    let n = 0;
    bias += t.v[0]!;
    while (t.f[n]! >= 0) {
      const next = x[t.f[n]!]! <= t.t[n]! ? t.l[n]! : t.r[n]!;
      byFeature[t.f[n]!]! += t.v[next]! - t.v[n]!;
      n = next;
    }
  }
  return { bias, byFeature };
}

describe('gradient-boosted trees', () => {
  it('learn an interaction, deterministically', () => {
    const a = trainGbdt(toy(1, 4000), toy(2, 1000), opts);
    const b = trainGbdt(toy(1, 4000), toy(2, 1000), opts);
    expect(JSON.stringify(a.model)).toBe(JSON.stringify(b.model));
    const test = toy(3, 2000);
    const scores = Array.from({ length: 2000 }, (_, i) => predict(a.model, row(test, i)));
    expect(auc(scores, test.labels)).toBeGreaterThan(0.9);
  });

  it('explain each score exactly: bias plus contributions is the margin', () => {
    const { model } = trainGbdt(toy(1, 3000), toy(2, 500), opts);
    const x = [0.9, 0.1, 0.5];
    const byFeature = new Float64Array(3);
    const { bias } = explainMargin(compileModel(model), x, byFeature);
    expect(bias + byFeature.reduce((s, c) => s + c, 0)).toBeCloseTo(predictMargin(model, x), 9);
    // The signal features carry the score, the noise feature little.
    expect(byFeature[0]!).toBeGreaterThan(Math.abs(byFeature[2]!));
    expect(byFeature[1]!).toBeGreaterThan(Math.abs(byFeature[2]!));
  });

  it('serve from the packed model the same margins and contributions, to the bit', () => {
    const toyModel = trainGbdt(toy(1, 3000), toy(2, 500), opts).model;
    const toyRows = toy(5, 500);
    const shipped = loadArtifact().model;
    const cases = [
      { model: toyModel, rows: Array.from({ length: 500 }, (_, i) => row(toyRows, i)) },
      { model: shipped, rows: generate({ seed: 11, payments: 2000 }).map((r) => Array.from(r.x)) },
    ];
    for (const { model, rows } of cases) {
      const packed = compileModel(model);
      const features = rows[0]!.length;
      const byFeature = new Float64Array(features);
      for (const x of rows) {
        const { margin, bias } = explainMargin(packed, x, byFeature);
        const reference = referenceContributions(model, x, features);
        expect(margin).toBe(predictMargin(model, x));
        expect(bias).toBe(reference.bias);
        expect(Array.from(byFeature)).toEqual(Array.from(reference.byFeature));
      }
    }
  });
});

describe('evaluation', () => {
  it('AUC, confusion and the threshold choice', () => {
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75);
    expect(auc([0.5, 0.5], [0, 1])).toBeCloseTo(0.5);
    expect(confusionAt([0.2, 0.6, 0.9], [0, 1, 0], 0.5)).toMatchObject({
      tp: 1,
      fp: 1,
      precision: 0.5,
      recall: 1,
    });
    expect(chooseThreshold([0.1, 0.2, 0.7, 0.9], [0, 0, 1, 1], 0.9)).toBeGreaterThan(0.2);
  });
});

describe('synthetic payments', () => {
  it('are seeded, with a realistic base rate, and features come from the shared code', () => {
    const a = generate({ seed: 7, payments: 4000 });
    const b = generate({ seed: 7, payments: 4000 });
    expect(a.map((r) => r.facts.paymentId)).toEqual(b.map((r) => r.facts.paymentId));
    const rate = a.filter((r) => r.label).length / a.length;
    expect(rate).toBeGreaterThan(0.01);
    expect(rate).toBeLessThan(0.03);
    const patterns = new Set(a.filter((r) => r.label).map((r) => r.pattern));
    for (const p of ['account-takeover', 'card-testing', 'high-value-first']) expect(patterns).toContain(p);
    // Every row's features are what the agent would compute from the same facts.
    const sample = a[a.length - 1]!;
    expect(sample.x).toHaveLength(
      computeFeatures(sample.facts, { customer: [], otherCustomersOnCard24h: 0 }).length,
    );
  });
});
