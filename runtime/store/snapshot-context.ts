import type { SagaDoc } from './saga-doc.ts';

/**
 * The persisted snapshot as stored: without its context, which the document holds already (it was a
 * third of a saga document, written again at every transition and read at every activation).
 */
export function withoutContext(snapshot: unknown): unknown {
  if (snapshot === null || typeof snapshot !== 'object' || !('context' in snapshot)) return snapshot;
  const { context: _context, ...rest } = snapshot as Record<string, unknown>;
  return rest;
}

/**
 * A stored saga with its snapshot whole again: the context goes back into a snapshot stored without
 * one. Documents written before the context was left out still carry it and are returned as they are.
 */
export function withSnapshotContext<D extends Pick<SagaDoc, 'snapshot' | 'context'>>(doc: D): D;
export function withSnapshotContext<D extends Pick<SagaDoc, 'snapshot' | 'context'>>(doc: D | null): D | null;
export function withSnapshotContext<D extends Pick<SagaDoc, 'snapshot' | 'context'>>(
  doc: D | null,
): D | null {
  const snap = doc?.snapshot;
  if (!doc || snap === null || typeof snap !== 'object' || 'context' in snap || !('value' in snap))
    return doc;
  doc.snapshot = { ...snap, context: doc.context };
  return doc;
}
