// `npm run build`: the compiled package in dist/ (ESM, .d.ts, source maps) with the files the code
// reads at run time beside it, where the sources keep them: the inspector's assets, the MongoDB-wire
// server's Java sources (built on first use by `jetsaga dev`), and the reference app's fraud and restock
// models.
import { spawnSync } from 'node:child_process';
import { chmod, cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(root, 'dist');

const assets = [
  'runtime/http/ui',
  'runtime/dev/mongo-java-server',
  'services/fraud-agent/model',
  'services/restock-agent/model',
];
const executables = ['runtime/bin.js', 'bin/jetsaga.js'];

await rm(dist, { recursive: true, force: true });
const tsc = spawnSync(
  process.execPath,
  [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
if (tsc.status !== 0) {
  process.stderr.write(`build: tsc failed (exit ${tsc.status ?? tsc.signal})\n`);
  process.exit(1);
}
for (const dir of assets) {
  await cp(path.join(root, dir), path.join(dist, dir), {
    recursive: true,
    // A local Maven build's output is a cache, not a source.
    filter: (src) => !src.split(path.sep).includes('target'),
  });
}
// tsc rewrites `./x.ts` to `./x.js` in the JavaScript it emits but not in declarations: users on a
// TypeScript that does not resolve `.ts` specifiers inside a package's .d.ts would not find the types.
const tsSpecifier = /((?:from|import\()\s*['"]\.{1,2}\/[^'"]*)\.ts(['"])/g;
for (const entry of await readdir(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
  const file = path.join(entry.parentPath, entry.name);
  const text = await readFile(file, 'utf8');
  const rewritten = text.replace(tsSpecifier, '$1.js$2');
  if (rewritten !== text) await writeFile(file, rewritten);
}
for (const file of executables) await chmod(path.join(dist, file), 0o755);
process.stdout.write(`build: dist/ written (${assets.length} asset folders copied)\n`);
