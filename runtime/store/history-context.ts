import type { ContextChanges, HistoryEntry, StoredHistoryEntry } from './saga-doc.ts';

/**
 * How a history entry stores the saga's context after its step. A step changes a few of the
 * context's fields, and a saga document holds one entry per step, each rewritten by every later
 * update of the document: whole contexts would be most of an order's document (17.6 KB against
 * 10.7 for the bench's largest). So an entry stores only the top-level fields its step set or
 * removed, against the previous entry's context, and the readers of the history (`withContexts`)
 * rebuild each context whole, which is what the API and the inspector serve.
 *
 * An entry of a keyframe revision (1, 33, 65, ...) stores its context whole, so that rebuilding
 * one needs at most `contextKeyframeEvery` entries, and a document whose oldest entries moved to
 * `saga_history` (32 at a time) still starts on one. So does an entry whose previous context was
 * not recorded (over the size limit), which a change could not be applied to.
 */
export const contextKeyframeEvery = 32;

/** The revision of the entry that stores the context whole and that `rev`'s context builds on. */
export function keyframeOf(rev: number): number {
  return rev < 1 ? rev : rev - ((rev - 1) % contextKeyframeEvery);
}

type Fields = Record<string, unknown>;

function isFields(v: unknown): v is Fields {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The fields of `next` that differ from `previous` by reference (a step's `assign` keeps the ones
 * it leaves alone; a field with a new reference and the same value is stored again, which costs
 * bytes, not correctness) and the fields it no longer has. Null when either is not an object of
 * fields, or when every field changed: the whole context is no larger then.
 */
export function contextChangesOf(previous: unknown, next: unknown): ContextChanges | null {
  if (!isFields(previous) || !isFields(next)) return null;
  const changed: Array<[string, unknown]> = [];
  let kept = 0;
  for (const key of Object.keys(next)) {
    const value = next[key];
    if (Object.hasOwn(previous, key) && previous[key] === value) kept++;
    else changed.push([key, value === undefined ? null : value]);
  }
  if (kept === 0 && changed.length > 0) return null;
  // fromEntries defines each field as its own, `__proto__` included.
  const set = Object.fromEntries(changed);
  const unset = Object.keys(previous).filter((key) => !Object.hasOwn(next, key));
  return unset.length > 0 ? { set, unset } : { set };
}

/** `previous` with `changes` applied: a new object, `previous` untouched. */
export function applyContextChanges(previous: Fields, changes: ContextChanges): Fields {
  const next: Fields = { ...previous, ...changes.set };
  for (const key of changes.unset ?? []) delete next[key];
  return next;
}

/**
 * The entries (in revision order, as stored) with each context whole again: an entry stored as
 * changes gets the previous entry's context with them applied, and loses `contextChanges`. One
 * whose previous context is unknown (not among `entries`, or not recorded) gets no context, as an
 * entry written before jetsaga recorded contexts.
 */
export function withContexts(entries: readonly StoredHistoryEntry[]): HistoryEntry[] {
  let context: Fields | undefined;
  let rev: number | undefined;
  return entries.map((stored) => {
    const { contextChanges, ...entry } = stored;
    const follows = rev !== undefined && entry.rev === rev + 1;
    rev = entry.rev;
    if (contextChanges === undefined) {
      context = 'context' in entry && isFields(entry.context) ? entry.context : undefined;
      return entry;
    }
    context = follows && context !== undefined ? applyContextChanges(context, contextChanges) : undefined;
    return context === undefined ? entry : { ...entry, context };
  });
}
