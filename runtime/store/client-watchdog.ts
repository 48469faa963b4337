import type { MongoClient } from 'mongodb';
import type { Logger } from '../observability/index.ts';
import { storeMetrics } from '../observability/metrics.ts';

/**
 * Restarts a MongoClient whose server monitor has stopped checking its server.
 *
 * Why: the driver (mongodb 7.9.x, `Connection.writeCommand`) waits for `drain` when a socket write
 * returns false, and a write to a socket that is already destroyed returns false and emits neither
 * `drain` nor `error`. When a link closes under the client (a half-open link that the proxy or the
 * kernel finally closes, a NAT dropping it) and the monitor starts its check in the moment between
 * the socket's destruction and its `close` event, that check never ends: the monitor stays busy for
 * ever, the server it watches stays `Unknown` after the first failed operation, and every operation
 * fails server selection until the process restarts (found by the chaos run's half-open faults).
 *
 * How: only public surface. A heartbeat that has neither succeeded nor failed long after the driver's
 * own bounds (its socket timeout, `connectTimeoutMS`, plus one `heartbeatFrequencyMS` for an awaited
 * streaming check, plus a margin) cannot be slow any more: the client is closed and connected again,
 * which builds a new topology with new monitors. Collections and databases taken from the client stay
 * valid (they resolve the topology per operation); operations in flight fail and are retried like any
 * store failure.
 */
/** Where the watchdog reports: a pino logger fits. */
export type WatchdogLog = Pick<Logger, 'error' | 'warn' | 'info'>;

export class ClientWatchdog {
  /** Server address -> when its current heartbeat started (performance.now()). */
  private readonly pending = new Map<string, number>();
  private readonly onStarted = (e: { connectionId: string }) =>
    this.pending.set(e.connectionId, performance.now());
  private readonly onEnded = (e: { connectionId: string }) => this.pending.delete(e.connectionId);
  private timer: NodeJS.Timeout | undefined;
  private restarting: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly client: MongoClient,
    private readonly log: WatchdogLog,
    /** A heartbeat unanswered for longer than this means the monitor is stuck. */
    readonly stuckAfterMs = ClientWatchdog.stuckAfter(client),
  ) {}

  /** The driver's longest legitimate heartbeat, plus a margin. */
  static stuckAfter(client: MongoClient): number {
    const { connectTimeoutMS, heartbeatFrequencyMS } = client.options;
    return (connectTimeoutMS || 30_000) + heartbeatFrequencyMS + 5_000;
  }

  start(): this {
    this.client.on('serverHeartbeatStarted', this.onStarted);
    this.client.on('serverHeartbeatSucceeded', this.onEnded);
    this.client.on('serverHeartbeatFailed', this.onEnded);
    // A quarter of the bound: a stuck monitor is found within 1.25 times it.
    this.timer = setInterval(() => void this.check(), Math.max(100, this.stuckAfterMs / 4)).unref();
    return this;
  }

  /** Looks once; restarts the client when a heartbeat is stuck. Resolves when any restart is done. */
  async check(now = performance.now()): Promise<void> {
    if (this.stopped) return;
    if (this.restarting) return this.restarting;
    const stuck = [...this.pending]
      .filter(([, at]) => now - at > this.stuckAfterMs)
      .map(([address]) => address);
    if (stuck.length === 0) return;
    this.restarting = this.restart(stuck).finally(() => (this.restarting = undefined));
    return this.restarting;
  }

  /** Stops looking; waits for a restart under way. Call before closing the client for good. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.client.off('serverHeartbeatStarted', this.onStarted);
    this.client.off('serverHeartbeatSucceeded', this.onEnded);
    this.client.off('serverHeartbeatFailed', this.onEnded);
    await this.restarting;
  }

  private async restart(stuck: string[]): Promise<void> {
    storeMetrics.clientRestarts.inc();
    this.log.error(
      { servers: stuck, stuckAfterMs: this.stuckAfterMs },
      "the MongoDB driver's server monitor stopped checking the store: reconnecting the client",
    );
    this.pending.clear();
    await this.client
      .close()
      .catch((err) => this.log.warn({ err: String(err) }, 'closing the stuck client failed'));
    // Until a connect succeeds the client has no usable topology: keep trying while the node runs.
    for (let attempt = 1, delay = 500; !this.stopped; attempt++, delay = Math.min(delay * 2, 10_000)) {
      try {
        await this.client.connect();
        this.log.info({ attempt }, 'store client reconnected');
        return;
      } catch (err) {
        this.log.warn({ err: String(err), attempt }, 'store client reconnect failed; trying again');
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
      }
    }
  }
}
