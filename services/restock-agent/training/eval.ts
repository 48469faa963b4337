/**
 * `npm run restock:eval [-- --seed <n>]`: generates the shop for the seed (by default the one the
 * artifact's figures are for), fits the shipped model on its training period and replays the
 * held-out period day by day for the agent and the two baselines. The last line has a fixed format;
 * the exit code is 0 when every target holds, 1 when one does not.
 */
import { loadArtifact } from '../artifact.ts';
import { evaluateShop, type PolicyFigures } from '../evaluation.ts';
import { generateShop } from '../shop.ts';
import { recipe } from './recipe.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const args = process.argv.slice(2);
const seedIndex = args.indexOf('--seed');
const artifact = loadArtifact();
const seed = seedIndex >= 0 ? Number(args[seedIndex + 1]) : artifact.evaluation.seed;
if (!Number.isInteger(seed)) throw new Error(`--seed wants an integer, got ${args[seedIndex + 1]}`);

const t0 = performance.now();
const shop = generateShop({ seed, ...recipe.shop });
const intermittent = shop.skus.filter((s) => s.kind === 'intermittent').length;
say(
  `restock-eval: ${artifact.version}, shop seed ${seed}: ${shop.skus.length} skus (${intermittent} intermittent), ${shop.trainDays} training days, ${shop.testDays} held-out days`,
);
const f = evaluateShop(shop, artifact.model, artifact.version);
const row = (name: string, p: PolicyFigures) =>
  say(
    `  ${name.padEnd(16)} fill-rate ${p.fillRate.toFixed(4)}  avg-stock ${p.avgStock.toFixed(1).padStart(8)}  stockout-days ${String(p.stockoutDays).padStart(4)}`,
  );
row('agent', f.agent);
row('fixed', f.fixed);
row('seasonal-naive', f.seasonalNaive);
say(
  `  best baseline (higher fill rate): ${f.best}; targets: ${Object.entries(f.targetsMet)
    .map(([k, ok]) => `${k} ${ok ? 'met' : 'MISSED'}`)
    .join(', ')} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
);
if (seed === artifact.evaluation.seed && f.line !== artifact.evaluation.line) {
  say(`restock-eval: WARNING the artifact recorded different figures: ${artifact.evaluation.line}`);
  process.exitCode = 1;
}
if (!f.ok) process.exitCode = 1;
say(f.line);
