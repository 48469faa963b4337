import type { Logger } from '../observability/index.ts';
import { retentionMetrics } from '../observability/metrics.ts';

/** What one purge round deleted, by collection, and whether it hit its batch size (more may be due). */
export interface PurgeRound {
  deleted: Record<string, number>;
  full: boolean;
}

/**
 * Runs a collection owner's purge (`round`) every `intervalMs`, for retention: the local
 * MongoDB-wire server has no TTL indexes, and a TTL index would delete without the conditions
 * retention needs (the saga no longer running). Each round deletes at most its batch, so the
 * store never does unbounded work at once; a full round is followed by the next at once, so a
 * backlog drains in bounded steps rather than one batch per interval. A failed round is logged
 * and tried again at the next interval. Counts go to `jetsaga_purged_total` and a log line.
 */
export class PurgeLoop {
  private handle?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly round: (now: Date) => Promise<PurgeRound>,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  /** The first round comes after `firstAfterMs`: one interval by default, so a start adds no store work. */
  start(firstAfterMs = this.intervalMs): void {
    this.stopped = false;
    this.schedule(firstAfterMs);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.handle = setTimeout(() => {
      this.running = this.tick().then((full) => this.schedule(full ? 0 : this.intervalMs));
    }, delayMs);
  }

  /** One round; resolves with whether it was full. */
  private async tick(): Promise<boolean> {
    try {
      const { deleted, full } = await this.round(new Date());
      let total = 0;
      for (const [collection, n] of Object.entries(deleted)) {
        if (n === 0) continue;
        retentionMetrics.purged.inc({ collection }, n);
        total += n;
      }
      if (total > 0) this.log.info({ purge: this.name, deleted }, 'purged what outlived its retention');
      return full;
    } catch (err) {
      this.log.warn({ purge: this.name, err: String(err) }, 'purge round failed; tried again next interval');
      return false;
    }
  }

  /** Stops scheduling; a round under way finishes first. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.handle) clearTimeout(this.handle);
    await this.running;
    if (this.handle) clearTimeout(this.handle);
  }
}
