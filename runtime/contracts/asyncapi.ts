import { createRequire } from 'node:module';
import { z } from 'zod';
import type { App } from '../app.ts';
import { DeadLetterSchema, topology, unroutedConsumer } from '../messaging/index.ts';
import { orchestratorDurable } from '../orchestrator/index.ts';
import { participantDurable } from '../participants/index.ts';
import { EnvelopeSchema, Header } from '../wire/index.ts';
import { canonical, catalogueOf, roleOf } from './catalogue.ts';
import type { Catalogue, CatalogueMessage } from './catalogue-types.ts';

/** A durable consumer whose dead letters go to `dlq.<consumer>`, and the role that writes them. */
export interface DeadLetterConsumer {
  consumer: string;
  role: string;
}

export interface AsyncApiOptions {
  /** `info.version`: the package's version by default. */
  version?: string;
  title?: string;
  /** The `dlq.<consumer>` channels: every durable the app's roles read through, and `unrouted`. */
  deadLetterConsumers?: readonly DeadLetterConsumer[];
}

/** An AsyncAPI 3.0.0 document, as plain JSON. */
export type AsyncApiDocument = Record<string, unknown> & { asyncapi: '3.0.0' };

// By the package's own name, so the sources and the compiled package find the same file.
const packageVersion = (createRequire(import.meta.url)('jetsaga/package.json') as { version: string })
  .version;

/** Every durable consumer of the app, with its role; the orchestrator's unrouted guard writes `dlq.unrouted`. */
export function deadLetterConsumersOf(app: App): DeadLetterConsumer[] {
  const topo = topology();
  return [
    { consumer: orchestratorDurable, role: roleOf.orchestrator },
    ...Object.keys(app.participants).map((name) => ({
      consumer: participantDurable(name, topo).durable,
      role: roleOf.service(name),
    })),
    ...Object.values(app.reactors).map((r) => ({ consumer: r.name, role: roleOf.reactor(r.name) })),
    { consumer: unroutedConsumer, role: roleOf.orchestrator },
  ];
}

/** The AsyncAPI 3.0.0 document of an app's messages (see `asyncApiFromCatalogue`). */
export function asyncApiOf(app: App, opts: AsyncApiOptions = {}): AsyncApiDocument {
  return asyncApiFromCatalogue(catalogueOf(app), {
    deadLetterConsumers: deadLetterConsumersOf(app),
    ...opts,
  });
}

const draft7 = (schema: z.ZodType) => {
  const out = z.toJSONSchema(schema, { target: 'draft-07', io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  delete out.$schema;
  return out;
};

/** A component name AsyncAPI accepts (`^[a-zA-Z0-9.\-_]+$`): `saga-input:order` -> `saga-input.order`. */
const componentName = (key: string) => key.replace(/:/g, '.').replace(/[^A-Za-z0-9.\-_]/g, '_');

/**
 * A message's `data` schema as components: itself under `name`, its `definitions` (zod's shared or
 * recursive parts) beside it as `<name>.<definition>`, and every local `$ref` pointed there, so
 * that the schema means the same inside the document as it did alone.
 */
function hoist(name: string, schema: Record<string, unknown>, into: Record<string, unknown>): void {
  const { definitions, $defs, ...body } = schema as Record<string, unknown> & {
    definitions?: Record<string, unknown>;
    $defs?: Record<string, unknown>;
  };
  const defs = { ...(definitions ?? {}), ...($defs ?? {}) };
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (typeof value !== 'object' || value === null) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#')) {
        const def = /^#\/(?:definitions|\$defs)\/(.+)$/.exec(v)?.[1];
        out[k] = `#/components/schemas/${def ? `${name}.${componentName(def)}` : name}`;
      } else out[k] = rewrite(v);
    }
    return out;
  };
  into[name] = rewrite(body);
  for (const [def, s] of Object.entries(defs)) into[`${name}.${componentName(def)}`] = rewrite(s);
}

const roleId = (role: string) => componentName(role.replace(/:/g, '-'));

