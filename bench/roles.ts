// Role processes for the benchmark, and what /proc says about any process (CPU time, RSS).
import { execFileSync, type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { recommendedNodeFlags } from '../runtime/node.ts';
import type { FromRole, RoleStats, ToRole } from './role-main.ts';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU seconds of a process, from /proc/<pid>/stat; null when it is gone or not on Linux. */
export function cpuSeconds(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which is in parentheses and may hold spaces): state is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return null;
  }
}

/** Resident set size (VmRSS) and its peak (VmHWM) in bytes, from /proc/<pid>/status. */
export function rssOf(pid: number | undefined): { rss: number; peak: number } | null {
  if (!pid) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') * 1024, peak: kb('VmHWM') * 1024 };
  } catch {
    return null;
  }
}

const children = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills every role this process started, whatever way it exits. */
export function killAllRoles(): void {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllRoles);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAllRoles();
      process.exit(130);
    });
  }
}

export interface RoleOptions {
  /** Role arguments: `orchestrator`, `api`, `service inventory`, `fraud-agent`. */
  args: string[];
  env: NodeJS.ProcessEnv;
  logDir: string;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
}

/** One role in its own node process, with an IPC channel to ask for its stats. */
export class BenchRole {
  readonly name: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log: WriteStream;
  private tail: string[] = [];
  private nextId = 1;
  private pending = new Map<number, (s: RoleStats) => void>();
  api: string | null = null;

  constructor(private readonly opts: RoleOptions) {
    this.name = opts.args.join(':');
    this.log = createWriteStream(path.join(opts.logDir, `${this.name}.log`), { flags: 'a' });
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the role and resolves once it reports ready; rejects if it fails or exits first. */
  async start(timeoutMs = 120_000): Promise<void> {
    installExitHook();
    const child = spawn(
      process.execPath,
      [
        ...recommendedNodeFlags,
        ...(this.opts.nodeFlags ?? []),
        '--import',
        'tsx',
        'bench/role-main.ts',
        ...this.opts.args,
      ],
      { cwd: repoRoot, env: this.opts.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
    );
    this.child = child;
    children.add(child);
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        children.delete(child);
        resolve();
      }),
    );
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.on('data', (chunk: Buffer) => {
        this.log.write(chunk);
        this.tail = [...this.tail, ...chunk.toString().split('\n').filter(Boolean)].slice(-20);
      });
    }
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: not ready within ${timeoutMs} ms\n${this.tail.join('\n')}`)),
        timeoutMs,
      );
      child.on('message', (msg: FromRole) => {
        if (msg.type === 'ready') {
          clearTimeout(timer);
          this.api = msg.api;
          resolve();
        } else if (msg.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`${this.name} failed to start: ${msg.message}`));
        } else if (msg.type === 'stats') {
          this.pending.get(msg.id)?.(msg.stats);
          this.pending.delete(msg.id);
        }
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited before it was ready:\n${this.tail.join('\n')}`));
      });
    });
    await ready;
  }

  /** Asks the role for its counters; null if it does not answer within `timeoutMs`. */
  stats(opts: { gc?: boolean } = {}, timeoutMs = 10_000): Promise<RoleStats | null> {
    if (!this.running || !this.child?.connected) return Promise.resolve(null);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(null);
      }, timeoutMs);
      this.pending.set(id, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
      this.child!.send({ type: 'stats', id, gc: opts.gc } satisfies ToRole);
    });
  }

  cpuSeconds(): number | null {
    return cpuSeconds(this.pid);
  }

  rss(): { rss: number; peak: number } | null {
    return rssOf(this.pid);
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`. Resolves to whether it stopped by itself. */
  async stop(timeoutMs = 30_000): Promise<boolean> {
    if (!this.running) return true;
    this.child!.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      this.exited.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!inTime) {
      this.child!.kill('SIGKILL');
      await this.exited;
    }
    await new Promise<void>((resolve) => this.log.end(resolve));
    return inTime;
  }

  outputTail(): string {
    return this.tail.join('\n');
  }
}
