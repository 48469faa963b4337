import { isDeepStrictEqual } from 'node:util';
import {
  BSON,
  type BulkWriteResult,
  type Collection,
  type Filter,
  MongoBulkWriteError,
  MongoServerError,
  type OptionalUnlessRequiredId,
  type WriteError,
} from 'mongodb';
import { Batcher } from './batcher.ts';
import { duplicateKeyCode, isDuplicateKey } from './duplicate-key.ts';

/** What became of one inbox record: stored now, there before (same `_id`), or not stored. */
export type RecordOutcome = 'inserted' | 'duplicate' | { error: unknown };

/** What the error of an insert says of one record; `unconfirmed`: not named, and not proven stored. */
export type ReportedOutcome = RecordOutcome | 'unconfirmed';

/**
 * Bytes of records per `insertMany`, far below the 16 MiB at which the driver splits a bulk
 * write into several `insert` commands. One command per call is what makes its `writeErrors`
 * complete: after a sub-command with write errors the driver sends no further one, even
 * unordered, and the records it never sent are named nowhere (its `insertedIds` lists them
 * all the same: it is what was queued, not what the server stored).
 */
const chunkBytes = 4 * 1024 * 1024;

/**
 * Inserts documents keyed by a unique `_id` in batches: documents inserted at the same time
 * (the inbox records of a participant's concurrent commands, the sagas the API starts) go
 * together in one `insertMany(..., { ordered: false })` (group commit, see Batcher), a lone
 * one at once. Each gets its own outcome: `inserted` when the server confirmed it,
 * `duplicate` when its `_id` was there (a participant then reads and publishes the recorded
 * reply; the API answers with the saga that exists), or an error (retried by the caller) when
 * it failed or its fate is unknown. A document is never reported inserted unless this very
 * document is known stored: only then may a participant publish its reply without reading.
 */
export class InsertBatcher<D extends { _id: string }> {
  /** `insert` commands sent: the round trips the inbox cost (read-backs not counted). */
  writes = 0;
  private readonly batcher: Batcher<D, RecordOutcome>;

  constructor(
    private readonly collection: Collection<D>,
    opts: { maxBatch: number; maxInFlight: number } = { maxBatch: 128, maxInFlight: 2 },
  ) {
    this.batcher = new Batcher((docs) => this.writeBatch(docs), opts);
  }

  /** Resolves once the record is stored (`inserted`) or found there (`duplicate`); else rejects. */
  async insert(doc: D): Promise<'inserted' | 'duplicate'> {
    const outcome = await this.batcher.submit(doc);
    if (outcome === 'inserted' || outcome === 'duplicate') return outcome;
    throw outcome.error;
  }

  /** Never throws: a failure is the outcome of the records it concerns. */
  private async writeBatch(docs: D[]): Promise<RecordOutcome[]> {
    const outcomes: RecordOutcome[] = [];
    await Promise.all(
      chunks(docs).map(async (indexes) => {
        const part = await this.writeChunk(indexes.map((i) => docs[i]!));
        indexes.forEach((i, j) => (outcomes[i] = part[j]!));
      }),
    );
    return outcomes;
  }

  private async writeChunk(docs: D[]): Promise<RecordOutcome[]> {
    this.writes++;
    let reported: ReportedOutcome[];
    let error: unknown;
    try {
      await this.collection.insertMany(docs as OptionalUnlessRequiredId<D>[], { ordered: false });
      return docs.map(() => 'inserted');
    } catch (err) {
      error = err;
      reported = outcomesOf(err, docs.length);
    }
    if (!reported.includes('unconfirmed')) return reported as RecordOutcome[];
    // The server named the records it refused but its count does not prove the others stored
    // (mongo-java-server counts every record it tried): look at them.
    const unconfirmed = docs.filter((_, i) => reported[i] === 'unconfirmed');
    let stored: Map<string, D>;
    try {
      const found = await this.collection
        .find({ _id: { $in: unconfirmed.map((d) => d._id) } } as Filter<D>)
        .toArray();
      stored = new Map(found.map((d) => [d._id, d as D]));
    } catch {
      return reported.map((r) => (r === 'unconfirmed' ? { error } : r));
    }
    return reported.map((r, i) =>
      r === 'unconfirmed' ? readBack(docs[i]!, stored.get(docs[i]!._id), error) : r,
    );
  }
}

