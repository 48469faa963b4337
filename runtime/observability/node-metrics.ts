import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { Bus, DurableConsumer } from '../messaging/index.ts';
import type { Filter } from 'mongodb';
import type { SagaDoc, SagaStore } from '../store/index.ts';
import type { MetricsSnapshot, MetricsSource } from './metrics.ts';

/** Counting stops here: a scrape must stay cheap however large a backlog grows. */
const countCap = 100_000;

export interface NodeMetricsParts {
  id: string;
  bus: Bus;
  store: SagaStore;
  /** This process's durable consumers, by durable name. */
  consumers: () => Array<{ consumer: string; stats: DurableConsumer['stats'] }>;
  actors?: () => { live: number; passivations: number };
}

/**
 * What a node reports on scrape: its own consumers' totals and actors, and the shared
 * state every node can see (consumer lag, DLQ size, outbox and timer backlogs). Shared
 * values are the same from every replica; aggregate them with max(), not sum().
 */
export function nodeMetricsSource(parts: NodeMetricsParts): MetricsSource {
  let jsm: Promise<JetStreamManager> | undefined;
  const manager = () => (jsm ??= jetstreamManager(parts.bus.nc));
  const { topo } = parts.bus;
  return {
    id: parts.id,
    async snapshot(): Promise<MetricsSnapshot> {
      const m = await manager();
      const now = new Date();
      const [consumerInfo, dlq, outbox, timersArmed, timersOverdue] = await Promise.all([
        Promise.all(
          [topo.streams.cmd, topo.streams.evt].map(async (stream) => {
            const out: NonNullable<MetricsSnapshot['consumerInfo']> = [];
            for await (const ci of m.consumers.list(stream)) {
              if (!ci.config.durable_name) continue;
              out.push({
                stream,
                consumer: ci.name,
                pending: ci.num_pending,
                ackPending: ci.num_ack_pending,
              });
            }
            return out;
          }),
        )
          .then((lists) => lists.flat())
          .catch(() => undefined),
        m.streams
          .info(topo.streams.dlq, { subjects_filter: topo.allDlq })
          .then((info) =>
            Object.entries(info.state.subjects ?? {}).map(([subject, messages]) => ({
              stream: topo.streams.dlq,
              consumer: topo.local(subject).replace(/^dlq\./, ''),
              messages,
            })),
          )
          .catch(() => undefined),
        // Entries older than the sweep's grace: what a crash left for the sweep (younger ones
        // are published and only wait to be cleared with the saga's next write). Indexed.
        count(parts.store, { outboxAt: { $lte: new Date(now.getTime() - parts.bus.config.outboxGraceMs) } }),
        count(parts.store, { nextWakeAt: { $ne: null } }),
        count(parts.store, { nextWakeAt: { $lte: now } }),
      ]);
      // A part that cannot be read is left out of this scrape rather than reported as zero.
      return {
        consumers: parts.consumers().map(({ consumer, stats }) => ({ consumer, ...stats })),
        consumerInfo,
        dlq,
        actors: parts.actors?.(),
        backlog:
          outbox === undefined || timersArmed === undefined || timersOverdue === undefined
            ? undefined
            : { outbox, timersArmed, timersOverdue },
      };
    },
  };
}

function count(store: SagaStore, filter: Filter<SagaDoc>): Promise<number | undefined> {
  return store.sagas.countDocuments(filter, { limit: countCap }).catch(() => undefined);
}
