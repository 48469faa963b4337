import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import type { Bus } from './bus.ts';

// JetStream API error code for "stream name already in use" (not in the client's table).
const streamNameInUse = 10058;

/**
 * Creates or updates the streams and durable consumers at start. Every role provisions
 * what it uses, idempotently, so any start order works.
 */
export async function provisionStreams(bus: Bus): Promise<void> {
  // On a fresh cluster, stream creation waits for a leader election: retry for a while.
  for (let attempt = 1; ; attempt++) {
    try {
      return await provisionStreamsOnce(bus);
    } catch (err) {
      if (attempt >= 10) throw err;
      bus.log.warn({ err: String(err), attempt }, 'stream provisioning failed; retrying');
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

async function provisionStreamsOnce(bus: Bus): Promise<void> {
  const jsm = await jetstreamManager(bus.nc);
  const { topo, config } = bus;
  const base = {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: config.streamReplicas,
    duplicate_window: nanos(config.duplicateWindowMs),
  } satisfies Partial<StreamConfig>;
  await upsertStream(jsm, {
    ...base,
    name: topo.streams.cmd,
    subjects: [topo.allCmd],
    max_age: nanos(config.streamMaxAgeMs),
  });
  await upsertStream(jsm, {
    ...base,
    name: topo.streams.evt,
    subjects: [topo.allEvt],
    max_age: nanos(config.streamMaxAgeMs),
  });
  await upsertStream(jsm, {
    ...base,
    name: topo.streams.dlq,
    subjects: [topo.allDlq],
    max_age: nanos(config.dlqMaxAgeMs),
  });
}

async function upsertStream(
  jsm: JetStreamManager,
  cfg: Partial<StreamConfig> & { name: string },
): Promise<void> {
  try {
    await jsm.streams.info(cfg.name);
    const { name, ...update } = cfg;
    await jsm.streams.update(name, update);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.streams.add(cfg).catch((e: unknown) => {
      // Another role created it between our info and add: fine.
      if (!(e instanceof JetStreamApiError && e.code === streamNameInUse)) throw e;
    });
  }
}

export interface DurableSpec {
  stream: string;
  durable: string;
  /** One subject, or several (`filter_subjects`, NATS 2.10+). */
  filter: string | readonly string[];
}

/**
 * A durable pull consumer with explicit ack and the configured ack wait.
 *
 * No server-side max_deliver (-1, unlimited): `DurableConsumer` counts attempts itself and
 * dead-letters a message after `maxDeliver` of them. The server's limit would stop redelivering
 * a message whose last attempt could not be dead-lettered (the DLQ publish failed), leaving it
 * neither handled nor dead-lettered: lost but for a max-deliveries advisory. Without it, such a
 * message is nak-ed and redelivered until its dead letter is written. Updating an existing
 * durable lifts the limit it was created with.
 */
export async function provisionConsumer(bus: Bus, spec: DurableSpec): Promise<void> {
  const jsm = await jetstreamManager(bus.nc);
  const { config } = bus;
  const cfg = {
    durable_name: spec.durable,
    ...filterOf(spec),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(config.ackWaitMs),
    max_deliver: -1,
    max_ack_pending: config.maxAckPending,
  };
  try {
    await jsm.consumers.info(spec.stream, spec.durable);
    await jsm.consumers.update(spec.stream, spec.durable, {
      ack_wait: cfg.ack_wait,
      max_deliver: cfg.max_deliver,
      max_ack_pending: cfg.max_ack_pending,
      ...filterOf(spec),
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(spec.stream, cfg);
  }
}

function filterOf(spec: DurableSpec): { filter_subject: string } | { filter_subjects: string[] } {
  if (typeof spec.filter === 'string') return { filter_subject: spec.filter };
  return spec.filter.length === 1
    ? { filter_subject: spec.filter[0]! }
    : { filter_subjects: [...spec.filter] };
}

/** The stream or the durable consumer does not exist (yet). */
export function isNotFound(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamNotFound || err.code === JetStreamApiCodes.ConsumerNotFound)
  );
}
