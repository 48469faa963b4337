// A server process on loopback with a temp data dir, for tests, the demo and chaos experiments:
// start on a free port, wait until it accepts TCP connections, stop / kill / restart on the same port
// with the same data. Children die with the parent (see killOnExit). `jetsaga dev` gives a data dir
// of its own instead, which is kept, so that its next run finds the same streams and sagas.
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { killOnExit } from './kill-on-exit.ts';
import { canConnect, delay, freePort, LOOPBACK as HOST, waitUntilBindable } from './ports.ts';

const OUTPUT_TAIL_BYTES = 16 * 1024;
const ADDRESS_IN_USE = /address already in use|EADDRINUSE/i;
const MAX_START_ATTEMPTS = 5;

export interface ManagedProcessOptions {
  /** Short name for messages and the temp dir prefix: "nats-server", "mongod", "mongo-java-server". */
  name: string;
  command: string;
  /** URL scheme of `url`: "nats" or "mongodb". */
  scheme: string;
  /** Sub-directory of the data dir given to the server as its store; created before spawning. */
  storeSubdir: string;
  /** Extra ports to allocate once and keep across restarts, e.g. ["monitor"]. */
  extraPorts?: readonly string[];
  args: (ctx: {
    host: string;
    port: number;
    ports: Readonly<Record<string, number>>;
    storeDir: string;
  }) => string[];
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
  /**
   * The data dir to use (created if missing) instead of a temp dir; stop() and the exit hooks leave it
   * in place. The server's store is still its `storeSubdir`, so two servers can share one data dir.
   */
  dataDir?: string;
  /**
   * A process group of its own: a terminal's Ctrl-C then reaches only the parent, which stops its
   * clients before the server instead of racing it. The exit hooks still kill it.
   */
  detached?: boolean;
}

/** What the factories below accept besides the binary (see ManagedProcessOptions). */
export type LocalServerOptions = Pick<ManagedProcessOptions, 'dataDir' | 'detached'>;

type State = 'new' | 'running' | 'exited' | 'stopped';

export class ManagedProcess {
  readonly name: string;
  readonly host = HOST;
  private readonly opts: ManagedProcessOptions;
  private state: State = 'new';
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = '';
  private clientPort = 0;
  private namedPorts: Record<string, number> = {};
  private dir: string | undefined;
  private stopping: Promise<void> | undefined;
  private forget: (() => void) | undefined;

  constructor(opts: ManagedProcessOptions) {
    this.opts = opts;
    this.name = opts.name;
  }

  /** The client port; 0 before the first start. Stays the same across restarts. */
  get port(): number {
    return this.clientPort;
  }

  /** Extra ports requested with `extraPorts`, by name. */
  get ports(): Readonly<Record<string, number>> {
    return this.namedPorts;
  }

  get url(): string {
    return `${this.opts.scheme}://${HOST}:${this.clientPort}`;
  }

  get dataDir(): string | undefined {
    return this.dir;
  }

  /** The executable it runs (for the local mongo-java-server: its `java`). */
  get command(): string {
    return this.opts.command;
  }

  get pid(): number | undefined {
    return this.state === 'running' ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.state === 'running' && isAlive(this.child);
  }

  /** The last lines the server printed (stdout and stderr), for diagnosing failures. */
  outputTail(maxLines = 20): string {
    return this.output
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(-maxLines)
      .join('\n');
  }