/** The NATS headers the runtime sets on a command or event (runtime/messaging/bus.ts `envelopeHeaders`). */
function envelopeHeadersSchema(m: CatalogueMessage): Record<string, unknown> {
  const text = (description: string, extra: Record<string, unknown> = {}) => ({
    type: 'string',
    description,
    ...extra,
  });
  return {
    type: 'object',
    properties: {
      [Header.msgId]: text(
        'JetStream deduplication id: the envelope `id` (a command keeps it across resends)',
      ),
      [Header.sagaId]: text('the envelope `sagaId`'),
      [Header.sagaType]: text('the envelope `sagaType`'),
      [Header.messageType]: text('the envelope `type`', { const: m.type }),
      [Header.schemaVersion]: text('the envelope `schemaVersion`, as text', {
        enum: [...m.upcastsFrom, m.version].map(String),
      }),
      [Header.correlationId]: text('the envelope `correlationId`'),
      [Header.causationId]: text('the envelope `causationId`, when it has one'),
      [Header.traceparent]: text('W3C trace context, when the message is traced'),
    },
    required: [
      Header.msgId,
      Header.sagaId,
      Header.sagaType,
      Header.messageType,
      Header.schemaVersion,
      Header.correlationId,
    ],
  };
}

/**
 * The AsyncAPI 3.0.0 document of a catalogue: a channel per subject (`cmd.<service>.<command>`,
 * `evt.<source>.<event>`, and `dlq.<consumer>` per durable consumer), a message per command and
 * event whose payload is the JSON envelope with `data` its schema and whose headers are the
 * runtime's, and a `send` and a `receive` operation per role and channel. Versions are
 * `x-jetsaga-version` and `x-jetsaga-upcasts-from` on each message (the envelope's
 * `schemaVersion` admits them all); saga inputs (HTTP bodies, no subject) are schemas under
 * `components.schemas` (`saga-input.<type>`), listed in `x-jetsaga-saga-inputs`.
 */
