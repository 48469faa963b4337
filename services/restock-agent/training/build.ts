/**
 * The whole training as one function: the tuning shops, the two searches, the evaluation on the
 * held-out shop and the artifact's text (prettier-formatted JSON, grid values and rounded figures
 * only, no timestamps), so the same code always yields the same bytes.
 */
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import { type Artifact, defaultModelPath, ModelParamsSchema, modelVersion } from '../artifact.ts';
import { evaluateShop, type ShopFigures } from '../evaluation.ts';
import type { ModelParams } from '../model.ts';
import { generateShop } from '../shop.ts';
import { recipe } from './recipe.ts';
import { tuneService, tuneSmoothing } from './tune.ts';

export async function buildArtifact(
  say: (line: string) => void = () => {},
): Promise<{ artifact: Artifact; json: string; figures: ShopFigures }> {
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
    // The repository's prettier settings, wherever the file is written.
    ...(await prettier.resolveConfig(fileURLToPath(defaultModelPath))),
    parser: 'json',
  });
  return { artifact, json, figures };
}
