import type { Collection, Db } from 'mongodb';
import type { Config } from '../config.ts';
import type { Logger } from '../observability/index.ts';
import { isDuplicateKey } from '../store/index.ts';

export interface StartSagaOptions {
  /** The same key starts the same saga once, whoever asks and however often. */
  idempotencyKey: string;
  correlationId?: string;
  /** The version of the input's shape written (the saga's current one when absent): an older one is upcast. */
  inputVersion?: number;
}

/** Starts a saga once per key; `created` is false when the key had started it before. */
export type StartSagaOnce = (
  type: string,
  input: unknown,
  opts: StartSagaOptions,
) => Promise<{ sagaId: string; created: boolean }>;

export interface ScheduleContext {
  db: Db;
  log: Logger;
  config: Config;
  startSaga: StartSagaOnce;
  /** When this run was due: the same for every replica that competed for it. */
  dueAt: Date;
}

/**
 * Work a reactor runs every `everyMs` (a forecast, a sweep, a report). Across replicas each
 * run happens once: a lease document per job (`<reactor>:<name>` in `reactor_schedules`)
 * holds the next due time, and the replica whose conditional update moves it runs the job.
 * A run that throws is logged and the job runs again at its next due time; a replica that
 * dies mid-run loses that run, so `run` must be safe to repeat (as reactions are).
 */
export interface ScheduleDefinition {
  name: string;
  everyMs: number;
  run(ctx: ScheduleContext): Promise<void>;
}

interface Lease {
  _id: string;
  nextRunAt: Date;
  lastRunAt?: Date;
  owner?: string;
}

/** How often a replica looks whether a job is due, at most: short jobs need not wait a whole period. */
const pollCapMs = 1000;

export class ScheduleRunner {
  private readonly leases: Collection<Lease>;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private readonly owner = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

  constructor(
    private readonly reactor: string,
    private readonly jobs: readonly ScheduleDefinition[],
    private readonly ctx: Omit<ScheduleContext, 'dueAt'>,
  ) {
    this.leases = ctx.db.collection<Lease>('reactor_schedules');
  }

  async start(): Promise<void> {
    if (this.jobs.length === 0) return;
    this.tick();
  }

  private tick(): void {
    if (this.stopped) return;
    this.running = this.runDue().finally(() => {
      if (this.stopped) return;
      const wait = Math.min(pollCapMs, ...this.jobs.map((j) => j.everyMs));
      this.timer = setTimeout(() => this.tick(), wait);
      this.timer.unref();
    });
  }

  private async runDue(): Promise<void> {
    for (const job of this.jobs) {
      if (this.stopped) return;
      const dueAt = await this.claim(job).catch((err) => {
        this.ctx.log.warn({ job: job.name, err: String(err) }, 'schedule lease unavailable; retrying');
        return null;
      });
      if (!dueAt) continue;
      const log = this.ctx.log.child({ schedule: job.name });
      try {
        await job.run({ ...this.ctx, log, dueAt });
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'scheduled run failed');
      }
    }
  }

  /** The due time this replica won, or null when the job is not due or another replica took it. */
  private async claim(job: ScheduleDefinition): Promise<Date | null> {
    const id = `${this.reactor}:${job.name}`;
    const now = new Date();
    const next = new Date(now.getTime() + job.everyMs);
    const lease = await this.leases.findOne({ _id: id });
    if (!lease) {
      try {
        await this.leases.insertOne({ _id: id, nextRunAt: next, lastRunAt: now, owner: this.owner });
        return now;
      } catch (err) {
        if (isDuplicateKey(err)) return null;
        throw err;
      }
    }
    if (lease.nextRunAt > now) return null;
    const won = await this.leases.updateOne(
      { _id: id, nextRunAt: lease.nextRunAt },
      { $set: { nextRunAt: next, lastRunAt: now, owner: this.owner } },
    );
    return won.modifiedCount === 1 ? lease.nextRunAt : null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
