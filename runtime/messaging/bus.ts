import { type JetStreamClient, type JsMsg, jetstream, type PubAck } from '@nats-io/jetstream';
import { readFile } from 'node:fs/promises';
import {
  AuthorizationError,
  credsAuthenticator,
  type MsgHdrs,
  type NatsConnection,
  headers as natsHeaders,
  nkeyAuthenticator,
  PermissionViolationError,
} from '@nats-io/nats-core';
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { Config } from '../config.ts';
import { ValidationError } from '../errors.ts';
import type { Logger } from '../observability/index.ts';
import { natsMetrics } from '../observability/metrics.ts';
import { type Envelope, Header } from '../wire/index.ts';
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
    const security = await natsSecurityOptions(config);
    const nc = await connect({
      servers: config.natsUrl.split(',').map((s) => s.trim()),
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // Fail fast instead of queueing publishes forever while the server is gone: the
      // caller's retry (nak with backoff, the outbox sweep) is the durable path.
      waitOnFirstConnect: true,
      // Otherwise every request (each JetStream publish) captures two stack traces up front for
      // errors that almost never happen: a measurable share of a publish's CPU.
      noAsyncTraces: true,
      ...security,
    }).catch((err: unknown) => {
      // Name the credentials tried (never their value): the fix is a setting, not a retry.
      if (err instanceof AuthorizationError)
        throw new ValidationError(`NATS refused the credentials (${describeAuth(config)}): ${err.message}`);
      throw err;
    });
    const bus = new Bus(nc, config, log);
    void bus.watchStatus(security.inboxPrefix ?? '_INBOX');
    return bus;
  }

  private async watchStatus(inboxPrefix: string): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect') {
        (s.type === 'reconnect' ? natsMetrics.reconnects : natsMetrics.disconnects).inc();
        this.log.warn({ nats: s.type }, `nats ${s.type}`);
      } else if (s.type === 'error' && s.error instanceof PermissionViolationError) {
        // The server refused something this role's NATS user may not do: a deployment error
        // (or a compromised role), never retried into success. Loud, with the subject.
        const { operation, subject, queue } = s.error;
        const hint =
          operation === 'subscription' && subject.startsWith('_INBOX.')
            ? ` (its replies go to ${inboxPrefix}.>: set NATS_INBOX_PREFIX to the prefix its user may subscribe to)`
            : '';
        this.log.error(
          { nats: 'permission-violation', operation, subject, ...(queue ? { queue } : {}) },
          `NATS permission violation: ${operation} to "${subject}" refused for this role's user${hint}`,
        );
      }
    }
  }

  /** Publishes an envelope to a local subject (`cmd.x.y`, `evt.x.y`) and waits for the PubAck. */
  async publish(localSubject: string, env: Envelope, msgId: string): Promise<PubAck> {
    const subject = this.topo.namespace ? `${this.topo.namespace}.${localSubject}` : localSubject;
    // Send to PubAck, the broker's share of a step (a clock read and a histogram observe: well
    // under a microsecond next to a publish's tens of microseconds of CPU).
    const kind = localSubject.startsWith('cmd.') ? 'cmd' : localSubject.startsWith('evt.') ? 'evt' : 'other';
    const payload = JSON.stringify(env);
    const headers = envelopeHeaders(env);
    const started = performance.now();
    try {
      const ack = await this.js.publish(subject, payload, { msgID: msgId, headers });
      natsMetrics.publishDuration.observe({ kind, outcome: 'ok' }, (performance.now() - started) / 1000);
      return ack;
    } catch (err) {
      natsMetrics.publishDuration.observe({ kind, outcome: 'error' }, (performance.now() - started) / 1000);
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    await this.nc.drain().catch(() => this.nc.close());
  }
}

/**
 * Credentials, TLS and reply prefix of the connection, from the config. At most one way to
 * authenticate; TLS when a CA, a client certificate or a `tls://` URL is given. Errors name
 * the settings at fault, never a secret.
 */
export async function natsSecurityOptions(
  config: Config,
): Promise<Pick<NodeConnectionOptions, 'user' | 'pass' | 'token' | 'authenticator' | 'tls' | 'inboxPrefix'>> {
  const fail = (message: string, field: string): never => {
    throw new ValidationError(`invalid NATS settings: ${message}`, [{ field, message }]);
  };
  const ways = [
    config.natsUser !== undefined || config.natsPassword !== undefined ? 'NATS_USER/NATS_PASSWORD' : '',
    config.natsToken !== undefined ? 'NATS_TOKEN' : '',
    config.natsCreds !== undefined ? 'NATS_CREDS' : '',
    config.natsNkeySeed !== undefined ? 'NATS_NKEY_SEED' : '',
  ].filter(Boolean);
  if (ways.length > 1) fail(`give one way to authenticate, not ${ways.join(' and ')}`, ways.join(', '));
  if ((config.natsUser === undefined) !== (config.natsPassword === undefined))
    fail('NATS_USER and NATS_PASSWORD go together', 'NATS_USER, NATS_PASSWORD');
  if ((config.natsTlsCert === undefined) !== (config.natsTlsKey === undefined))
    fail('NATS_TLS_CERT and NATS_TLS_KEY go together', 'NATS_TLS_CERT, NATS_TLS_KEY');
  const read = async (file: string, setting: string) => {
    try {
      return await readFile(file);
    } catch (err) {
      return fail(
        `${setting}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
        setting,
      );
    }
  };
  const authenticator = config.natsCreds
    ? credsAuthenticator(await read(config.natsCreds, 'NATS_CREDS'))
    : config.natsNkeySeed
      ? nkeyAuthenticator(
          new TextEncoder().encode((await read(config.natsNkeySeed, 'NATS_NKEY_SEED')).toString().trim()),
        )
      : undefined;
  const tlsUrl = config.natsUrl.split(',').some((s) => /^\s*tls:\/\//i.test(s));
  const tlsFiles = {
    ...(config.natsTlsCa ? { caFile: config.natsTlsCa } : {}),
    ...(config.natsTlsCert ? { certFile: config.natsTlsCert } : {}),
    ...(config.natsTlsKey ? { keyFile: config.natsTlsKey } : {}),
  };
  // A role's replies under its own prefix, which its NATS user alone may subscribe to.
  const inboxPrefix =
    config.natsInboxPrefix ??
    (config.natsUser && /^[A-Za-z0-9_-]+$/.test(config.natsUser) ? `_INBOX.${config.natsUser}` : undefined);
  return {
    ...(config.natsUser !== undefined ? { user: config.natsUser, pass: config.natsPassword } : {}),
    ...(config.natsToken !== undefined ? { token: config.natsToken } : {}),
    ...(authenticator ? { authenticator } : {}),
    ...(tlsUrl || Object.keys(tlsFiles).length > 0 ? { tls: tlsFiles } : {}),
    ...(inboxPrefix ? { inboxPrefix } : {}),
  };
}

function describeAuth(config: Config): string {
  if (config.natsUser !== undefined) return `NATS_USER=${config.natsUser} with NATS_PASSWORD`;
  if (config.natsToken !== undefined) return 'NATS_TOKEN';
  if (config.natsCreds !== undefined) return `NATS_CREDS=${config.natsCreds}`;
  if (config.natsNkeySeed !== undefined) return `NATS_NKEY_SEED=${config.natsNkeySeed}`;
  return 'none given: set NATS_USER and NATS_PASSWORD, NATS_TOKEN, NATS_CREDS or NATS_NKEY_SEED';
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
