// One jetsaga role as its own OS process, the way a pod runs it: `node --import tsx bin/jetsaga.ts <role>`
// (what `npx tsx bin/jetsaga.ts <role>` runs, minus tsx's wrapper process, so that a SIGKILL hits the role
// itself and not a parent that would leave it orphaned). Its JSON log lines are kept in a file and
// scanned for the start line and the per-replica summary written when it stops.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { recommendedNodeFlags } from '../../runtime/node.ts';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface LogLine {
  msg?: string;
  level?: number;
  [field: string]: unknown;
}

/** Every child of this process, so that any exit path kills them all. */
const children = new Set<ChildProcess>();

export function killAllChildren(): void {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}

export class RoleProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log: WriteStream;
  private waiters: Array<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  /** Lives of this replica: 1, and one more per restart. */
  lives = 0;
  /** The summary line ("orchestrator stopped", "service stopped", ...) of each life that stopped cleanly. */
  readonly summaries: LogLine[] = [];
  /** The API url, from the start line of an api role. */
  url: string | undefined;
  private tail: string[] = [];

  constructor(
    readonly name: string,
    readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
    logDir: string,
  ) {
    this.log = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the role and resolves once it logged "jetsaga started"; rejects if it exits first. */
  async start(timeoutMs = 120_000): Promise<void> {
    this.lives++;
    const child = spawn(
      process.execPath,
      [...recommendedNodeFlags, '--import', 'tsx', 'bin/jetsaga.ts', ...this.args],
      {
        cwd: repoRoot,
        env: this.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    children.add(child);
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        children.delete(child);
        resolve();
      }),
    );
    this.log.write(`--- life ${this.lives}: pid ${child.pid}, ${this.args.join(' ')}\n`);
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => this.onLine(line));
    }
    const started = this.waitFor((l) => l.msg === 'jetsaga started', timeoutMs);
    const died = this.exited.then(() => {
      throw new Error(
        `${this.name} exited (${describeExit(child)}) before it started:\n${this.tail.join('\n')}`,
      );
    });
    const line = await Promise.race([started, died]);
    if (typeof line.api === 'string') this.url = line.api;
  }

  /** Abrupt crash: no summary line is written for this life. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await this.exited;
  }

  /** Graceful stop; SIGKILL after `timeoutMs`. Resolves to whether it stopped by itself. */
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
    if (!inTime) await this.kill();
    return inTime && this.child!.exitCode === 0;
  }

  waitFor(pred: (l: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(`${this.name}: no matching log line within ${timeoutMs} ms:\n${this.tail.join('\n')}`),
        );
      }, timeoutMs);
      const done = (l: LogLine) => {
        clearTimeout(timer);
        resolve(l);
      };
      this.waiters.push({ pred, resolve: done });
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.log.end(resolve));
  }

  /** The last lines it printed, for failure messages. */
  outputTail(): string {
    return this.tail.join('\n');
  }

  private onLine(line: string): void {
    this.log.write(`${line}\n`);
    this.tail = [...this.tail.slice(-19), line];
    let parsed: LogLine;
    try {
      parsed = JSON.parse(line) as LogLine;
    } catch {
      return; // not a log line (a stack trace on stderr): kept in the file and the tail
    }
    if (typeof parsed.msg === 'string' && / stopped$/.test(parsed.msg)) this.summaries.push(parsed);
    for (const w of [...this.waiters]) {
      if (w.pred(parsed)) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(parsed);
      }
    }
  }
}

function describeExit(child: ChildProcess): string {
  return child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode}`;
}
