// The cache of built server binaries: outside the repo, so that every checkout and worktree on a
// machine shares them and `git clean` does not throw them away; builds are published atomically.
import { mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isExecutable } from './exec.ts';
import { isErrno, withDirLock } from './lock.ts';

export interface BinaryOptions {
  env?: NodeJS.ProcessEnv;
  /** Progress lines (the first build takes minutes); defaults to stderr. */
  log?: (line: string) => void;
}

export function defaultLog(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function cacheBinDir(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.JETSAGA_CACHE_DIR || path.join(os.homedir(), '.cache', 'jetsaga');
  // Absolute, because it becomes GOBIN and go rejects a relative GOBIN.
  return path.resolve(root, 'bin');
}

/**
 * Builds under a lock and publishes with rename(2): readers see either nothing or a complete build
 * (a binary or a directory), never a half-written one. The build directory is inside the cache dir so
 * the rename stays on one filesystem (and therefore atomic).
 */
export async function buildIntoCache(
  spec: {
    label: string;
    target: string;
    log: (line: string) => void;
    /** Shown in the progress line of the first build. */
    duration: string;
    /** Whether `target` holds a complete build; default: it is an executable file. */
    isBuilt?: (target: string) => Promise<boolean>;
  },
  build: (outDir: string) => Promise<string>,
): Promise<string> {
  const { label, target, log, duration } = spec;
  const isBuilt = spec.isBuilt ?? isExecutable;
  const binDir = path.dirname(target);
  const name = path.basename(target);
  return withDirLock(
    path.join(binDir, `.${name}.lock`),
    async () => {
      if (await isBuilt(target)) return target; // another process built it while we waited
      log(`jetsaga: building ${label} (first run only, ${duration})...`);
      const outDir = await mkdtemp(path.join(binDir, `.${name}.build-`));
      try {
        await publish(await build(outDir), target, isBuilt);
      } finally {
        await rm(outDir, { recursive: true, force: true });
      }
      log(`jetsaga: built ${label}`);
      return target;
    },
    { onWait: () => log(`jetsaga: waiting for another process to finish building ${label}...`) },
  );
}

/**
 * rename(2) replaces a file atomically, but not a non-empty directory (ENOTEMPTY / EEXIST). Then either
 * another builder won the race (its complete build stays: a server may be running from it), or an
 * incomplete leftover sits there, which is removed.
 */
async function publish(built: string, target: string, isBuilt: (target: string) => Promise<boolean>) {
  try {
    await rename(built, target);
  } catch (err) {
    if (!isErrno(err, 'ENOTEMPTY') && !isErrno(err, 'EEXIST')) throw err;
    if (await isBuilt(target)) return;
    await rm(target, { recursive: true, force: true });
    await rename(built, target);
  }
}
