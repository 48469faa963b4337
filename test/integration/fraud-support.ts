import type { TestNode } from '../harness.ts';

/**
 * A saga's history once all `rev` entries are there: entries are copied beside the
 * outbox publish, so the last one may land a moment after the saga document.
 */
export async function fullHistory(node: TestNode, sagaId: string, rev: number, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const history = await node.store.historyOf(sagaId);
    if (history.length >= rev || Date.now() > until) return history;
    await new Promise((r) => setTimeout(r, 25));
  }
}
