/**
 * `npm run restock:train`: generates the tuning shops, picks the smoothing constants and the service
 * quantiles on their training periods, evaluates on the held-out period of a shop it never saw and
 * writes the versioned artifact. Seeded and deterministic: a rerun writes the same file.
 * `--out <file>` writes elsewhere (the shipped artifact is the default).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import { type Artifact, defaultModelPath, ModelParamsSchema, modelVersion } from '../artifact.ts';
import { evaluateShop } from '../evaluation.ts';
import type { ModelParams } from '../model.ts';
import { generateShop } from '../shop.ts';
import { recipe } from './recipe.ts';
import { tuneService, tuneSmoothing } from './tune.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 ? args[outIndex + 1]! : fileURLToPath(defaultModelPath);

const t0 = performance.now();
const shops = recipe.tuneSeeds.map((seed) => generateShop({ seed, ...recipe.shop }));
say(
  `restock-train: ${shops.length} tuning shops (seeds ${recipe.tuneSeeds.join(', ')}), ${recipe.shop.skus} skus, training periods of ${recipe.shop.trainDays} days`,
);
const smoothing = tuneSmoothing(shops, recipe.fixed);
say(
  `restock-train: smoothing ${JSON.stringify(smoothing.smooth)}, intermittent ${JSON.stringify(smoothing.intermittent)}, lead-time error vs seasonal naive ${smoothing.relativeError.smooth} (smooth), ${smoothing.relativeError.intermittent} (intermittent)`,
);
const partial = { ...recipe.fixed, smooth: smoothing.smooth, intermittent: smoothing.intermittent };
const service = tuneService(shops, partial, say);
say(`restock-train: service quantiles chosen, worst margin ${service.worstMargin} on the training replays`);
// Written in the schema's key order, the order the artifact is read back in.
const model: ModelParams = ModelParamsSchema.parse({ ...partial, serviceQuantile: service.serviceQuantile });
const version = modelVersion(model);
const figures = evaluateShop(generateShop({ seed: recipe.evalSeed, ...recipe.shop }), model, version);
const artifact: Artifact = {
  format: 'jetsaga-restock/1',
  version,
  model,
  training: {
    tuneSeeds: [...recipe.tuneSeeds],
    shop: recipe.shop,
    innerTestDays: recipe.innerTestDays,
    relativeError: smoothing.relativeError,
    serviceWorstMargin: service.worstMargin,
  },
  evaluation: { seed: recipe.evalSeed, line: figures.line },
};
const json = await prettier.format(JSON.stringify(artifact), {
  ...(await prettier.resolveConfig(out)),
  parser: 'json',
});
writeFileSync(out, json);
say(`restock-train: wrote ${out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
say(figures.line);
