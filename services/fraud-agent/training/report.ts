import { auc, confusionAt } from '../evaluation.ts';
import type { GbdtModel } from '../gbdt.ts';
import { predict } from '../gbdt.ts';
import type { LabeledPayment } from './generator.ts';

export interface Figures {
  auc: number;
  precision: number;
  recall: number;
  threshold: number;
  heldOut: number;
  line: string;
}

/** Scores the held-out payments and states the figures; the last line's format is fixed. */
export function evaluate(
  model: GbdtModel,
  version: string,
  threshold: number,
  rows: LabeledPayment[],
): Figures {
  const scores = rows.map((r) => predict(model, r.x));
  const labels = rows.map((r) => r.label);
  const c = confusionAt(scores, labels, threshold);
  const figures = {
    auc: Number(auc(scores, labels).toFixed(3)),
    precision: Number(c.precision.toFixed(3)),
    recall: Number(c.recall.toFixed(3)),
    threshold,
    heldOut: rows.length,
  };
  return {
    ...figures,
    line: `fraud-eval: model ${version} auc ${figures.auc.toFixed(3)} precision ${figures.precision.toFixed(3)} recall ${figures.recall.toFixed(3)} at threshold ${threshold} on ${rows.length} held-out`,
  };
}

/** Recall per fraud pattern and the false-positive rate, for the humans reading the output. */
export function breakdown(model: GbdtModel, threshold: number, rows: LabeledPayment[]): string[] {
  const lines: string[] = [];
  const groups = new Map<string, { n: number; flagged: number }>();
  for (const r of rows) {
    const key = r.label ? r.pattern : r.pattern === 'legit' ? 'legit' : `${r.pattern} (labeled legit)`;
    const g = groups.get(key) ?? { n: 0, flagged: 0 };
    g.n++;
    if (predict(model, r.x) >= threshold) g.flagged++;
    groups.set(key, g);
  }
  const fraud = rows.filter((r) => r.label).length;
  lines.push(
    `payments ${rows.length}, labeled fraud ${fraud} (${((100 * fraud) / rows.length).toFixed(2)}%)`,
  );
  for (const [k, g] of [...groups].sort()) {
    lines.push(
      `  ${k.padEnd(34)} ${String(g.n).padStart(7)}  flagged ${((100 * g.flagged) / g.n).toFixed(2)}%`,
    );
  }
  return lines;
}
