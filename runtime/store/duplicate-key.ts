import { MongoServerError } from 'mongodb';

/** The server's code for a write that met a unique index: the document (or key) exists. */
export const duplicateKeyCode = 11000;

/** A write that failed on a unique key: a document it would insert (or upsert) exists. */
export const isDuplicateKey = (err: unknown): boolean =>
  err instanceof MongoServerError && err.code === duplicateKeyCode;

/**
 * A write that failed only on duplicate keys: a document it would insert (or upsert) exists. For
 * an insert of copies that is done already; for an upsert, sending it again matches the document.
 */
export function onlyDuplicates(err: unknown): boolean {
  if (!(err instanceof MongoServerError)) return false;
  if (err.code === duplicateKeyCode) return true;
  const found = (err as { writeErrors?: { code?: number } | Array<{ code?: number }> }).writeErrors;
  const writeErrors = found === undefined ? [] : [found].flat();
  return writeErrors.length > 0 && writeErrors.every((e) => e.code === duplicateKeyCode);
}
