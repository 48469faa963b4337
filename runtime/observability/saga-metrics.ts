import { isTerminal, type SagaDoc, type SagaStatus } from '../store/index.ts';
import { sagaMetrics } from './metrics.ts';

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