/**
 * An unconfirmed record found as it was sent is this insert's (one of another run differs at
 * least in `at`; were it identical, publishing either would publish the same); found otherwise,
 * another run's: a duplicate; missing: failed. The sent one is compared as stored (through
 * BSON: `undefined` becomes `null`, ...).
 */
function readBack<D extends BSON.Document>(sent: D, found: D | undefined, error: unknown): RecordOutcome {
  if (!found) return { error };
  return isDeepStrictEqual(found, BSON.deserialize(BSON.serialize(sent))) ? 'inserted' : 'duplicate';
}

/** Indexes of `docs` grouped in order into runs of at most `chunkBytes` (a bigger record alone). */
function chunks(docs: unknown[]): number[][] {
  if (docs.length === 1) return [[0]];
  const out: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  docs.forEach((doc, i) => {
    const size = BSON.calculateObjectSize(doc as BSON.Document);
    if (current.length > 0 && bytes + size > chunkBytes) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += size;
  });
  out.push(current);
  return out;
}

/**
 * Maps the error of one unordered `insertMany` of `n` records (one `insert` command) to what it
 * says of each record. The driver (v7) throws a MongoBulkWriteError in every case; only one of
 * them names records: the server answered `ok: 1` with `writeErrors`, one per record it did not
 * insert, by index in the call. A record named with code 11000 is then a duplicate; one named
 * otherwise fails with its own error; the others were inserted if `n` (MongoDB: the records
 * inserted) is all but the named ones and no write concern error came along, else they are
 * `unconfirmed` (mongo-java-server answers `n` = every record, and also reports a failure of the
 * whole command as a write error of record 0). Every other case (the command failed, the
 * connection broke, a write concern error alone) says nothing per record: all fail, except a
 * lone record whose error is a duplicate key, as `insertOne` reported it. Failing is always safe
 * (the command is retried and decides again), and so is `duplicate`: the host reads the record.
 */
export function outcomesOf(err: unknown, n: number): ReportedOutcome[] {
  const named = namedWriteErrors(err, n);
  if (!(err instanceof MongoBulkWriteError) || !named) {
    const lone = n === 1 && isDuplicateKey(err);
    return Array.from({ length: n }, () => (lone ? 'duplicate' : { error: err }));
  }
  const durable = !err.err && !err.result.getWriteConcernError();
  const counted = err.insertedCount === n - named.size;
  return Array.from({ length: n }, (_, i): ReportedOutcome => {
    const we = named.get(i);
    if (!we) return !durable ? { error: err } : counted ? 'inserted' : 'unconfirmed';
    if (we.code === duplicateKeyCode) return 'duplicate';
    // The error insertOne would have thrown for this record alone.
    return {
      error: new MongoServerError({
        message: we.errmsg ?? 'write error',
        code: we.code,
        errInfo: we.errInfo,
      }),
    };
  });
}

/**
 * The records the server reported not inserted, by index; undefined unless the server answered
 * (`ok: 1`) and named each in range, once. The list is the driver's own result, filled only from
 * the server's answer: `err.writeErrors` may also carry what a wrapped error brought along.
 */
function namedWriteErrors(err: unknown, n: number): Map<number, WriteError> | undefined {
  if (!(err instanceof MongoBulkWriteError)) return undefined;
  // Own fields of a wrapped error are copied onto it: `result` must still be the driver's
  // (BulkWriteResult is exported as a type only).
  const result = err.result as Partial<BulkWriteResult> | undefined;
  if (typeof result?.getWriteErrors !== 'function' || typeof result.getWriteConcernError !== 'function')
    return undefined;
  if (result.ok !== 1) return undefined;
  const list = result.getWriteErrors();
  if (list.length === 0) return undefined;
  const named = new Map<number, WriteError>();
  for (const we of list) {
    if (!Number.isInteger(we.index) || we.index < 0 || we.index >= n || named.has(we.index)) return undefined;
    named.set(we.index, we);
  }
  return named;
}
