import { type JetStreamClient, type JsMsg, jetstream, type PubAck } from '@nats-io/jetstream';
import { type MsgHdrs, type NatsConnection, headers as natsHeaders } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { Config } from '../config.ts';
import type { Logger } from '../observability/index.ts';
import { type Envelope, Header } from './envelope.ts';
import { type Topology, topology } from './topology.ts';

/**
 * The publishing half of the messaging layer: one NATS connection, JetStream publish with
 * a `Nats-Msg-Id` awaiting the PubAck. Provisioning lives in `provision.ts`, consuming in
 * `consumer.ts`; the hot path never declares infrastructure.
 */
export class Bus {
  readonly js: JetStreamClient;
  readonly topo: Topology;

  private constructor(
    readonly nc: NatsConnection,
    readonly config: Config,
    readonly log: Logger,
  ) {
    this.js = jetstream(nc, { timeout: 10_000 });
    this.topo = topology(config.namespace);
  }

  static async connect(config: Config, log: Logger, name: string): Promise<Bus> {
    const nc = await connect({
      servers: config.natsUrl.split(',').map((s) => s.trim()),
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // Fail fast instead of queueing publishes forever while the server is gone: the
      // caller's retry (nak with backoff, the outbox sweep) is the durable path.
      waitOnFirstConnect: true,
      // Otherwise every request (each JetStream publish) captures two stack traces up front for
      // errors that almost never happen (bench/JOURNAL.md, profile finding 4).
      noAsyncTraces: true,
    });
    const bus = new Bus(nc, config, log);
    void bus.watchStatus();
    return bus;
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect')
        this.log.warn({ nats: s.type }, `nats ${s.type}`);
    }
  }

  /** Publishes an envelope to a local subject (`cmd.x.y`, `evt.x.y`) and waits for the PubAck. */
  async publish(localSubject: string, env: Envelope, msgId: string): Promise<PubAck> {
    const subject = this.topo.namespace ? `${this.topo.namespace}.${localSubject}` : localSubject;
    return this.js.publish(subject, JSON.stringify(env), { msgID: msgId, headers: envelopeHeaders(env) });
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    await this.nc.drain().catch(() => this.nc.close());
  }
}

export function envelopeHeaders(env: Envelope): MsgHdrs {
  const h = natsHeaders();
  h.set(Header.sagaId, env.sagaId);
  h.set(Header.sagaType, env.sagaType);
  h.set(Header.messageType, env.type);
  h.set(Header.schemaVersion, String(env.schemaVersion));
  h.set(Header.correlationId, env.correlationId);
  if (env.causationId) h.set(Header.causationId, env.causationId);
  if (env.traceparent) h.set(Header.traceparent, env.traceparent);
  return h;
}

export function headersToRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const key of h.keys()) out[key] = h.get(key);
  return out;
}

export type { JsMsg, PubAck };
