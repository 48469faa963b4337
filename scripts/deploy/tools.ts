// The Go tools deploy:check runs, built from the Go module proxy into the same cache as the local servers
// (~/.cache/jetsaga/bin, or $JETSAGA_CACHE_DIR/bin): kustomize at a pinned version, and compose-check, a
// small main around compose-go (the loader of `docker compose`). Builds happen once, under a lock, and are
// published with rename(2) so a reader never runs a half-written binary.
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheBinDir } from '../../runtime/dev/binaries.ts';
import {
  findOnPath,
  isExecutable,
  parseVersion,
  run,
  tailLines,
  versionAtLeast,
} from '../../runtime/dev/exec.ts';
import { withDirLock } from '../../runtime/dev/lock.ts';

/** kustomize v5.8.1 needs Go >= 1.24 to build (v5.8.3 needs 1.27). */
export const KUSTOMIZE_VERSION = 'v5.8.1';
const MIN_GO = [1, 24, 0];
const composeCheckDir = fileURLToPath(new URL('./compose-check', import.meta.url));

export interface ToolOptions {
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/** `JETSAGA_KUSTOMIZE` (an explicit binary), else the cached build, else a fresh `go install`. */
export async function ensureKustomize(opts: ToolOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  if (env.JETSAGA_KUSTOMIZE) {
    if (await isExecutable(env.JETSAGA_KUSTOMIZE)) return env.JETSAGA_KUSTOMIZE;
    throw new Error(`deploy:check: JETSAGA_KUSTOMIZE=${env.JETSAGA_KUSTOMIZE} is not an executable file`);
  }
  const target = path.join(cacheBinDir(env), `kustomize-${KUSTOMIZE_VERSION}`);
  return buildOnce(target, `kustomize ${KUSTOMIZE_VERSION}`, opts, async (go, outDir) => {
    await goRun(go, ['install', `sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}`], outDir, env, {
      GOBIN: outDir,
    });
    return path.join(outDir, 'kustomize');
  });
}

/** compose-check, rebuilt whenever its sources (main.go, go.mod, go.sum) change. */
export async function ensureComposeCheck(opts: ToolOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'main.go'])
    hash.update(await readFile(path.join(composeCheckDir, file)));
  const target = path.join(cacheBinDir(env), `compose-check-${hash.digest('hex').slice(0, 12)}`);
  return buildOnce(target, 'compose-check (compose-go)', opts, async (go, outDir) => {
    const bin = path.join(outDir, 'compose-check');
    await goRun(go, ['build', '-mod=readonly', '-o', bin, '.'], composeCheckDir, env, {});
    return bin;
  });
}

async function buildOnce(
  target: string,
  label: string,
  opts: ToolOptions,
  build: (go: string, outDir: string) => Promise<string>,
): Promise<string> {
  if (await isExecutable(target)) return target;
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const go = await requireGo(env, label);
  const dir = path.dirname(target);
  const name = path.basename(target);
  return withDirLock(path.join(dir, `.${name}.lock`), async () => {
    if (await isExecutable(target)) return target; // built by another process while we waited
    log(`deploy:check: building ${label} with Go (first run only, under a minute)...`);
    const outDir = await mkdtemp(path.join(dir, `.${name}.build-`));
    try {
      const bin = await build(go, outDir);
      await chmod(bin, 0o755);
      await rename(bin, target);
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
    return target;
  });
}

async function requireGo(env: NodeJS.ProcessEnv, label: string): Promise<string> {
  const fix = `Fix: install Go >= ${MIN_GO.slice(0, 2).join('.')} (https://go.dev/dl/) and retry.`;
  const go = await findOnPath('go', env);
  if (!go) throw new Error(`deploy:check: cannot build ${label}: 'go' is not on PATH. ${fix}`);
  const { stdout } = await run(go, ['version'], { env });
  const version = parseVersion(stdout);
  if (!version || !versionAtLeast(version, MIN_GO))
    throw new Error(`deploy:check: cannot build ${label}: ${stdout.trim() || 'unknown Go version'}. ${fix}`);
  return go;
}

async function goRun(
  go: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  extra: Record<string, string>,
): Promise<void> {
  // GOTOOLCHAIN=local: never download another toolchain; CGO off: a static binary, no C compiler needed.
  const result = await run(go, args, {
    cwd,
    env: { ...env, ...extra, CGO_ENABLED: '0', GOTOOLCHAIN: 'local' },
  });
  if (result.code !== 0)
    throw new Error(
      `deploy:check: go ${args.join(' ')} failed:\n${tailLines(`${result.stdout}\n${result.stderr}`)}`,
    );
}
