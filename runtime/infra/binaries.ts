// Resolves the server binaries for local mode: an explicit path, a cached build, a suitable binary on
// PATH, or a fresh build with the Go toolchain. Builds are cached outside the repo so that every
// checkout and worktree on a machine shares them and `git clean` does not throw them away.
import { chmod, mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOnPath, isExecutable, parseVersion, run, tailLines, versionAtLeast } from './exec.ts';
import { withDirLock } from './lock.ts';

export const NATS_SERVER_VERSION = 'v2.15.2';
/** v1.24.1 is not on the Go module proxy used here; main.go in ./ferretdb pins v1.24.0. */
export const FERRETDB_VERSION = 'v1.24.0';
/** Debian/Ubuntu ship nats-server 2.9, whose JetStream lacks features the runtime relies on. */
const MIN_PATH_NATS_SERVER = [2, 11, 0];
const MIN_GO = [1, 22, 0];

export interface BinaryOptions {
  env?: NodeJS.ProcessEnv;
  /** Progress lines (the first build takes minutes); defaults to stderr. */
  log?: (line: string) => void;
}

export interface MongoWireServer {
  kind: 'mongod' | 'ferretdb';
  path: string;
}

export function defaultLog(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function cacheBinDir(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.JETSAGA_CACHE_DIR || path.join(os.homedir(), '.cache', 'jetsaga');
  // Absolute, because it becomes GOBIN and go rejects a relative GOBIN.
  return path.resolve(root, 'bin');
}

export async function ensureNatsServer(opts: BinaryOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? defaultLog;

  const explicit = env.JETSAGA_NATS_SERVER;
  if (explicit) {
    if (await isExecutable(explicit)) return explicit;
    throw new Error(`jetsaga: JETSAGA_NATS_SERVER=${explicit} is not an executable file`);
  }

  const binDir = cacheBinDir(env);
  const cached = path.join(binDir, `nats-server-${NATS_SERVER_VERSION}`);
  if (await isExecutable(cached)) return cached;

  const onPath = await findOnPath('nats-server', env);
  if (onPath) {
    const version = await binaryVersion(onPath);
    const parsed = version ? parseVersion(version) : undefined;
    if (parsed && versionAtLeast(parsed, MIN_PATH_NATS_SERVER)) return onPath;
    log(`jetsaga: ignoring ${onPath} (${version ?? 'unknown version'}; need >= 2.11)`);
  }

  const label = `nats-server ${NATS_SERVER_VERSION}`;
  const go = await requireGo(
    env,
    label,
    'or set NATS_URL to an existing NATS server with JetStream enabled, or JETSAGA_NATS_SERVER to a nats-server (>= 2.11) binary',
  );
  return buildIntoCache({ label, target: cached, log }, async (outDir) => {
    // GOBIN points at a private directory so the binary never lands in the user's ~/go/bin, and the
    // cwd is that directory so an enclosing go.mod / go.work cannot interfere with `go install pkg@v`.
    await runGo(go, ['install', `github.com/nats-io/nats-server/v2@${NATS_SERVER_VERSION}`], {
      cwd: outDir,
      env: { ...env, GOBIN: outDir, CGO_ENABLED: '0' },
      label,
    });
    return path.join(outDir, 'nats-server');
  });
}

export async function ensureMongoWireServer(opts: BinaryOptions = {}): Promise<MongoWireServer> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? defaultLog;

  const mongod = await findOnPath('mongod', env);
  if (mongod) return { kind: 'mongod', path: mongod };

  const binDir = cacheBinDir(env);
  const cached = path.join(binDir, `jetsaga-ferretdb-${FERRETDB_VERSION}`);
  if (await isExecutable(cached)) return { kind: 'ferretdb', path: cached };

  const label = `ferretdb ${FERRETDB_VERSION} (embedded FerretDB, SQLite backend)`;
  const go = await requireGo(
    env,
    label,
    'or install MongoDB so that `mongod` is on PATH, or set MONGO_URL to an existing MongoDB',
  );
  const built = await buildIntoCache({ label, target: cached, log }, async (outDir) => {
    const out = path.join(outDir, 'jetsaga-ferretdb');
    // -buildvcs=false: the source sits inside the user's git checkout, and VCS stamping fails when git
    // is missing or the checkout is owned by another user. CGO is off: the SQLite driver is pure Go.
    await runGo(go, ['build', '-trimpath', '-buildvcs=false', '-o', out, '.'], {
      cwd: ferretdbSourceDir(),
      env: { ...env, CGO_ENABLED: '0' },
      label,
    });
    return out;
  });
  return { kind: 'ferretdb', path: built };
}

/**
 * The first "vX.Y.Z" printed by `<bin> --version` ("nats-server: v2.15.2", "db version v8.0.4"),
 * or undefined when the binary cannot say.
 */
export async function binaryVersion(bin: string): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await run(bin, ['--version']);
    return /v\d+\.\d+\.\d+\S*/.exec(`${stdout}\n${stderr}`)?.[0];
  } catch {
    return undefined;
  }
}

function ferretdbSourceDir(): string {
  return fileURLToPath(new URL('./ferretdb', import.meta.url));
}

/**
 * Builds under a lock and publishes with rename(2): readers see either no file or a complete binary,
 * never a half-written one. The build directory is inside the cache dir so the rename stays on one
 * filesystem (and therefore atomic).
 */
async function buildIntoCache(
  spec: { label: string; target: string; log: (line: string) => void },
  build: (outDir: string) => Promise<string>,
): Promise<string> {
  const { label, target, log } = spec;
  const binDir = path.dirname(target);
  const name = path.basename(target);
  return withDirLock(
    path.join(binDir, `.${name}.lock`),
    async () => {
      if (await isExecutable(target)) return target; // another process built it while we waited
      log(`jetsaga: building ${label} (first run only, ~2 min)...`);
      const outDir = await mkdtemp(path.join(binDir, `.${name}.build-`));
      try {
        const built = await build(outDir);
        await chmod(built, 0o755);
        await rename(built, target);
      } finally {
        await rm(outDir, { recursive: true, force: true });
      }
      log(`jetsaga: built ${label}`);
      return target;
    },
    { onWait: () => log(`jetsaga: waiting for another process to finish building ${label}...`) },
  );
}

async function requireGo(env: NodeJS.ProcessEnv, label: string, alternatives: string): Promise<string> {
  const fix = `Fix: install Go >= 1.22 (https://go.dev/dl/) and retry, ${alternatives}.`;
  const go = await findOnPath('go', env);
  if (!go) throw new Error(`jetsaga: cannot build ${label}: the Go toolchain ('go') is not on PATH. ${fix}`);
  const { stdout } = await run(go, ['version'], { env });
  const version = parseVersion(stdout); // "go version go1.26.8 linux/amd64"
  if (!version || !versionAtLeast(version, MIN_GO)) {
    throw new Error(
      `jetsaga: cannot build ${label}: ${stdout.trim() || 'unknown Go version'} is too old. ${fix}`,
    );
  }
  return go;
}

async function runGo(
  go: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; label: string },
): Promise<void> {
  const result = await run(go, args, { cwd: opts.cwd, env: opts.env });
  if (result.code !== 0) {
    throw new Error(
      `jetsaga: building ${opts.label} failed (go ${args.join(' ')}, exit code ${result.code}):\n` +
        tailLines(`${result.stdout}\n${result.stderr}`),
    );
  }
}
