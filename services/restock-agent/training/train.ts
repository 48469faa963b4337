/**
 * `npm run restock:train`: generates the tuning shops, picks the smoothing constants and the service
 * quantiles on their training periods, evaluates on the held-out period of a shop it never saw and
 * writes the versioned artifact. Seeded and deterministic: a rerun writes the same file.
 * `--out <file>` writes elsewhere (the shipped artifact is the default).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultModelPath } from '../artifact.ts';
import { buildArtifact } from './build.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 ? args[outIndex + 1]! : fileURLToPath(defaultModelPath);

const t0 = performance.now();
const { json, figures } = await buildArtifact(say);
writeFileSync(out, json);
say(`restock-train: wrote ${out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
say(figures.line);
