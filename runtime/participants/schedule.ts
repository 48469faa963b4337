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

/** What a participant's scheduled job gets: its database and logger. A participant starts no saga. */
export interface ParticipantScheduleContext {
  db: Db;
  log: Logger;
  /** When this run was due: the same for every replica that competed for it. */
  dueAt: Date;
}

/**
 * Work a role runs every `everyMs` (a forecast, a sweep, a report). Across replicas each run
 * happens once: a lease document per job (`<holder>:<name>` in `reactor_schedules`) holds the next
 * due time, and the replica whose conditional update moves it runs the job. A run that throws is
 * logged and the job runs again at its next due time; a replica that dies mid-run loses that run,
 * so `run` must be safe to repeat (as reactions and command handlers are).
 */
export interface ScheduledJob<C> {
  name: string;
  everyMs: number;
  run(ctx: C): Promise<void>;
}

/** A reactor's scheduled job (ReactorDefinition.schedules). */
export type ScheduleDefinition = ScheduledJob<ScheduleContext>;

/** A participant's scheduled job (ParticipantDefinition.schedules). */
export type ParticipantSchedule = ScheduledJob<ParticipantScheduleContext>;

/** The rules a role's `schedules` must follow; `fail` names the field and throws. */
export function checkSchedules(
  jobs: readonly ScheduledJob<never>[] | undefined,
  fail: (field: string, message: string) => never,
): void {
  const names = new Set<string>();
  for (const s of jobs ?? []) {
    if (!/^[a-z][a-z0-9-]{0,62}$/.test(s.name))
      fail('schedules', `has "${s.name}"; use lowercase letters, digits and dashes`);
    if (names.has(s.name)) fail('schedules', `has "${s.name}" twice`);
    if (!Number.isInteger(s.everyMs) || s.everyMs < 1000)
      fail('schedules', `${s.name}: everyMs must be >= 1000`);
    names.add(s.name);
  }
}

interface Lease {
  _id: string;
  nextRunAt: Date;
  lastRunAt?: Date;
  owner?: string;
}

/** How long a replica waits to look again when the lease could not be read. */
const retryMs = 1000;

export class ScheduleRunner<C extends { log: Logger; dueAt: Date }> {
  private readonly leases: Collection<Lease>;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private readonly owner = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  /** The next due time each job's lease named when last read or moved: a replica sleeps until the earliest. */
  private readonly nextDue = new Map<string, number>();

  /**
   * @param holder whose jobs these are: the reactor's name, or `svc-<name>` for a participant
   * @param context what each run gets, built for its logger and due time
   */
  constructor(
    private readonly holder: string,
    private readonly jobs: readonly ScheduledJob<C>[],
    private readonly deps: { db: Db; log: Logger; context: (log: Logger, dueAt: Date) => C },
  ) {
    this.leases = deps.db.collection<Lease>('reactor_schedules');
  }

  async start(): Promise<void> {
    if (this.jobs.length === 0) return;
    this.tick();
  }

  private tick(): void {
    if (this.stopped) return;
    this.running = this.runDue().finally(() => {
      if (this.stopped) return;
      this.timer = setTimeout(() => this.tick(), this.untilNextDue());
      this.timer.unref();
    });
  }

  /**
   * Sleeps until the earliest due time the leases named: a job is looked at about once per
   * period, not polled (leases only move forward; a replica that reads one early learns its time).
   */
  private untilNextDue(): number {
    const now = Date.now();
    let wait = Infinity;
    for (const job of this.jobs)
      wait = Math.min(wait, (this.nextDue.get(job.name) ?? now) - now, job.everyMs);
    return Math.max(10, wait);
  }

  private async runDue(): Promise<void> {
    for (const job of this.jobs) {
      if (this.stopped) return;
      const due = this.nextDue.get(job.name);
      if (due !== undefined && due > Date.now()) continue;
      const dueAt = await this.claim(job).catch((err) => {
        this.deps.log.warn({ job: job.name, err: String(err) }, 'schedule lease unavailable; retrying');
        this.nextDue.set(job.name, Date.now() + retryMs);
        return null;
      });
      if (!dueAt) continue;
      const log = this.deps.log.child({ schedule: job.name });
      try {
        await job.run(this.deps.context(log, dueAt));
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'scheduled run failed');
      }
    }
  }

  /** The due time this replica won, or null when the job is not due or another replica took it. */
  private async claim(job: ScheduledJob<C>): Promise<Date | null> {
    const id = `${this.holder}:${job.name}`;
    const now = new Date();
    const next = new Date(now.getTime() + job.everyMs);
    const lease = await this.leases.findOne({ _id: id });
    if (!lease) {
      this.nextDue.set(job.name, next.getTime());
      try {
        await this.leases.insertOne({ _id: id, nextRunAt: next, lastRunAt: now, owner: this.owner });
        return now;
      } catch (err) {
        if (isDuplicateKey(err)) return null;
        throw err;
      }
    }
    if (lease.nextRunAt > now) {
      this.nextDue.set(job.name, lease.nextRunAt.getTime());
      return null;
    }
    // Won or lost, the lease now says about `next`: the winner moved it there.
    this.nextDue.set(job.name, next.getTime());
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
