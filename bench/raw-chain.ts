// Round trips chained the way a saga makes them: every call waits for the one before it, and the first
// call of each step comes right after a message was delivered. Still no jetsaga code in between.
import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import type { Collection, Document } from 'mongodb';
import type { Envelope } from '../runtime/wire/index.ts';
import { percentile } from './stats.ts';

export interface ChainFigure {
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /**
   * Every measured value, ascending, to the microsecond: the distribution a saga's chain is drawn
   * from (chain-tail.ts). In the result file, only the chosen pass's (`raw`) keeps them.
   */
  samplesMs?: number[];
}

export interface ChainResult {
  /** Hops measured; each is two messages (a command, its answer) and three store calls. */
  hops: number;
  /** Publish until the message is delivered to a durable pull consumer (the PubAck not waited for). */
  delivery: ChainFigure;
  /** A store call right after a delivery: the first call of a step or a handler. */
  afterDelivery: ChainFigure;
  /** A store call right after another one: the rest of a handler's calls, its inbox record. */
  afterStore: ChainFigure;
}

/** A message not delivered by then fails the run instead of hanging it. */
const deliveryTimeoutMs = 10_000;

/**
 * A saga hop without jetsaga:
 * side A, like the orchestrator: `updateOne({_id, rev})` of a saga-sized document, publish a command;
 * side B, on delivery, like a participant: an update of a small document, insert a record, publish
 * the answer; side A again on its delivery. The two subjects have durable pull consumers set up
 * like the runtime's. What a saga waits for at concurrency 1 is a chain like this one, not a hot loop
 * of one call. Both sides run in this process, so no process that waited has to wake between them:
 * the fastest such chain (what a split into processes adds: bench/JOURNAL.md, "Fifth pass").
 */
export async function measureChain(opts: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  subjectPrefix: string;
  /** For side B's small document and its records. */
  coll: Collection<{ _id: string } & Document>;
  /** Publishes the raw bounds' envelope (with the runtime's headers) to a subject. */
  publish: (subject: string) => Promise<unknown>;
  /** The raw bounds' saga update: `updateOne({_id, rev})` of a saga-sized document. */
  updateSaga: () => Promise<void>;
  /** The body of B's records. */
  envelope: Envelope;
  hops: number;
  pullBatch: number;
}): Promise<ChainResult> {
  const { js, jsm, stream, coll, envelope: env } = opts;
  const subjects = { cmd: `${opts.subjectPrefix}.cmd`, reply: `${opts.subjectPrefix}.reply` };
  const delivered = new Map<string, (at: number) => void>();
  const pumps: Array<Promise<void>> = [];
  const closers: Array<() => Promise<void>> = [];
  for (const [side, subject] of Object.entries(subjects)) {
    const durable = `chain-${side}`;
    await jsm.consumers.add(stream, {
      durable_name: durable,
      filter_subject: subject,
      deliver_policy: DeliverPolicy.New,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(30_000),
    });
    const messages = await (
      await js.consumers.get(stream, durable)
    ).consume({ max_messages: opts.pullBatch });
    closers.push(() => messages.close().then(() => undefined));
    pumps.push(
      (async () => {
        for await (const m of messages) {
          const at = performance.now();
          m.ack();
          const waiter = delivered.get(side);
          delivered.delete(side);
          waiter?.(at);
        }
      })(),
    );
  }
  const send = async (side: 'cmd' | 'reply'): Promise<number> => {
    let timer: NodeJS.Timeout | undefined;
    const arrived = new Promise<number>((resolve, reject) => {
      delivered.set(side, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
      timer = setTimeout(
        () => reject(new Error(`raw chain: no delivery on ${subjects[side]} within ${deliveryTimeoutMs} ms`)),
        deliveryTimeoutMs,
      );
    });
    const t0 = performance.now();
    const [, at] = await Promise.all([opts.publish(subjects[side]), arrived]);
    return at - t0;
  };
  const timed = async (call: () => Promise<unknown>, into: number[]) => {
    const t0 = performance.now();
    await call();
    into.push(performance.now() - t0);
  };

  await coll.insertOne({ _id: 'chain-stock', held: 0 });
  const delivery: number[] = [];
  const afterDelivery: number[] = [];
  const afterStore: number[] = [];
  try {
    // The first hop warms both consumers; it is not counted.
    for (let hop = -1; hop < opts.hops; hop++) {
      const d = hop < 0 ? [] : delivery;
      const ad = hop < 0 ? [] : afterDelivery;
      const as = hop < 0 ? [] : afterStore;
      await timed(opts.updateSaga, ad);
      d.push(await send('cmd'));
      await timed(
        // An inventory-like hold on a small document.
        () => coll.updateOne({ _id: 'chain-stock' }, { $inc: { held: 1 }, $set: { updatedAt: new Date() } }),
        ad,
      );
      await timed(() => coll.insertOne({ _id: `chain-record-${hop}`, reply: env, at: new Date() }), as);
      d.push(await send('reply'));
    }
  } finally {
    for (const close of closers) await close().catch(() => undefined);
    await Promise.all(pumps).catch(() => undefined);
  }
  const figure = (values: number[]): ChainFigure => {
    const sorted = [...values].sort((a, b) => a - b);
    // Rounding keeps the order: the samples stay ascending.
    const samplesMs = sorted.map((v) => Math.round(v * 1000) / 1000);
    return { count: values.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), samplesMs };
  };
  return {
    hops: opts.hops,
    delivery: figure(delivery),
    afterDelivery: figure(afterDelivery),
    afterStore: figure(afterStore),
  };
}
