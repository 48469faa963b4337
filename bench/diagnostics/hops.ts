// Where the time of one saga goes: latency by outcome, and the gap before each transition (from the
// previous transition's commit, or from the saga's creation, to this transition's commit), read from
// the history on the finished sagas' documents. At concurrency 1 nothing queues, so the gaps are the
// hops' own latency: publish, delivery, the receiver's work and its reply, and the orchestrator's step.
// With the streams' positions from before the run, each hop is also split into its legs, from the
// stream's own timestamps and the envelopes' (see `legBreakdown`); no runtime code is instrumented.
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Collection } from 'mongodb';
import type { Envelope } from '../../runtime/wire/index.ts';
import type { HistoryEntry, SagaDoc } from '../../runtime/store/index.ts';
import type { Finished } from '../e2e.ts';
import { round, summarize } from '../stats.ts';

export interface Spread {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface HopBreakdown {
  /** Start-to-terminal latency by `status` (and `reason` when there is one). */
  byOutcome: Record<string, Spread & { transitions: number | null }>;
  /** Gap before each transition (the first one: from the saga's creation), by the event that caused it. */
  byEvent: Record<string, Spread>;
  /** Sagas whose history was read (at most `sample`). */
  sagas: number;
  /** Each hop split into its legs, by who answered (when the streams' positions were given). */
  legs: Record<string, Legs> | null;
}

/**
 * One hop, from the step that sent a message to the step its answer caused, in four legs (ms):
 * - `step`: the orchestrator's step that sent the command (machine, commit, publish) until the
 *   stream stored the command (the command's `occurredAt` is taken as the step starts);
 * - `answer`: the command stored -> the answer made (delivery to the participant, its handler);
 * - `reply`: the answer made -> the answer stored (the inbox record, the publish);
 * - `back`: the answer stored -> the orchestrator's next step began (delivery, the saga's mailbox).
 * A reactor answering an event (the fraud agent) has no `step` leg of its own here: its event is a
 * participant's reply. Envelope and history times are whole milliseconds (truncated), so one leg is
 * off by up to 1 ms (a `back` may read -0.2); their medians over hundreds of hops are what to read.
 */
export interface Legs {
  count: number;
  step: Spread | null;
  answer: Spread;
  reply: Spread;
  back: Spread;
}

/** Where each stream stood before the run: messages after these sequences are the run's. */
export interface StreamMarks {
  jsm: JetStreamManager;
  cmd: { stream: string; afterSeq: number };
  evt: { stream: string; afterSeq: number };
}

interface Stored {
  env: Envelope;
  /** When the stream stored it (epoch ms, sub-millisecond). */
  storedMs: number;
}

const spread = (values: number[]): Spread => {
  const s = summarize(values);
  return { count: values.length, p50: round(s.p50, 1), p95: round(s.p95, 1), p99: round(s.p99, 1) };
};

/** Reads the history of at most `sample` finished sagas (the last ones) and sums up where time went. */
export async function hopBreakdown(
  sagas: Collection<SagaDoc>,
  finished: Finished[],
  sample = 2000,
  marks?: StreamMarks,
): Promise<HopBreakdown> {
  const done = finished.filter((f) => Number.isFinite(f.serverMs)).slice(-sample);
  const ids = done.map((f) => f.sagaId);
  const created = new Map<string, number>();
  const entries = new Map<string, HistoryEntry[]>();
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    // A saga of the bench's size keeps its whole history on its document.
    for (const d of await sagas
      .find({ _id: { $in: chunk } }, { projection: { createdAt: 1, history: 1 } })
      .toArray()) {
      created.set(d._id, d.createdAt.getTime());
      entries.set(d._id, Object.values(d.history ?? {}));
    }
  }
  const outcomeLatency = new Map<string, number[]>();
  const outcomeSteps = new Map<string, number[]>();
  const gaps = new Map<string, number[]>();
  for (const f of done) {
    const key = f.reason ? `${f.status}:${f.reason}` : f.status;
    (outcomeLatency.get(key) ?? outcomeLatency.set(key, []).get(key)!).push(f.serverMs);
    const list = (entries.get(f.sagaId) ?? []).sort((a, b) => a.rev - b.rev);
    (outcomeSteps.get(key) ?? outcomeSteps.set(key, []).get(key)!).push(list.length);
    let prev = created.get(f.sagaId);
    for (const h of list) {
      const at = h.at.getTime();
      if (prev !== undefined) {
        const type = h.event.type;
        (gaps.get(type) ?? gaps.set(type, []).get(type)!).push(at - prev);
      }
      prev = at;
    }
  }
  const byOutcome: HopBreakdown['byOutcome'] = {};
  for (const [key, values] of [...outcomeLatency].sort((a, b) => b[1].length - a[1].length)) {
    const steps = outcomeSteps.get(key) ?? [];
    byOutcome[key] = {
      ...spread(values),
      transitions: steps.length ? round(steps.reduce((s, v) => s + v, 0) / steps.length, 1) : null,
    };
  }
  const byEvent: HopBreakdown['byEvent'] = {};
  for (const [type, values] of [...gaps].sort((a, b) => b[1].length - a[1].length))
    byEvent[type] = spread(values);
  const legs = marks ? await legBreakdown(marks, new Set(ids), entries) : null;
  return { byOutcome, byEvent, sagas: done.length, legs };
}

