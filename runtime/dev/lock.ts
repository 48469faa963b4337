// A cross-process lock made of a directory: mkdir is atomic on every local filesystem, so exactly one
// process creates it. Used so that parallel test workers do not each spend ~2 minutes building the same
// binary. The lock is an optimisation, not a correctness guarantee: results are published by an atomic
// rename, so in the rare case two processes both build (e.g. a stale lock taken over twice), both
// renames leave a complete binary in place.
import { mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface DirLockOptions {
  /** A lock whose directory mtime is older than this is abandoned (the holder refreshes it meanwhile). */
  staleMs?: number;
  /** Give up waiting after this long, naming the lock directory so a human can remove it. */
  waitTimeoutMs?: number;
  pollMs?: number;
  /** Called once, the first time the lock is found held by another process. */
  onWait?: () => void;
}

const OWNER_FILE = 'owner.json';

interface Owner {
  pid: number;
  host: string;
}

export async function withDirLock<T>(
  lockDir: string,
  fn: () => Promise<T>,
  opts: DirLockOptions = {},
): Promise<T> {
  const staleMs = opts.staleMs ?? 60_000;
  const waitTimeoutMs = opts.waitTimeoutMs ?? 20 * 60_000;
  const pollMs = opts.pollMs ?? 500;
  await mkdir(path.dirname(lockDir), { recursive: true });

  const deadline = Date.now() + waitTimeoutMs;
  let waited = false;
  while (!(await tryAcquire(lockDir))) {
    if (await isStale(lockDir, staleMs)) {
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!waited) {
      waited = true;
      opts.onWait?.();
    }
    if (Date.now() > deadline) {
      throw new Error(
        `jetsaga: timed out after ${Math.round(waitTimeoutMs / 1000)}s waiting for lock ${lockDir}; ` +
          'if no other jetsaga process is running, remove that directory and retry',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }

  // Heartbeat: keeps the lock fresh during a long build so waiters do not mistake it for stale.
  const heartbeat = setInterval(
    () => {
      const now = new Date();
      utimes(lockDir, now, now).catch(() => {});
    },
    Math.max(1000, Math.floor(staleMs / 4)),
  );
  heartbeat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    await rm(lockDir, { recursive: true, force: true });
  }
}

async function tryAcquire(lockDir: string): Promise<boolean> {
  try {
    await mkdir(lockDir);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  }
  const owner: Owner = { pid: process.pid, host: os.hostname() };
  await writeFile(path.join(lockDir, OWNER_FILE), JSON.stringify(owner));
  return true;
}

/** Stale when the heartbeat stopped, or when the owner ran on this host and its pid is gone. */
async function isStale(lockDir: string, staleMs: number): Promise<boolean> {
  let mtimeMs: number;
  try {
    mtimeMs = (await stat(lockDir)).mtimeMs;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false; // released meanwhile: the next mkdir will tell
    throw err;
  }
  if (Date.now() - mtimeMs > staleMs) return true;
  const owner = await readOwner(lockDir);
  return owner !== undefined && owner.host === os.hostname() && !pidAlive(owner.pid);
}

async function readOwner(lockDir: string): Promise<Owner | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(path.join(lockDir, OWNER_FILE), 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'pid' in parsed && 'host' in parsed) {
      const { pid, host } = parsed;
      if (typeof pid === 'number' && typeof host === 'string') return { pid, host };
    }
    return undefined;
  } catch {
    // The owner writes this file right after mkdir; missing or half-written means "just acquired".
    return undefined;
  }
}

/** Whether a process with this pid exists (on this host). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !isErrno(err, 'ESRCH'); // EPERM: alive, owned by another user
  }
}

export function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && 'code' in err && err.code === code;
}
