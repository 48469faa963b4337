import { type JetStreamManager, jetstreamManager, type MsgRequest, type StoredMsg } from '@nats-io/jetstream';
import type { Config } from '../config.ts';
import type { Logger } from '../observability/index.ts';
import { messagingMetrics } from '../observability/metrics.ts';
import { type Bus, headersToRecord } from './bus.ts';
import { buildDeadLetter, deadLetterBudget, deadLetterId, defaultMaxPayload } from './dead-letter.ts';
import { anyMatches } from './subject.ts';

/** The consumer name of the guard's dead letters: `dlq.unrouted`, `GET /v1/dlq?consumer=unrouted`. */
export const unroutedConsumer = 'unrouted';

export interface UnroutedGuardOptions {
  log: Logger;
  /**
   * How old a message no consumer reads must be before it is dead-lettered: a service being
   * deployed creates its durable when it starts, possibly after the first commands for it.
   */
  graceMs?: number;
  /** How often the streams are looked at. */
  intervalMs?: number;
  /** Streams to guard; default the command and the event stream. */
  streams?: readonly string[];
  /** Most messages one sweep dead-letters per subject (the next sweep goes on). */
  batch?: number;
}

/** The guard's settings from the config. */
export function unroutedGuardSettings(config: Config): { graceMs: number; intervalMs: number } {
  return { graceMs: config.unroutedGraceMs, intervalMs: config.unroutedIntervalMs };
}

export interface UnroutedSweep {
  stream: string;
  /** Local subject. */
  subject: string;
  /** Messages dead-lettered and removed by this sweep. */
  removed: number;
}

/**
 * Notices messages no consumer reads: a command for a service that does not exist
 * (`cmd.nosuch.do`) would otherwise sit in its stream until max_age with no log, no metric
 * and no dead letter. Run by the orchestrator role, every `intervalMs`:
 *
 * 1. the stream's subjects with messages (`streams.info` with `subjects_filter: '>'`; the
 *    client pages through long lists) and its durable consumers' filter subjects (one with
 *    no filter reads everything). Only durables count as readers: an ephemeral or ordered
 *    consumer (a tail, a CLI) settles nothing and goes away.
 * 2. for every subject no filter matches (NATS wildcards, `subjectMatches`) in every sweep for
 *    `graceMs` (see `unroutedSince`), its messages older than `graceMs`, oldest first, each
 *    read by sequence (`STREAM.MSG.GET` with `next_by_subj`; the streams use limits
 *    retention, so nothing forbids it, and a direct get would need `allow_direct` on the
 *    stream), dead-lettered under consumer `unrouted`
 *    (reason `unrouted`, the error naming the subject) and, once the DLQ has acked it,
 *    deleted from its stream by sequence: exactly that message, never a newer one on the
 *    subject (a purge by subject would need the same bounds), and never before its copy is
 *    safe. Replayed from the DLQ once a consumer for it exists, it is handled.
 * 3. a warning per subject with the count, and `jetsaga_messages_unrouted_total`.
 *
 * The metric's `subject` label is the subject cut to its service, `cmd.nosuch.>`: a full
 * subject is whatever a publisher typed, and even services are capped at `maxLabelValues`
 * per process (beyond, `other`), so a stream of random subjects cannot blow up the series.
 * Several orchestrator replicas may sweep at once: the dead letter's id is stable
 * (`<stream>-<seq>:unrouted`), so the DLQ keeps one, and a delete of what the other replica
 * deleted is a no-op; a duplicate is not counted twice.
 */
export class UnroutedGuard {
  private readonly graceMs: number;
  private readonly intervalMs: number;
  private readonly batch: number;
  private readonly streams: readonly string[];
  private handle?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = false;
  private jsm?: Promise<JetStreamManager>;
  /**
   * `<stream> <subject>` -> when a sweep first found no durable reading it, since when none has.
   * One listing is not proof: while a NATS cluster loses its quorum or a node rejoins empty, the
   * consumer list can leave out a durable that exists, and every message of its subjects (handled
   * ones too: the streams keep them until max_age) would be dead-lettered and removed. So a
   * subject is unrouted only once the sweeps have found it so for the whole grace period.
   */
  private readonly unroutedSince = new Map<string, number>();
  /** Messages dead-lettered and removed since start. */
  removed = 0;

  constructor(
    private readonly bus: Bus,
    private readonly opts: UnroutedGuardOptions,
  ) {
    this.graceMs = opts.graceMs ?? bus.config.unroutedGraceMs;
    this.intervalMs = opts.intervalMs ?? bus.config.unroutedIntervalMs;
    this.batch = opts.batch ?? 1_000;
    this.streams = opts.streams ?? [bus.topo.streams.cmd, bus.topo.streams.evt];
  }

  start(): void {
    const loop = () => {
      this.running = this.sweep()
        .catch((err) => this.opts.log.warn({ err: String(err) }, 'unrouted message sweep failed'))
        .finally(() => {
          if (!this.stopped) this.handle = setTimeout(loop, this.intervalMs);
        });
    };
    this.handle = setTimeout(loop, this.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.handle) clearTimeout(this.handle);
    await this.running;
    if (this.handle) clearTimeout(this.handle);
  }

