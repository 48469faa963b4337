// Raw bounds: what NATS JetStream and the MongoDB-wire server do on this machine with no jetsaga code
// in between, for the operations a saga step needs, in a scratch stream and database of their own.
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { headers as natsHeaders, nanos } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { MongoClient } from 'mongodb';
import type { Envelope } from '../runtime/wire/index.ts';
import { type ChainResult, measureChain } from './raw-chain.ts';
import { lanes, summarize } from './stats.ts';

export interface RawSettings {
  /** Publishes awaited one by one, for the latency figures. */
  syncCount: number;
  /** How long the pipelined publish and each store throughput run last. */
  runMs: number;
  /** Publishes in flight in the pipelined run. */
  window: number;
  /** Sequential updates for the store latency figures. */
  storeLatencyCount: number;
  /** Concurrencies of the store throughput runs. */
  concurrencies: number[];
  /** Hops of the chained round trips (raw-chain.ts). */
  chainHops: number;
  /** The consumer's settings in the runtime (max_ack_pending, messages per pull). */
  maxAckPending: number;
  pullBatch: number;
  duplicateWindowMs: number;
}

export interface RawResult {
  publish: {
    payloadBytes: number;
    syncCount: number;
    syncP50Ms: number | null;
    syncP99Ms: number | null;
    window: number;
    pipelinedCount: number;
    pipelinedPerSec: number;
  };
  consume: { count: number; perSec: number; pullBatch: number; maxAckPending: number };
  store: {
    docBytes: number;
    latencyCount: number;
    latencyP50Ms: number | null;
    latencyP99Ms: number | null;
    perSecByConcurrency: Record<string, number>;
    bestConcurrency: number;
    maxPerSec: number;
  };
  /** The same calls chained the way a saga makes them (raw-chain.ts). */
  chain: ChainResult;
}

/**
 * Measures, with the message and document shapes a real saga produced in this run:
 * JetStream publish with Nats-Msg-Id awaiting the PubAck (one at a time, then `window` in flight),
 * consume + ack through a durable pull consumer set up like the runtime's, and
 * `updateOne({_id, rev}, {$set: {...saga fields, rev: rev + 1}})` one at a time and at each concurrency;
 * then publishes and store calls chained the way a saga's hops make them (raw-chain.ts).
 */