/** The run's messages of one stream, by envelope id, for the given sagas. */
async function storedMessages(
  jsm: JetStreamManager,
  stream: string,
  afterSeq: number,
  sagaIds: Set<string>,
): Promise<Map<string, Stored>> {
  const out = new Map<string, Stored>();
  const last = (await jsm.streams.info(stream)).state.last_seq;
  const seqs = Array.from({ length: Math.max(0, last - afterSeq) }, (_, i) => afterSeq + 1 + i);
  // A few dozen reads in flight: thousands of messages in a second or two.
  for (let i = 0; i < seqs.length; i += 64) {
    const got = await Promise.all(
      seqs.slice(i, i + 64).map((seq) => jsm.streams.getMessage(stream, { seq }).catch(() => null)),
    );
    for (const m of got) {
      if (!m) continue;
      const env = m.json<Envelope>();
      if (sagaIds.has(env.sagaId))
        out.set(env.id, { env, storedMs: m.time.getTime() + (m.timestamp ? subMs(m.timestamp) : 0) });
    }
  }
  return out;
}

/** The sub-millisecond part of an RFC 3339 timestamp with nanoseconds (`...:05.123456789Z`). */
function subMs(ts: string): number {
  const frac = /\.(\d+)/.exec(ts)?.[1] ?? '';
  return frac.length > 3 ? Number(`0.${frac.slice(3)}`) : 0;
}

async function legBreakdown(
  marks: StreamMarks,
  sagaIds: Set<string>,
  entries: Map<string, HistoryEntry[]>,
): Promise<Record<string, Legs>> {
  const [cmds, evts] = await Promise.all([
    storedMessages(marks.jsm, marks.cmd.stream, marks.cmd.afterSeq, sagaIds),
    storedMessages(marks.jsm, marks.evt.stream, marks.evt.afterSeq, sagaIds),
  ]);
  const by = new Map<string, { step: number[]; answer: number[]; reply: number[]; back: number[] }>();
  for (const list of entries.values()) {
    for (const h of list) {
      const answer = evts.get(h.event.id);
      const causeId = answer?.env.causationId;
      if (!answer || !causeId) continue;
      const cause = cmds.get(causeId) ?? evts.get(causeId);
      if (!cause) continue;
      const who = answer.env.type.split('.')[0] ?? answer.env.type;
      const legs = by.get(who) ?? by.set(who, { step: [], answer: [], reply: [], back: [] }).get(who)!;
      const made = Date.parse(answer.env.occurredAt);
      if (cmds.has(causeId)) legs.step.push(cause.storedMs - Date.parse(cause.env.occurredAt));
      legs.answer.push(made - cause.storedMs);
      legs.reply.push(answer.storedMs - made);
      legs.back.push(h.at.getTime() - answer.storedMs);
    }
  }
  const out: Record<string, Legs> = {};
  for (const [who, l] of [...by].sort((a, b) => b[1].answer.length - a[1].answer.length)) {
    out[who] = {
      count: l.answer.length,
      step: l.step.length ? spread(l.step) : null,
      answer: spread(l.answer),
      reply: spread(l.reply),
      back: spread(l.back),
    };
  }
  return out;
}