  /** First start: allocates the data dir and ports. A no-op when already running. */
  async start(): Promise<void> {
    if (this.state === 'running') return;
    if (this.state !== 'new') throw new Error(`jetsaga: ${this.name} was started before; use restart()`);
    // Absolute: the server runs with the data dir as its cwd and is given its store dir as a path.
    this.dir =
      this.opts.dataDir !== undefined
        ? path.resolve(this.opts.dataDir)
        : await mkdtemp(path.join(os.tmpdir(), `jetsaga-${this.name}-`));
    this.forget = killOnExit(this);
    try {
      await mkdir(this.storeDir(), { recursive: true });
      await this.spawnUntilReady(true);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Graceful stop (SIGTERM, then SIGKILL after stopTimeoutMs) and removal of a temp data dir. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        await this.terminate('SIGTERM');
      } finally {
        this.state = 'stopped';
        this.forget?.();
        const owned = this.ownedDir();
        if (owned) await rm(owned, { recursive: true, force: true });
      }
    })();
    return this.stopping;
  }

  /** Abrupt crash (SIGKILL) for chaos tests; the data dir is kept so restart() picks it up. */
  async kill(): Promise<void> {
    this.assertNotStopped('kill');
    await this.terminate('SIGKILL');
  }

  /** Starts again on the same port with the same data dir, stopping gracefully first if running. */
  async restart(): Promise<void> {
    this.assertNotStopped('restart');
    if (this.state === 'new') return this.start();
    await this.terminate('SIGTERM');
    await this.spawnUntilReady(false);
  }

  private assertNotStopped(action: string): void {
    if (this.state === 'stopped') throw new Error(`jetsaga: cannot ${action} ${this.name}: it was stopped`);
  }

  /** The data dir if it is a temp dir of ours, to remove on stop; a given one is kept. */
  private ownedDir(): string | undefined {
    return this.opts.dataDir === undefined ? this.dir : undefined;
  }

  private storeDir(): string {
    return path.join(this.dir ?? '', this.opts.storeSubdir);
  }

  /**
   * The port found free may be taken by someone else before the server binds it. On the first start
   * we simply pick another port; on restart the port is part of the contract, so we wait and retry.
   */
  private async spawnUntilReady(mayChangePort: boolean): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.clientPort === 0 || mayChangePort) await this.allocatePorts();
      // Readiness is "the port accepts connections", which would be fooled by whoever else holds it.
      else await waitUntilBindable(this.clientPort, 5_000, this.name);
      try {
        await this.spawnOnce();
        return;
      } catch (err) {
        const retry = attempt < MAX_START_ATTEMPTS && !this.running && ADDRESS_IN_USE.test(this.output);
        if (!retry) throw err;
        if (!mayChangePort) await delay(250 * attempt);
      }
    }
  }

  private async allocatePorts(): Promise<void> {
    this.clientPort = await freePort();
    const ports: Record<string, number> = {};
    for (const name of this.opts.extraPorts ?? []) ports[name] = await freePort();
    this.namedPorts = ports;
  }

  private async spawnOnce(): Promise<void> {
    const args = this.opts.args({
      host: HOST,
      port: this.clientPort,
      ports: this.namedPorts,
      storeDir: this.storeDir(),
    });
    this.output = '';
    const child = spawn(this.opts.command, args, {
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: this.opts.detached ?? false,
    });
    this.child = child;
    this.state = 'running';
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let spawnError: Error | undefined;
    child.once('error', (err) => {
      spawnError = err; // e.g. ENOENT; 'exit' may not follow, so the readiness loop checks this too
    });
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8').on('data', (chunk: string) => {
        this.output = (this.output + chunk).slice(-OUTPUT_TAIL_BYTES);
      });
      // The servers must not keep the parent alive: a script that forgets stop() should still exit,
      // and the 'exit' hook then kills the servers.
      unref(stream);
    }
    child.unref();

    const timeoutMs = this.opts.readyTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (spawnError) throw this.startError(`could not be started: ${spawnError.message}`);
      if (!isAlive(child)) {
        throw this.startError(
          `exited (${describeExit(child)}) before accepting connections on port ${this.clientPort}`,
        );
      }
      if ((await canConnect(HOST, this.clientPort)) && isAlive(child)) return;
      if (Date.now() > deadline) {
        await this.terminate('SIGKILL');
        throw this.startError(
          `did not accept connections on ${HOST}:${this.clientPort} within ${timeoutMs} ms`,
        );
      }
      await delay(50);
    }
  }

  private startError(what: string): Error {
    const tail = this.outputTail();
    const output = tail ? `\n--- last output ---\n${tail}` : '';
    return new Error(`jetsaga: ${this.name} (${this.opts.command}) ${what}${output}`);
  }

  /** Signals the child and waits for it to exit, escalating to SIGKILL after stopTimeoutMs. */
  private async terminate(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (this.state === 'running' && child && isAlive(child)) {
      child.kill(signal);
      // These timers also keep the event loop alive while we wait: the child itself is unref'd.
      const exitedInTime = await settlesWithin(this.exited, this.opts.stopTimeoutMs ?? 10_000);
      if (!exitedInTime) {
        child.kill('SIGKILL');
        await settlesWithin(this.exited, 5_000);
      }
    }
    if (this.state === 'running') this.state = 'exited';
  }

  /** Synchronous, for process 'exit' hooks where no more async work runs. */
  killSync(): void {
    if (this.child && isAlive(this.child)) this.child.kill('SIGKILL');
    const owned = this.ownedDir();
    if (owned) rmSync(owned, { recursive: true, force: true, maxRetries: 3 });
    this.state = 'stopped';
  }
}

// --- helpers --------------------------------------------------------------------------------------

function isAlive(child: ChildProcess | undefined): boolean {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

function describeExit(child: ChildProcess): string {
  return child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode}`;
}

function unref(stream: Readable | null): void {
  // Child pipes are net.Socket instances at runtime, but typed as plain Readable.
  (stream as (Readable & { unref?: () => void }) | null)?.unref?.();
}

/**
 * Whether `promise` settles within `ms`. The timer is cleared as soon as it does: a pending 10 s timer
 * would otherwise keep a script (or vitest's globalSetup) alive for 10 s after stop().
 */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