  /** One pass over every guarded stream; what it removed, by subject. */
  async sweep(now = Date.now()): Promise<UnroutedSweep[]> {
    // No `$JS.API.INFO` round trip (and no grant for it): the calls below fail clearly enough.
    this.jsm ??= jetstreamManager(this.bus.nc, { checkAPI: false });
    const jsm = await this.jsm;
    const out: UnroutedSweep[] = [];
    for (const stream of this.streams) {
      const info = await jsm.streams.info(stream, { subjects_filter: '>' });
      const subjects = Object.keys(info.state.subjects ?? {});
      // A subject with no message left is forgotten: one published on it later waits out the grace.
      const present = new Set(subjects.map((subject) => `${stream} ${subject}`));
      for (const key of this.unroutedSince.keys())
        if (key.startsWith(`${stream} `) && !present.has(key)) this.unroutedSince.delete(key);
      if (subjects.length === 0) continue;
      const filters = await readerFilters(jsm, stream);
      for (const subject of subjects) {
        if (this.stopped) return out;
        const key = `${stream} ${subject}`;
        if (anyMatches(filters, subject)) {
          this.unroutedSince.delete(key);
          continue;
        }
        const since = this.unroutedSince.get(key) ?? now;
        this.unroutedSince.set(key, since);
        if (now - since < this.graceMs) continue;
        const removed = await this.drain(jsm, stream, subject, info.state.first_seq, now - this.graceMs);
        if (removed === 0) continue;
        const local = this.bus.topo.local(subject);
        this.opts.log.warn(
          { stream, subject: local, count: removed },
          'messages no consumer reads were dead-lettered (consumer unrouted) and removed from their stream',
        );
        out.push({ stream, subject: local, removed });
      }
    }
    return out;
  }

  /** Dead-letters, then deletes, the subject's messages older than `cutoff`, oldest first. */
  private async drain(
    jsm: JetStreamManager,
    stream: string,
    subject: string,
    firstSeq: number,
    cutoff: number,
  ): Promise<number> {
    const local = this.bus.topo.local(subject);
    let seq = firstSeq;
    let removed = 0;
    for (let i = 0; i < this.batch && !this.stopped; i++) {
      // The client's type lacks `next_by_subj`, which the server's MSG.GET takes (2.10+).
      const msg: StoredMsg | null = await jsm.streams.getMessage(stream, {
        seq,
        next_by_subj: subject,
      } as unknown as MsgRequest);
      if (!msg) break;
      // Younger ones may still get their consumer; a later sweep looks again.
      if (msg.time.getTime() > cutoff) break;
      seq = msg.seq + 1;
      const id = deadLetterId(stream, msg.seq, unroutedConsumer);
      const letter = buildDeadLetter(
        {
          consumer: unroutedConsumer,
          stream,
          streamSeq: msg.seq,
          subject: local,
          headers: headersToRecord(msg.header),
          data: msg.data,
          reason: 'unrouted',
          error: `no consumer reads ${local}: no durable consumer of ${stream} has a filter matching it (a service that does not exist, or has not started for over ${Math.round(this.graceMs / 1000)} s)`,
          attempts: 0,
        },
        deadLetterBudget(this.bus.nc.info?.max_payload ?? defaultMaxPayload, id),
      );
      const ack = await this.bus.js.publish(
        this.bus.topo.dlqSubject(unroutedConsumer),
        JSON.stringify(letter),
        { msgID: id },
      );
      // Gone already (another replica's sweep) is fine; a failure leaves it for the next sweep,
      // whose dead letter the DLQ drops as a duplicate within its window.
      await jsm.streams.deleteMessage(stream, msg.seq, false).catch((err: unknown) => {
        if (!/not found|no message/i.test(String(err)))
          this.opts.log.warn(
            { err: String(err), stream, seq: msg.seq },
            'removing an unrouted message failed',
          );
      });
      if (ack.duplicate) continue;
      removed++;
      this.removed++;
      messagingMetrics.unrouted.inc({ stream, subject: metricSubject(local) });
    }
    return removed;
  }
}

/** Filter subjects of the stream's durable consumers; `>` for one that reads everything. */
async function readerFilters(jsm: JetStreamManager, stream: string): Promise<string[]> {
  const filters: string[] = [];
  for await (const ci of jsm.consumers.list(stream)) {
    if (!ci.config.durable_name) continue;
    const own = ci.config.filter_subjects?.length
      ? ci.config.filter_subjects
      : ci.config.filter_subject
        ? [ci.config.filter_subject]
        : ['>'];
    filters.push(...own);
  }
  return filters;
}

const maxLabelValues = 100;
const labelValues = new Set<string>();

/** `cmd.nosuch.do` -> `cmd.nosuch.>`; `other` past `maxLabelValues` distinct ones. */
function metricSubject(local: string): string {
  const tokens = local.split('.');
  const value = tokens.length > 2 ? `${tokens[0]}.${tokens[1]}.>` : local;
  if (labelValues.has(value)) return value;
  if (labelValues.size >= maxLabelValues) return 'other';
  labelValues.add(value);
  return value;
}
