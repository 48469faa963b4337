import client from 'prom-client';

/**
 * Prometheus metrics of a jetsaga process, on prom-client's default registry so every
 * component's metrics (the runtime's, a participant's, a distribution's) come out of one
 * `/metrics`. Counters move as work happens; gauges are read from their sources on scrape.
 */
export const metricsRegistry = client.register;

/** What a running node lets the scrape read; every part is optional (an api-only node has no actors). */
export interface MetricsSnapshot {
  /** Durable consumers of this process, with their running totals. */
  consumers?: Array<{
    consumer: string;
    processed: number;
    redelivered: number;
    deadLettered: number;
    retried: number;
  }>;
  /** Server-side state of every durable consumer on the streams (lag). */
  consumerInfo?: Array<{ stream: string; consumer: string; pending: number; ackPending: number }>;
  dlq?: Array<{ stream: string; consumer: string; messages: number }>;
  actors?: { live: number; passivations: number };
  backlog?: { outbox: number; timersArmed: number; timersOverdue: number };
}

export interface MetricsSource {
  /** Distinguishes sources that report the same consumer (several nodes in one process). */
  id: string;
  snapshot(): Promise<MetricsSnapshot>;
}

const sources = new Set<MetricsSource>();

/** Adds a node's source; the returned function removes it (on stop). */
export function addMetricsSource(source: MetricsSource): () => void {
  sources.add(source);
  return () => {
    sources.delete(source);
  };
}

// One scrape reads every source once: the registry asks every metric in the same tick, so
// they share the promise; it is dropped when it settles, so the next scrape reads afresh.
let pending: Promise<Array<{ source: MetricsSource; snap: MetricsSnapshot }>> | undefined;
function snapshots(): Promise<Array<{ source: MetricsSource; snap: MetricsSnapshot }>> {
  pending ??= Promise.all(
    [...sources].map(async (source) => ({
      source,
      snap: await source.snapshot().catch((): MetricsSnapshot => ({})),
    })),
  ).finally(() => {
    pending = undefined;
  });
  return pending;
}

function singleton<T extends client.Metric>(name: string, make: () => T): T {
  return (metricsRegistry.getSingleMetric(name) as T | undefined) ?? make();
}

const durationBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export const sagaMetrics = {
  started: singleton(
    'jetsaga_sagas_started_total',
    () =>
      new client.Counter({
        name: 'jetsaga_sagas_started_total',
        help: 'sagas that took their first step',
        labelNames: ['type'],
      }),
  ),
  ended: singleton(
    'jetsaga_sagas_ended_total',
    () =>
      new client.Counter({
        name: 'jetsaga_sagas_ended_total',
        help: 'sagas that reached an end state, by status (completed, compensated, failed, cancelled)',
        labelNames: ['type', 'status'],
      }),
  ),
  transitions: singleton(
    'jetsaga_saga_transitions_total',
    () =>
      new client.Counter({
        name: 'jetsaga_saga_transitions_total',
        help: 'committed saga transitions',
        labelNames: ['type'],
      }),
  ),
  duration: singleton(
    'jetsaga_saga_duration_seconds',
    () =>
      new client.Histogram({
        name: 'jetsaga_saga_duration_seconds',
        help: 'time from start to end state, by final status',
        labelNames: ['type', 'status'],
        buckets: durationBuckets,
      }),
  ),
  step: singleton(
    'jetsaga_saga_step_seconds',
    () =>
      new client.Histogram({
        name: 'jetsaga_saga_step_seconds',
        help: 'time a saga spent in a state before its next transition (command out to reply in, or timeout)',
        labelNames: ['type', 'state'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      }),
  ),
};

/** Counted where they happen, in the messaging layer. */
export const messagingMetrics = {
  deadLetterFailures: singleton(
    'jetsaga_dead_letter_failures_total',
    () =>
      new client.Counter({
        name: 'jetsaga_dead_letter_failures_total',
        help: 'dead letters that could not be written; the message stays unacked and its dead letter is retried',
        labelNames: ['consumer'],
      }),
  ),
  deadLettersTruncated: singleton(
    'jetsaga_dead_letters_truncated_total',
    () =>
      new client.Counter({
        name: 'jetsaga_dead_letters_truncated_total',
        help: 'dead letters that keep only the first bytes of a payload too large for a NATS message once escaped',
        labelNames: ['consumer'],
      }),
  ),
  unrouted: singleton(
    'jetsaga_messages_unrouted_total',
    () =>
      new client.Counter({
        name: 'jetsaga_messages_unrouted_total',
        help: 'messages no durable consumer reads, dead-lettered and removed from their stream, by stream and service (subject cmd.<service>.>)',
        labelNames: ['stream', 'subject'],
      }),
  ),
};

/**
 * Client-side latency of the two servers a saga waits on, to tell a slow saga's store time from its
 * broker time (and, by difference with `jetsaga_saga_step_seconds`, from its participants' time).
 * Buckets from a fraction of a millisecond (a local round trip) to the client's 10 s timeouts.
 */
const clientLatencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Observed in the store layer, from the MongoDB driver's command monitoring (store/command-metrics.ts). */
export const storeMetrics = {
  commandDuration: singleton(
    'jetsaga_store_command_duration_seconds',
    () =>
      new client.Histogram({
        name: 'jetsaga_store_command_duration_seconds',
        help: 'MongoDB commands from sent to reply, by command (insert, update, find, ...; "other" for the rest), collection and outcome (ok, error)',
        labelNames: ['command', 'collection', 'outcome'],
        buckets: clientLatencyBuckets,
      }),
  ),
  clientRestarts: singleton(
    'jetsaga_store_client_restarts_total',
    () =>
      new client.Counter({
        name: 'jetsaga_store_client_restarts_total',
        help: "MongoDB clients closed and reconnected because the driver's server monitor stopped answering (store/client-watchdog.ts)",
      }),
  ),
};

/** Counted by the purge loops of retention (store/purge-loop.ts), one per collection's owner. */
export const retentionMetrics = {
  purged: singleton(
    'jetsaga_purged_total',
    () =>
      new client.Counter({
        name: 'jetsaga_purged_total',
        help: "documents deleted after their retention period, by collection (sagas, saga_history, saga_tombstones, a service's <service>_processed, a reactor's inbox)",
        labelNames: ['collection'],
      }),
  ),
};

/** Observed in the messaging layer, on the NATS connection of a Bus (messaging/bus.ts). */
export const natsMetrics = {
  publishDuration: singleton(
    'jetsaga_nats_publish_duration_seconds',
    () =>
      new client.Histogram({
        name: 'jetsaga_nats_publish_duration_seconds',
        help: 'JetStream publishes of envelopes from send to PubAck, by kind (cmd, evt) and outcome (ok, error)',
        labelNames: ['kind', 'outcome'],
        buckets: clientLatencyBuckets,
      }),
  ),
  reconnects: singleton(
    'jetsaga_nats_reconnects_total',
    () =>
      new client.Counter({
        name: 'jetsaga_nats_reconnects_total',
        help: 'NATS connections of this process that reconnected to a server',
      }),
  ),
  disconnects: singleton(
    'jetsaga_nats_disconnects_total',
    () =>
      new client.Counter({
        name: 'jetsaga_nats_disconnects_total',
        help: 'NATS connections of this process that lost their server',
      }),
  ),
};

/** Consumer totals are counters; a source reports running totals, so each scrape adds the difference. */
const lastTotals = new Map<
  string,
  { processed: number; redelivered: number; deadLettered: number; retried: number }
>();

function consumerCounter(
  name: string,
  help: string,
  field: 'processed' | 'redelivered' | 'deadLettered' | 'retried',
) {
  return singleton(
    name,
    () =>
      new client.Counter({
        name,
        help,
        labelNames: ['consumer'],
        async collect() {
          for (const { source, snap } of await snapshots()) {
            for (const c of snap.consumers ?? []) {
              const key = `${source.id}\0${c.consumer}`;
              const last = lastTotals.get(key) ?? {
                processed: 0,
                redelivered: 0,
                deadLettered: 0,
                retried: 0,
              };
              const delta = c[field] - last[field];
              if (delta > 0) this.inc({ consumer: c.consumer }, delta);
              lastTotals.set(key, { ...last, [field]: c[field] });
            }
          }
        },
      }),
  );
}

consumerCounter(
  'jetsaga_messages_processed_total',
  'messages handled and acked, by durable consumer',
  'processed',
);
consumerCounter(
  'jetsaga_messages_redelivered_total',
  'deliveries after the first, by durable consumer',
  'redelivered',
);
consumerCounter(
  'jetsaga_messages_dead_lettered_total',
  'messages sent to the DLQ, by durable consumer',
  'deadLettered',
);
consumerCounter(
  'jetsaga_messages_retried_total',
  'retryable failures that were nak-ed with backoff',
  'retried',
);

function gauge(
  name: string,
  help: string,
  labelNames: string[],
  read: (snap: MetricsSnapshot) => Array<[Record<string, string>, number]>,
) {
  return singleton(
    name,
    () =>
      new client.Gauge({
        name,
        help,
        labelNames,
        async collect() {
          this.reset();
          const sums = new Map<string, { labels: Record<string, string>; value: number }>();
          for (const { snap } of await snapshots()) {
            for (const [labels, value] of read(snap)) {
              const key = JSON.stringify(labels);
              const prev = sums.get(key);
              // Several nodes of one process may see the same server-side value: keep the largest.
              sums.set(key, {
                labels,
                value: labelNames.length > 0 ? Math.max(prev?.value ?? 0, value) : (prev?.value ?? 0) + value,
              });
            }
          }
          for (const { labels, value } of sums.values()) this.set(labels, value);
        },
      }),
  );
}

gauge(
  'jetsaga_consumer_pending_messages',
  'messages not yet delivered to a durable consumer (lag)',
  ['stream', 'consumer'],
  (s) => (s.consumerInfo ?? []).map((c) => [{ stream: c.stream, consumer: c.consumer }, c.pending]),
);
gauge(
  'jetsaga_consumer_ack_pending_messages',
  'messages delivered and not yet acked',
  ['stream', 'consumer'],
  (s) => (s.consumerInfo ?? []).map((c) => [{ stream: c.stream, consumer: c.consumer }, c.ackPending]),
);
gauge(
  'jetsaga_dlq_messages',
  'dead letters waiting in the DLQ stream, by the consumer that gave up',
  ['stream', 'consumer'],
  (s) => (s.dlq ?? []).map((d) => [{ stream: d.stream, consumer: d.consumer }, d.messages]),
);
gauge('jetsaga_actors_live', 'saga actors in memory in this process', [], (s) =>
  s.actors ? [[{}, s.actors.live]] : [],
);
gauge(
  'jetsaga_outbox_backlog_sagas',
  'sagas with outbox entries older than the outbox grace period (waiting for the recovery sweep)',
  [],
  (s) => (s.backlog ? [[{}, s.backlog.outbox]] : []),
);
gauge('jetsaga_timers_armed_sagas', 'running sagas with a durable timer armed', [], (s) =>
  s.backlog ? [[{}, s.backlog.timersArmed]] : [],
);
gauge('jetsaga_timers_overdue_sagas', 'sagas whose next timer is due and has not fired yet', [], (s) =>
  s.backlog ? [[{}, s.backlog.timersOverdue]] : [],
);

const lastPassivations = new Map<string, number>();
singleton(
  'jetsaga_actors_passivated_total',
  () =>
    new client.Counter({
      name: 'jetsaga_actors_passivated_total',
      help: 'saga actors dropped from memory (saga ended, idle, or over the live cap)',
      async collect() {
        for (const { source, snap } of await snapshots()) {
          if (!snap.actors) continue;
          const delta = snap.actors.passivations - (lastPassivations.get(source.id) ?? 0);
          if (delta > 0) this.inc(delta);
          lastPassivations.set(source.id, snap.actors.passivations);
        }
      },
    }),
);

let defaultsOn = false;
/** Process metrics (CPU, memory, event loop lag), once per process. */
export function collectProcessMetrics(): void {
  if (defaultsOn || metricsRegistry.getSingleMetric('process_cpu_user_seconds_total')) return;
  defaultsOn = true;
  // The event loop lag histogram samples with a timer; prom-client's default (every 10 ms) wakes every
  // process a hundred times a second even when it has nothing to do, which on a small machine with
  // a dozen processes takes CPU and scheduler slots from the messages in flight. Every 100 ms still
  // gives ten samples a second, plenty for a scrape every few seconds.
  client.collectDefaultMetrics({ register: metricsRegistry, eventLoopMonitoringPrecision: 100 });
}

/** The text exposition of every metric in the registry. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: metricsRegistry.contentType, body: await metricsRegistry.metrics() };
}
