// `npm run build`: the compiled package in dist/ (ESM, .d.ts, source maps) with the files the code
// reads at run time beside it, where the sources keep them: the inspector's assets, the MongoDB-wire
// server's Java sources (built on first use by `jetsaga dev`), and the reference app's fraud model.
import { spawnSync } from 'node:child_process';
import { chmod, cp, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(root, 'dist');

const assets = ['runtime/http/ui', 'runtime/dev/mongo-java-server', 'services/fraud-agent/model'];
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
for (const file of executables) await chmod(path.join(dist, file), 0o755);
process.stdout.write(`build: dist/ written (${assets.length} asset folders copied)\n`);
