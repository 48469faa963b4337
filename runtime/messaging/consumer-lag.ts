import type { JetStreamManager } from '@nats-io/jetstream';
import type { Bus } from './bus.ts';

export interface ConsumerLag {
  stream: string;
  consumer: string;
  /** Messages the consumer has not been given yet. */
  pending: number;
  /** Messages given and not yet acknowledged. */
  ackPending: number;
}

/**
 * The lag of every durable consumer of the command and event streams, as the server counts it: the
 * one reading of it for the metrics and the API's overview. Ephemeral consumers (tools, tests) are
 * left out.
 */
export async function consumerLag(jsm: JetStreamManager, bus: Bus): Promise<ConsumerLag[]> {
  const { streams } = bus.topo;
  const lists = await Promise.all(
    [streams.cmd, streams.evt].map(async (stream) => {
      const out: ConsumerLag[] = [];
      for await (const ci of jsm.consumers.list(stream)) {
        if (!ci.config.durable_name) continue;
        out.push({ stream, consumer: ci.name, pending: ci.num_pending, ackPending: ci.num_ack_pending });
      }
      return out;
    }),
  );
  return lists.flat();
}
