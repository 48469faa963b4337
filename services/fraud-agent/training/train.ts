/**
 * `npm run fraud:train`: generates the labeled synthetic payments, trains the trees,
 * picks the threshold on validation customers, evaluates on the held-out set and writes
 * the versioned artifact. Seeded and deterministic: a rerun writes the same file.
 * `--out <file>` writes elsewhere (the shipped artifact is the default).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import { chooseThreshold } from '../evaluation.ts';
import { featureNames } from '../features.ts';
import { predict, trainGbdt } from '../gbdt.ts';
import { type Artifact, defaultModelPath, modelVersion } from '../scorer.ts';
import { heldOutRows, recipe, splitByCustomer, toDataset, trainingRows } from './dataset.ts';
import { breakdown, evaluate } from './report.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 ? args[outIndex + 1]! : fileURLToPath(defaultModelPath);

const t0 = performance.now();
const rows = trainingRows();
const [fitRows, validRows] = splitByCustomer(rows, recipe.validShare);
say(`fraud-train: ${rows.length} payments generated (${fitRows.length} fit, ${validRows.length} validation)`);
const fit = toDataset(fitRows);
const valid = toDataset(validRows);
const result = trainGbdt(fit, valid, recipe.gbdt, (round, loss) => {
  if (round % 25 === 0) say(`  round ${round}: validation log loss ${loss.toFixed(5)}`);
});
say(`fraud-train: ${result.rounds} trees, validation log loss ${result.validLogLoss.toFixed(5)}`);
const threshold = chooseThreshold(
  validRows.map((r) => predict(result.model, r.x)),
  validRows.map((r) => r.label),
  recipe.minPrecision,
);
const version = modelVersion(result.model, threshold);
const heldOut = heldOutRows();
for (const line of breakdown(result.model, threshold, heldOut)) say(line);
const figures = evaluate(result.model, version, threshold, heldOut);
const artifact: Artifact = {
  format: 'jetsaga-fraud-gbdt/1',
  version,
  features: [...featureNames],
  threshold,
  training: { ...recipe, rounds: result.rounds, validLogLoss: Number(result.validLogLoss.toFixed(6)) },
  evaluation: figures,
  model: result.model,
};
const json = await prettier.format(JSON.stringify(artifact), {
  ...(await prettier.resolveConfig(out)),
  parser: 'json',
});
writeFileSync(out, json);
say(`fraud-train: wrote ${out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
say(figures.line);
