// A jetsaga role as its own OS process on this machine, for tests, benchmarks and chaos runs:
// `node [flags] [--import tsx] <script> <role args>`, spawned directly (not through `npx tsx`, whose
// wrapper process would take a SIGKILL meant for the role and leave the role orphaned). Every life's
// output goes to one log file; its JSON log lines are scanned for the start line ("jetsaga started",
// with the API's url), the summary each life writes when it stops ("... stopped") and whatever a caller
// waits for. kill (a crash), stop (SIGTERM, then SIGKILL), restart. A role still running when this
// process exits is killed with it, by the same hooks as the local servers (killOnExit).
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { killOnExit } from './kill-on-exit.ts';

/** A JSON log line of a role (pino's fields), or of anything else that writes one line per object. */
export interface LogLine {
  msg?: string;
  level?: number;
  [field: string]: unknown;
}

export interface RoleProcessOptions {
  /** For messages: `orchestrator`, `service:inventory`, `orchestrator-2`. */
  name: string;
  /** The role's arguments: `orchestrator`, `service inventory`, `all`. */
  args: readonly string[];
  /** The entry point, relative to `cwd` (`bin/jetsaga.ts`); a `.ts` file runs with `--import tsx`. */
  script: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Node flags before the script: `--max-semi-space-size=32` (recommendedNodeFlags), `--cpu-prof`. */
  nodeFlags?: readonly string[];
  /** Every life's output is appended to this file, each life after a `--- life N` line. */
  logFile: string;
  /** An IPC channel, for a script that answers `request` (bench/role-main.ts). */
  ipc?: boolean;
}

const TAIL_LINES = 20;

export class RoleProcess {
  readonly name: string;
  readonly args: readonly string[];
  /** Lives of this process: 1, and one more per restart. */
  lives = 0;
  /** The summary line ("orchestrator stopped", "service stopped", ...) of each life that stopped cleanly. */
  readonly summaries: LogLine[] = [];
  /** The API's url, from the start line of a life that runs the api role. */
  url: string | undefined;
  private child: ChildProcess | undefined;
  private closed = true;
  private exited: Promise<void> = Promise.resolve();
  private tail: string[] = [];
  private waiters: Array<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  private nextRequestId = 1;
  private readonly requests = new Map<number, (reply: unknown) => void>();

  constructor(readonly opts: RoleProcessOptions) {
    this.name = opts.name;
    this.args = opts.args;
  }

  /** The same role with other options (another env, other flags): a process definition, not started. */
  with(over: Partial<RoleProcessOptions>): RoleProcess {
    return new RoleProcess({ ...this.opts, ...over });
  }

  /** The pid of the running life; undefined when none runs. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** True from the spawn until the life has exited and its output is read to the end. */
  get running(): boolean {
    return this.child !== undefined && !this.closed;
  }

  /** Spawns a life and resolves once it logged its start line; rejects if it exits first. */
  async start(timeoutMs = 120_000): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.lives++;
    const { script, args, cwd, env, nodeFlags = [], ipc = false } = this.opts;
    const child = spawn(
      process.execPath,
      [...nodeFlags, ...(script.endsWith('.ts') ? ['--import', 'tsx'] : []), script, ...args],
      { cwd, env, stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? (['ipc'] as const) : [])] },
    );
    this.child = child;
    this.closed = false;
    this.url = undefined;
    const forget = killOnExit({
      killSync: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
    });
    const log = createWriteStream(this.opts.logFile, { flags: 'a' });
    log.write(`--- life ${this.lives}: pid ${child.pid}, ${args.join(' ')}\n`);
    for (const stream of [child.stdout!, child.stderr!])
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        log.write(`${line}\n`);
        this.onLine(line);
      });
    child.on('message', (msg: { id?: unknown }) => {
      if (typeof msg?.id !== 'number') return;
      this.requests.get(msg.id)?.(msg);
      this.requests.delete(msg.id);
    });
    let spawnError: Error | undefined;
    // 'close' follows 'exit' once stdout and stderr are read to the end: the tail is complete then.
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        spawnError = err;
        if (child.pid === undefined) child.emit('close'); // never spawned: no 'close' would come
      });
      child.once('close', () => {
        this.closed = true;
        forget();
        log.end();
        resolve();
      });
    });
    // The start line, or the exit before it, or the time running out (the life is killed then).
    let timer: NodeJS.Timeout | undefined;
    let waiter: ((l: LogLine) => void) | undefined;
    try {
      const line = await Promise.race([
        new Promise<LogLine>((resolve) => {
          waiter = resolve;
          this.waiters.push({ pred: (l) => l.msg === 'jetsaga started', resolve });
        }),
        this.exited.then((): never => {
          throw new Error(
            `${this.name} ${spawnError ? `could not be started (${spawnError.message})` : `exited (${describeExit(child)})`} before it started:\n${this.outputTail()}`,
          );
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            reject(new Error(`${this.name}: not started within ${timeoutMs} ms:\n${this.outputTail()}`));
          }, timeoutMs);
        }),
      ]);
      if (typeof line.api === 'string') this.url = line.api;
    } catch (err) {
      await this.kill();
      throw err;
    } finally {
      clearTimeout(timer);
      this.waiters = this.waiters.filter((w) => w.resolve !== waiter);
    }
  }

  /** Abrupt crash (SIGKILL): no summary line is written for this life. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await this.exited;
  }

  /**
   * Graceful stop: SIGTERM, then SIGKILL after `timeoutMs`. Resolves to whether it exited 0 by itself
   * within the time (true when nothing ran).
   */
  async stop(timeoutMs = 30_000): Promise<boolean> {
    if (!this.running) return true;
    const child = this.child!;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      this.exited.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!inTime) await this.kill();
    return inTime && child.exitCode === 0;
  }

  /** stop(), then start() again: a new life with the same definition. */
  async restart(opts: { stopTimeoutMs?: number; startTimeoutMs?: number } = {}): Promise<void> {
    await this.stop(opts.stopTimeoutMs);
    await this.start(opts.startTimeoutMs);
  }

  /** The next log line (of this life or a later one) that matches, or an error after `timeoutMs`. */
  waitFor(pred: (l: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`${this.name}: no matching log line within ${timeoutMs} ms:\n${this.outputTail()}`));
      }, timeoutMs);
      const done = (l: LogLine) => {
        clearTimeout(timer);
        resolve(l);
      };
      this.waiters.push({ pred, resolve: done });
    });
  }

  /**
   * Sends `message` with a fresh `id` over the IPC channel and resolves to the first message that
   * comes back with that `id`; null when the life does not answer within `timeoutMs`, has no IPC
   * channel or is gone.
   */
  request<T>(message: Record<string, unknown>, timeoutMs = 10_000): Promise<T | null> {
    const child = this.child;
    if (!this.running || !child?.connected) return Promise.resolve(null);
    const id = this.nextRequestId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.requests.delete(id);
        resolve(null);
      }, timeoutMs);
      this.requests.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply as T);
      });
      child.send({ ...message, id }, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.requests.delete(id);
        resolve(null);
      });
    });
  }

  /** The last lines it printed (stdout and stderr), for failure messages. */
  outputTail(): string {
    return this.tail.join('\n');
  }

  private onLine(line: string): void {
    this.tail = [...this.tail.slice(-(TAIL_LINES - 1)), line];
    if (!line.startsWith('{')) return; // not a log line (a stack trace on stderr): kept in the file and the tail
    let parsed: LogLine;
    try {
      parsed = JSON.parse(line) as LogLine;
    } catch {
      return;
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