export async function measureRaw(opts: {
  natsUrl: string;
  mongoUrl: string;
  scratch: string;
  envelope: Envelope;
  sagaDoc: Record<string, unknown>;
  settings: RawSettings;
  say: (line: string) => void;
  /** Run before the store's figures, e.g. a full collection of the local store's heap. */
  beforeStore?: () => Promise<void>;
}): Promise<RawResult> {
  const { settings: s, say } = opts;
  const nc = await connect({
    servers: opts.natsUrl.split(','),
    name: 'jetsaga-bench-raw',
    noAsyncTraces: true,
  });
  const js = jetstream(nc, { timeout: 10_000 });
  const jsm = await jetstreamManager(nc);
  const stream = `${opts.scratch.toUpperCase()}_RAW`;
  const subject = `${opts.scratch}.raw.cmd.inventory.reserve`;
  const mongo = new MongoClient(opts.mongoUrl, { maxPoolSize: Math.max(64, ...s.concurrencies) });
  try {
    await jsm.streams.add({
      name: stream,
      subjects: [`${opts.scratch}.raw.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: 1,
      duplicate_window: nanos(s.duplicateWindowMs),
    });
    const payload = new TextEncoder().encode(JSON.stringify(opts.envelope));
    const env = opts.envelope;
    let seq = 0;
    const publishTo = (to: string) => {
      const h = natsHeaders();
      h.set('saga-id', env.sagaId);
      h.set('saga-type', env.sagaType);
      h.set('message-type', env.type);
      h.set('schema-version', String(env.schemaVersion));
      h.set('correlation-id', env.correlationId);
      if (env.causationId) h.set('causation-id', env.causationId);
      if (env.traceparent) h.set('traceparent', env.traceparent);
      return js.publish(to, payload, { msgID: `raw:${seq++}`, headers: h });
    };
    const publishOne = () => publishTo(subject);

    // 1. Publish, one at a time.
    const sync: number[] = [];
    for (let i = 0; i < s.syncCount; i++) {
      const t0 = performance.now();
      await publishOne();
      sync.push(performance.now() - t0);
    }
    const syncSummary = summarize(sync);
    say(`  raw publish (sync): p50 ${syncSummary.p50?.toFixed(2)} ms, p99 ${syncSummary.p99?.toFixed(2)} ms`);

    // 2. Publish, `window` in flight.
    const pStart = performance.now();
    const pEnd = pStart + s.runMs;
    const pipelinedCount = await lanes(
      s.window,
      () => performance.now() >= pEnd,
      async () => {
        await publishOne();
      },
    );
    const pipelinedPerSec = pipelinedCount / ((performance.now() - pStart) / 1000);
    say(`  raw publish (${s.window} in flight): ${Math.round(pipelinedPerSec)}/s`);

    // 3. Consume + ack everything published, through a durable pull consumer.
    const total = seq;
    await jsm.consumers.add(stream, {
      durable_name: 'raw',
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: s.maxAckPending,
      ack_wait: nanos(30_000),
    });
    const consumer = await js.consumers.get(stream, 'raw');
    const cStart = performance.now();
    const messages = await consumer.consume({ max_messages: s.pullBatch });
    let consumed = 0;
    const capMs = Math.max(30_000, s.runMs * 10);
    const cap = setTimeout(() => void messages.close(), capMs);
    for await (const m of messages) {
      m.ack();
      if (++consumed >= total) break;
    }
    clearTimeout(cap);
    const consumeSecs = (performance.now() - cStart) / 1000;
    await messages.close().catch(() => undefined);
    const consumePerSec = consumed / consumeSecs;
    say(`  raw consume+ack: ${Math.round(consumePerSec)}/s (${consumed} messages)`);

    // 4. The store: conditional update of a saga-sized document on its revision.
    await opts.beforeStore?.();
    await mongo.connect();
    const coll = mongo
      .db(`${opts.scratch}_raw`)
      .collection<{ _id: string; rev: number; [k: string]: unknown }>('sagas');
    const lanesMax = Math.max(1, ...s.concurrencies);
    const { _id: _ignored, ...body } = opts.sagaDoc;
    await coll.insertMany(Array.from({ length: lanesMax }, (_, i) => ({ ...body, _id: `raw-${i}`, rev: 0 })));
    const revs = new Array<number>(lanesMax).fill(0);
    const set = {
      status: body.status,
      state: body.state,
      context: body.context,
      snapshot: body.snapshot,
      inbox: body.inbox,
      timers: body.timers,
      nextWakeAt: body.nextWakeAt ?? null,
    };
    const updateOne = async (lane: number) => {
      const rev = revs[lane]!;
      const res = await coll.updateOne(
        { _id: `raw-${lane}`, rev },
        { $set: { ...set, rev: rev + 1, updatedAt: new Date() } },
      );
      if (res.matchedCount !== 1) throw new Error(`raw update missed raw-${lane} at rev ${rev}`);
      revs[lane] = rev + 1;
    };
    const lat: number[] = [];
    for (let i = 0; i < s.storeLatencyCount; i++) {
      const t0 = performance.now();
      await updateOne(0);
      lat.push(performance.now() - t0);
    }
    const latSummary = summarize(lat);
    say(
      `  raw store update (sync): p50 ${latSummary.p50?.toFixed(2)} ms, p99 ${latSummary.p99?.toFixed(2)} ms`,
    );
    const perSecByConcurrency: Record<string, number> = {};
    for (const c of s.concurrencies) {
      const start = performance.now();
      const end = start + s.runMs;
      const n = await lanes(c, () => performance.now() >= end, updateOne);
      perSecByConcurrency[String(c)] = n / ((performance.now() - start) / 1000);
      say(`  raw store update at concurrency ${c}: ${Math.round(perSecByConcurrency[String(c)]!)}/s`);
    }
    const [bestConcurrency, maxPerSec] = Object.entries(perSecByConcurrency).reduce((a, b) =>
      b[1] > a[1] ? b : a,
    );

    // 5. The same calls, chained the way a saga's hops make them.
    const chain = await measureChain({
      js,
      jsm,
      stream,
      subjectPrefix: `${opts.scratch}.raw.chain`,
      coll: mongo.db(`${opts.scratch}_raw`).collection('chain'),
      // The publish and the saga update measured above, the latter on the first lane's document.
      publish: publishTo,
      updateSaga: () => updateOne(0),
      envelope: env,
      hops: s.chainHops,
      // The runtime's pull size (DurableConsumer).
      pullBatch: Math.min(s.pullBatch, 128),
    });
    const ms = (v: number | null) => (v === null ? 'n/a' : v.toFixed(2));
    say(
      `  raw chain (${chain.hops} hops): delivery p50 ${ms(chain.delivery.p50Ms)} ms, store call after a delivery p50 ${ms(chain.afterDelivery.p50Ms)} ms, after a store call p50 ${ms(chain.afterStore.p50Ms)} ms`,
    );
    return {
      publish: {
        payloadBytes: payload.length,
        syncCount: s.syncCount,
        syncP50Ms: syncSummary.p50,
        syncP99Ms: syncSummary.p99,
        window: s.window,
        pipelinedCount,
        pipelinedPerSec,
      },
      consume: {
        count: consumed,
        perSec: consumePerSec,
        pullBatch: s.pullBatch,
        maxAckPending: s.maxAckPending,
      },
      store: {
        docBytes: Buffer.byteLength(JSON.stringify(opts.sagaDoc)),
        latencyCount: s.storeLatencyCount,
        latencyP50Ms: latSummary.p50,
        latencyP99Ms: latSummary.p99,
        perSecByConcurrency,
        bestConcurrency: Number(bestConcurrency),
        maxPerSec,
      },
      chain,
    };
  } finally {
    await jsm.streams.delete(stream).catch(() => undefined);
    await mongo
      .db(`${opts.scratch}_raw`)
      .dropDatabase()
      .catch(() => undefined);
    await mongo.close().catch(() => undefined);
    await nc.drain().catch(() => nc.close());
  }
}