export function asyncApiFromCatalogue(catalogue: Catalogue, opts: AsyncApiOptions = {}): AsyncApiDocument {
  const schemas: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const channels: Record<string, { messages?: Record<string, unknown> } & Record<string, unknown>> = {};
  const operations: Record<string, { messages: unknown[] } & Record<string, unknown>> = {};
  const sagaInputs: Record<string, unknown> = {};
  const envelope = draft7(EnvelopeSchema);
  const envelopeProps = envelope.properties as Record<string, unknown>;

  const operation = (role: string, action: 'send' | 'receive', channel: string, message: string) => {
    const id = `${roleId(role)}.${action}.${channel}`;
    operations[id] = {
      action,
      channel: { $ref: `#/channels/${channel}` },
      // One channel may carry several messages (a signal name declared by several saga types).
      messages: [...(operations[id]?.messages ?? []), { $ref: `#/channels/${channel}/messages/${message}` }],
      title: `${role} ${action === 'send' ? 'sends' : 'receives'} ${channel}`,
      tags: [{ name: role }],
      'x-jetsaga-role': role,
    };
  };

  for (const [key, m] of Object.entries(catalogue.messages)) {
    const name = componentName(key);
    hoist(name, m.schema, schemas);
    if (m.subject === null) {
      sagaInputs[m.type] = {
        schema: { $ref: `#/components/schemas/${name}` },
        version: m.version,
        upcastsFrom: m.upcastsFrom,
        sentBy: m.sentBy,
        receivedBy: m.receivedBy,
        ...(m.description ? { description: m.description } : {}),
      };
      continue;
    }
    // Signals of several saga types may share a name, so a subject: each is its own message.
    const messageName = componentName(m.kind === 'saga-signal' ? key : m.type);
    messages[messageName] = {
      name: m.type,
      title: `${m.type} v${m.version}`,
      summary:
        m.description ??
        `${m.kind === 'command' ? 'Command' : 'Event'} ${m.type}, sent by ${m.sentBy.join(', ') || 'nobody'}, received by ${m.receivedBy.join(', ') || 'nobody'}`,
      ...(m.description ? { description: m.description } : {}),
      contentType: 'application/json',
      correlationId: { location: `$message.header#/${Header.correlationId}` },
      headers: envelopeHeadersSchema(m),
      payload: {
        ...envelope,
        properties: {
          ...envelopeProps,
          type: { type: 'string', const: m.type, description: 'the message type' },
          schemaVersion: {
            type: 'integer',
            enum: [...m.upcastsFrom, m.version],
            description: `the version of \`data\`'s shape; \`data\` is described at the current version ${m.version}${m.upcastsFrom.length > 0 ? `, older ones are upcast by receivers` : ''}`,
          },
          data: { $ref: `#/components/schemas/${name}` },
        },
      },
      tags: [{ name: m.kind }],
      'x-jetsaga-kind': m.kind,
      'x-jetsaga-version': m.version,
      'x-jetsaga-upcasts-from': m.upcastsFrom,
      'x-jetsaga-sent-by': m.sentBy,
      'x-jetsaga-received-by': m.receivedBy,
    };
    const channel = m.subject;
    channels[channel] = {
      address: channel,
      title: channel,
      description: `${m.kind === 'command' ? 'Commands' : 'Events'} ${m.type} (stream ${m.kind === 'command' ? 'SAGA_CMD' : 'SAGA_EVT'})`,
      messages: {
        ...channels[channel]?.messages,
        [messageName]: { $ref: `#/components/messages/${messageName}` },
      },
    };
    for (const role of m.sentBy) operation(role, 'send', channel, messageName);
    for (const role of m.receivedBy) operation(role, 'receive', channel, messageName);
  }

  const deadLetters = opts.deadLetterConsumers ?? [];
  if (deadLetters.length > 0) {
    const payload = draft7(DeadLetterSchema);
    schemas.deadLetter = payload;
    messages.deadLetter = {
      name: 'dead-letter',
      title: 'dead letter',
      summary:
        'A message a consumer gave up on (invalid, failed terminally, out of attempts, or unread), with its original subject, headers and payload.',
      contentType: 'application/json',
      headers: {
        type: 'object',
        properties: {
          [Header.msgId]: {
            type: 'string',
            description: 'the dead letter id `<stream>-<seq>:<consumer>`, one per consumer and message',
          },
        },
        required: [Header.msgId],
      },
      payload: { $ref: '#/components/schemas/deadLetter' },
      tags: [{ name: 'dead-letter' }],
    };
    for (const { consumer, role } of deadLetters) {
      const channel = `dlq.${consumer}`;
      channels[channel] = {
        address: channel,
        title: channel,
        description: `Dead letters of the durable consumer ${consumer} (stream SAGA_DLQ); the api lists, replays and deletes them`,
        messages: { deadLetter: { $ref: '#/components/messages/deadLetter' } },
      };
      operation(role, 'send', channel, 'deadLetter');
      operation(roleOf.api, 'receive', channel, 'deadLetter');
    }
  }

  const sorted = (o: Record<string, unknown>) =>
    Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, o[k]]),
    );
  return canonical({
    asyncapi: '3.0.0',
    info: {
      title: opts.title ?? 'jetsaga messages',
      version: opts.version ?? packageVersion,
      description:
        'Every command, event and dead letter the roles exchange over NATS JetStream, generated from the zod schemas the runtime validates with. Every message is a JSON envelope whose `data` is the message schema at its current version (`x-jetsaga-version`; older versions in `x-jetsaga-upcasts-from` are upcast by receivers). Operations say which role sends and which receives each: `orchestrator`, `api`, `service:<name>`, `reactor:<name>`. With a namespace, every subject is prefixed by `<namespace>.`.',
    },
    defaultContentType: 'application/json',
    servers: {
      nats: {
        host: '{host}',
        protocol: 'nats',
        description: 'A NATS server with JetStream (NATS_URL)',
        variables: {
          host: { default: '127.0.0.1:4222', description: 'host:port of a NATS server' },
        },
      },
    },
    channels: sorted(channels),
    operations: sorted(operations),
    components: { schemas: sorted(schemas), messages: sorted(messages) },
    'x-jetsaga-saga-inputs': sorted(sagaInputs),
  }) as AsyncApiDocument;
}
