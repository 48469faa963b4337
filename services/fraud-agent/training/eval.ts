/**
 * `npm run fraud:eval`: scores the held-out payments (regenerated from the seed the
 * artifact records) with the shipped model and prints the figures. The last line has a
 * fixed format; a mismatch with the figures recorded at training time is reported too.
 */
import { Scorer, loadArtifact } from '../scorer.ts';
import { generate } from './generator.ts';
import { breakdown, evaluate } from './report.ts';
import { recipe } from './dataset.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const artifact = loadArtifact();
const heldOutRecipe = (artifact.training.heldOut as typeof recipe.heldOut | undefined) ?? recipe.heldOut;
const rows = generate(heldOutRecipe);
say(
  `fraud-eval: ${artifact.version}, ${artifact.model.trees.length} trees, held-out seed ${heldOutRecipe.seed}`,
);
for (const line of breakdown(artifact.model, artifact.threshold, rows)) say(line);

// In-process latency of what the agent runs per payment: features, trees, reasons.
const scorer = new Scorer(artifact);
const sample = rows.slice(0, 2000);
const inputs = sample.map((r) => ({
  facts: r.facts,
  history: {
    customer: rows
      .filter((o) => o.facts.customerId === r.facts.customerId && o.facts.at < r.facts.at)
      .map((o) => ({ ...o.facts, amountUsd: o.facts.amount })),
    otherCustomersOnCard24h: 0,
  },
}));
for (const i of inputs) scorer.score(i.facts, i.history); // warm up the JIT first
const times = inputs.map((i) => scorer.score(i.facts, i.history).inferenceMs);
times.sort((a, b) => a - b);
const q = (p: number) => (times[Math.floor(p * (times.length - 1))]! * 1000).toFixed(0);
say(
  `inference per payment (features + ${artifact.model.trees.length} trees + reasons): p50 ${q(0.5)} us, p99 ${q(0.99)} us`,
);

const figures = evaluate(artifact.model, artifact.version, artifact.threshold, rows);
if (figures.line !== artifact.evaluation.line) {
  say(`fraud-eval: WARNING the artifact recorded different figures: ${artifact.evaluation.line}`);
  process.exitCode = 1;
}
say(figures.line);
