// The Python environment of services/shipping-py: a virtual environment in the cache
// (`$JETSAGA_CACHE_DIR/python-venv`, by default ~/.cache/jetsaga/python-venv) with the pinned
// packages of services/shipping-py/requirements.txt, made once. `tsx scripts/python-env.ts` makes it
// (or finds it made) and prints its python's path; tests call `ensurePythonEnv()`.
//
// Idempotent: the venv holds a stamp with the SHA-256 of the requirements it was made with; the same
// stamp means nothing to do. A venv without it (a run killed halfway) or with another one (the pins
// changed) is made again, beside the old one, then renamed over it, so a half-made venv is never used.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const requirementsFile = path.join(root, 'services/shipping-py/requirements.txt');

export function pythonEnvDir(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.JETSAGA_CACHE_DIR || path.join(os.homedir(), '.cache', 'jetsaga');
  return path.join(cache, 'python-venv');
}

/** The system's python3 (PYTHON3 wins), or null when there is none. */
export function findPython3(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidate = env.PYTHON3 || 'python3';
  const r = spawnSync(candidate, ['-c', 'import sys, venv; print(sys.version_info >= (3, 9))'], {
    encoding: 'utf8',
  });
  return r.status === 0 && r.stdout.trim() === 'True' ? candidate : null;
}

const venvPython = (dir: string) =>
  process.platform === 'win32' ? path.join(dir, 'Scripts', 'python.exe') : path.join(dir, 'bin', 'python');

function run(cmd: string, args: string[], log: (line: string) => void): void {
  log(`python-env: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0)
    throw new Error(
      `python-env: ${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal}):\n${r.stderr || r.stdout}`,
    );
}

/**
 * The venv's python, made first when needed. Null when no python3 (3.9+) is installed, for a caller
 * that skips; any other failure (pip cannot reach PyPI, a pin that does not exist) throws.
 */
export async function ensurePythonEnv(
  opts: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): Promise<string | null> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const python3 = findPython3(env);
  if (!python3) return null;
  const dir = pythonEnvDir(env);
  const requirements = await readFile(requirementsFile, 'utf8');
  const stamp = createHash('sha256').update(requirements).digest('hex');
  const stampFile = path.join(dir, '.jetsaga-requirements.sha256');
  const ready = async (d: string) =>
    existsSync(venvPython(d)) &&
    (await readFile(path.join(d, path.basename(stampFile)), 'utf8').catch(() => '')) === stamp;
  if (await ready(dir)) return venvPython(dir);

  const fresh = `${dir}.tmp-${process.pid}`;
  await rm(fresh, { recursive: true, force: true });
  try {
    run(python3, ['-m', 'venv', fresh], log);
    run(
      venvPython(fresh),
      ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-q', '-r', requirementsFile],
      log,
    );
    await writeFile(path.join(fresh, path.basename(stampFile)), stamp);
    // Another process may have finished one meanwhile: either is as good.
    if (await ready(dir)) {
      await rm(fresh, { recursive: true, force: true });
      return venvPython(dir);
    }
    await rm(dir, { recursive: true, force: true });
    await rename(fresh, dir);
  } catch (err) {
    await rm(fresh, { recursive: true, force: true });
    throw err;
  }
  // A venv's scripts name its directory; the interpreter itself does not care where it lives, and
  // `python -m` is how it is run here, so the rename is harmless.
  return venvPython(dir);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const python = await ensurePythonEnv({ log: (line) => process.stderr.write(`${line}\n`) });
  if (!python) {
    process.stderr.write('python-env: no python3 (3.9 or later) found; set PYTHON3 or install it\n');
    process.exit(1);
  }
  process.stdout.write(`${python}\n`);
}
