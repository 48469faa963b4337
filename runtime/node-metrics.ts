import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { type Bus, consumerLag, type DurableConsumer } from './messaging/index.ts';
import { type MetricsSnapshot, type MetricsSource, sagaMetrics } from './observability/index.ts';
import { isTerminal, type SagaDoc, type SagaStatus, type SagaStore } from './store/index.ts';

/**
 * What a node feeds the metrics registry (observability/metrics.ts): its source, read on scrape,
 * and the observer of its orchestrator's transitions. Assembled here, next to node.ts, because
 * they read the parts a node is made of (the bus's consumers, the store's backlog).
 */

/** Counting stops here: a scrape must stay cheap however large a backlog grows. */
const countCap = 100_000;

export interface NodeMetricsParts {
  id: string;
  bus: Bus;
  store: SagaStore;
  /** This process's durable consumers, by durable name. */
  consumers: () => Array<{ consumer: string; stats: DurableConsumer['stats'] }>;
  actors?: () => { live: number; passivations: number };
}

/**
 * What a node reports on scrape: its own consumers' totals and actors, and the shared
 * state every node can see (consumer lag, DLQ size, outbox and timer backlogs). Shared
 * values are the same from every replica; aggregate them with max(), not sum().
 */
export function nodeMetricsSource(parts: NodeMetricsParts): MetricsSource {
  let jsm: Promise<JetStreamManager> | undefined;
  const manager = () => (jsm ??= jetstreamManager(parts.bus.nc));
  const { topo } = parts.bus;
  return {
    id: parts.id,
    async snapshot(): Promise<MetricsSnapshot> {
      const m = await manager();
      const now = new Date();
      const [consumerInfo, dlq, backlog] = await Promise.all([
        consumerLag(m, parts.bus).catch(() => undefined),
        m.streams
          .info(topo.streams.dlq, { subjects_filter: topo.allDlq })
          .then((info) =>
            Object.entries(info.state.subjects ?? {}).map(([subject, messages]) => ({
              stream: topo.streams.dlq,
              consumer: topo.local(subject).replace(/^dlq\./, ''),
              messages,
            })),
          )
          .catch(() => undefined),
        // Outbox entries older than the sweep's grace: what a crash left for the sweep (younger ones
        // are published and only wait to be cleared with the saga's next write). Indexed counts.
        parts.store
          .countBacklog({
            now,
            outboxBefore: new Date(now.getTime() - parts.bus.config.outboxGraceMs),
            cap: countCap,
          })
          .catch(() => undefined),
      ]);
      // A part that cannot be read is left out of this scrape rather than reported as zero.
      return {
        consumers: parts.consumers().map(({ consumer, stats }) => ({ consumer, ...stats })),
        consumerInfo,
        dlq,
        actors: parts.actors?.(),
        backlog,
      };
    },
  };
}

/** The part of a committed transition the metrics read (the orchestrator's `onTransition`). */
export type TransitionObserver = (
  doc: Pick<SagaDoc, '_id' | 'type' | 'rev' | 'createdAt' | 'state'>,
  result: { status: SagaStatus },
  event: unknown,
) => void;

/**
 * Counts sagas started and ended by type and status, saga durations, and how long each
 * state lasted. A state's duration needs the previous transition's time, which this
 * process only knows when it ran that transition too: after a restart or a hand-over
 * between replicas the first step is not measured (better than a wrong number).
 */
export function sagaMetricsObserver(maxTracked = 50_000): TransitionObserver {
  const enteredAt = new Map<string, { state: string | null; at: number }>();
  const observe: TransitionObserver = (doc, result) => {
    const now = Date.now();
    const type = doc.type;
    sagaMetrics.transitions.inc({ type });
    if (doc.rev === 1) sagaMetrics.started.inc({ type });
    const state = doc.state ?? null;
    const previous = enteredAt.get(doc._id);
    if (previous)
      sagaMetrics.step.observe({ type, state: previous.state ?? '(start)' }, (now - previous.at) / 1000);
    enteredAt.delete(doc._id);
    if (isTerminal(result.status)) {
      sagaMetrics.ended.inc({ type, status: result.status });
      const created = new Date(doc.createdAt).getTime();
      if (!Number.isNaN(created))
        sagaMetrics.duration.observe({ type, status: result.status }, (now - created) / 1000);
      return;
    }
    enteredAt.set(doc._id, { state, at: now });
    // Oldest first (insertion order): forget sagas that went quiet for long.
    if (enteredAt.size > maxTracked) enteredAt.delete(enteredAt.keys().next().value!);
  };
  // Counting must never fail a transition that is already committed.
  return (doc, result, event) => {
    try {
      observe(doc, result, event);
    } catch {
      // a metric that cannot be recorded is lost, not the saga's step
    }
  };
}
