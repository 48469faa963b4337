// Where the time of one saga goes: latency by outcome, and the gap before each transition (from the
// previous transition's commit, or from the saga's creation, to this transition's commit), read from
// the saga_history copies of the finished sagas. At concurrency 1 nothing queues, so the gaps are the
// hops' own latency: publish, delivery, the receiver's work and its reply, and the orchestrator's step.
import type { Collection } from 'mongodb';
import type { HistoryEntry, SagaDoc } from '../runtime/store/index.ts';
import type { Finished } from './e2e.ts';
import { round, summarize } from './stats.ts';

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
}

const spread = (values: number[]): Spread => {
  const s = summarize(values);
  return { count: values.length, p50: round(s.p50, 1), p95: round(s.p95, 1), p99: round(s.p99, 1) };
};

/** Reads the history of at most `sample` finished sagas (the last ones) and sums up where time went. */
export async function hopBreakdown(
  sagas: Collection<SagaDoc>,
  history: Collection<HistoryEntry>,
  finished: Finished[],
  sample = 2000,
): Promise<HopBreakdown> {
  const done = finished.filter((f) => Number.isFinite(f.serverMs)).slice(-sample);
  const ids = done.map((f) => f.sagaId);
  const created = new Map<string, number>();
  const entries = new Map<string, HistoryEntry[]>();
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    for (const d of await sagas.find({ _id: { $in: chunk } }, { projection: { createdAt: 1 } }).toArray())
      created.set(d._id, d.createdAt.getTime());
    for (const h of await history
      .find({ sagaId: { $in: chunk } }, { projection: { sagaId: 1, rev: 1, event: 1, at: 1 } })
      .toArray()) {
      const list = entries.get(h.sagaId) ?? [];
      list.push(h);
      entries.set(h.sagaId, list);
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
  return { byOutcome, byEvent, sagas: done.length };
}
