import { execFile } from 'node:child_process';
import { readFileSync, unlinkSync } from 'node:fs';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isErrno, pidAlive } from './lock.ts';

const LOCK_FILE = 'dev.lock';
/** A lock file this old that still has no owner in it was left by a process that died creating it. */
const UNREADABLE_LOCK_STALE_MS = 5_000;

// Two runs on one data dir would start two servers on the same JetStream store and H2 file (nats-server
// does not lock its store). The lock is a file created exclusively, holding the owner's pid and, once
// started, its servers' pids; a lock whose owner is gone (a crash, a SIGKILL) is taken over, after
// stopping the servers the dead owner left running on the dir. Two runs taking over the same stale
// lock at the same instant could both win: a developer's tool accepts that window.

export interface ServerPid {
  name: string;
  pid: number;
}

export interface LockOwner {
  pid: number;
  host: string;
  servers?: ServerPid[];
}

export interface DataDirLock {
  /** Notes the servers' pids in the lock, for a run that takes over after this one crashed. */
  recordServers(servers: ServerPid[]): Promise<void>;
  release(): void;
}

export async function lockDataDir(
  dataDir: string,
  say: (line: string) => void,
): Promise<DataDirLock | { heldBy: LockOwner }> {
  const file = path.join(dataDir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: os.hostname() };
  const since = new Date().toISOString();
  for (;;) {
    try {
      await writeFile(file, `${JSON.stringify({ ...me, since })}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
    const owner = await readOwner(file);
    if (owner === 'gone') continue; // released meanwhile
    if (owner === 'unreadable') {
      // Just created and not yet written, or left empty by a crash: wait for the one, clear the other.
      if (await olderThan(file, UNREADABLE_LOCK_STALE_MS)) await unlink(file).catch(() => {});
      else await delay(100);
      continue;
    }
    if (owner.host !== me.host || pidAlive(owner.pid)) return { heldBy: owner };
    await stopLeftoverServers(owner, dataDir, say);
    await unlink(file).catch(() => {}); // stale: its owner died without releasing it
  }

  // Also on paths that skip `finally` (process.exit from elsewhere); not on SIGKILL: that one is stale.
  const release = (): void => {
    process.off('exit', release);
    try {
      // Never remove a lock that is no longer ours.
      const owner = parseOwner(readFileSync(file, 'utf8'));
      if (owner?.pid === me.pid && owner.host === me.host) unlinkSync(file);
    } catch {
      // already gone
    }
  };
  process.on('exit', release);
  return {
    release,
    async recordServers(servers) {
      // Replaced by a rename, so that a reader never sees it half-written.
      const next = `${file}.${me.pid}`;
      await writeFile(next, `${JSON.stringify({ ...me, since, servers })}\n`);
      await rename(next, file);
    },
  };
}

/**
 * A run killed with SIGKILL leaves its servers running: they are in process groups of their own and
 * no exit hook ran. Each one still alive whose command line names this data dir is stopped (the
 * check guards against a pid the system has given to another process since).
 */
async function stopLeftoverServers(
  owner: LockOwner,
  dataDir: string,
  say: (line: string) => void,
): Promise<void> {
  const ours = async (pid: number) => pidAlive(pid) && (await commandLine(pid)).includes(dataDir);
  for (const { name, pid } of owner.servers ?? []) {
    if (!(await ours(pid))) continue;
    say(`jetsaga dev: stopping ${name} (pid ${pid}), left running on this data dir by a run that died`);
    for (const [signal, waitMs] of [
      ['SIGTERM', 10_000],
      ['SIGKILL', 5_000],
    ] as const) {
      try {
        process.kill(pid, signal);
      } catch {
        break; // exited meanwhile
      }
      const deadline = Date.now() + waitMs;
      while ((await ours(pid)) && Date.now() < deadline) await delay(100);
      if (!(await ours(pid))) break;
    }
  }
}

/** The process's command line, '' when it cannot be read (gone, or no `ps`). A zombie shows none. */
function commandLine(pid: number): Promise<string> {
  return new Promise((resolve) => {
    execFile('ps', ['-ww', '-o', 'args=', '-p', String(pid)], (err, stdout) => resolve(err ? '' : stdout));
  });
}

async function readOwner(file: string): Promise<LockOwner | 'gone' | 'unreadable'> {
  try {
    return parseOwner(await readFile(file, 'utf8')) ?? 'unreadable';
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 'gone';
    throw err;
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { pid, host, servers } = parsed as Record<string, unknown>;
    if (typeof pid !== 'number' || typeof host !== 'string') return undefined;
    const isServer = (s: unknown): s is ServerPid =>
      typeof s === 'object' &&
      s !== null &&
      typeof (s as ServerPid).name === 'string' &&
      typeof (s as ServerPid).pid === 'number';
    return { pid, host, servers: Array.isArray(servers) ? servers.filter(isServer) : [] };
  } catch {
    return undefined; // half-written
  }
}

async function olderThan(file: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(file)).mtimeMs > ms;
  } catch {
    return false; // gone: the next attempt creates it
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
