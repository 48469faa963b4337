// nats-server for local mode: an explicit path (JETSAGA_NATS_SERVER), a cached build, a recent enough
// nats-server on PATH, or a fresh build with the Go toolchain.
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { type BinaryOptions, buildIntoCache, cacheBinDir, defaultLog } from './cache.ts';
import { binaryVersion, findOnPath, isExecutable, parseVersion, versionAtLeast } from './exec.ts';
import { requireGo, runTool } from './toolchains.ts';

export const NATS_SERVER_VERSION = 'v2.15.2';
/** Debian/Ubuntu ship nats-server 2.9, whose JetStream lacks features the runtime relies on. */
const MIN_PATH_NATS_SERVER = [2, 11, 0];

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
  return buildIntoCache({ label, target: cached, log, duration: '~2 min' }, async (outDir) => {
    // GOBIN points at a private directory so the binary never lands in the user's ~/go/bin, and the
    // cwd is that directory so an enclosing go.mod / go.work cannot interfere with `go install pkg@v`.
    await runTool(go, ['install', `github.com/nats-io/nats-server/v2@${NATS_SERVER_VERSION}`], {
      cwd: outDir,
      env: { ...env, GOBIN: outDir, CGO_ENABLED: '0' },
      label,
    });
    const bin = path.join(outDir, 'nats-server');
    await chmod(bin, 0o755);
    return bin;
  });
}
