import { z } from 'zod';
import type { App } from '../app.ts';
import { lifecycleOnlyEvents, runtimeEventContracts, signalEventType } from '../orchestrator/index.ts';
import { reactorEventTypes } from '../participants/index.ts';
import type { Catalogue, CatalogueMessage, MessageKind } from './catalogue-types.ts';

export type { Catalogue, CatalogueMessage, MessageKind } from './catalogue-types.ts';

/**
 * What the catalogue reads of a message contract (runtime/wire/contract.ts `MessageContract`): its
 * zod schema, the version producers stamp, the upcasters (`upcast[n]` turns version n into n + 1).
 * Read structurally, so an app built against another copy of jetsaga is catalogued the same way.
 */
export interface ContractLike {
  schema: z.ZodType;
  version: number;
  upcast?: Readonly<Record<number, unknown>>;
  description?: string;
}

/** Whether a value is a message contract: a zod schema and a positive integer version. */
export function isContract(value: unknown): value is ContractLike {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Partial<ContractLike>;
  return (
    typeof c.schema === 'object' &&
    c.schema !== null &&
    '_zod' in c.schema &&
    Number.isInteger(c.version) &&
    (c.version as number) >= 1
  );
}

/** Roles as the catalogue names them. */
export const roleOf = {
  service: (name: string) => `service:${name}`,
  reactor: (name: string) => `reactor:${name}`,
  orchestrator: 'orchestrator',
  api: 'api',
} as const;

/** Who sends the runtime's own events: the API starts and cancels sagas, the orchestrator fires timers. */
const runtimeEventSenders: Readonly<Record<string, readonly string[]>> = {
  'saga.started': [roleOf.api],
  'saga.cancel': [roleOf.api],
  'saga.resume': [roleOf.api],
};

/**
 * The JSON Schema of what a receiver of `schema` accepts: draft-07 (AsyncAPI's schema dialect),
 * zod's input side (a default makes a field optional; a transform or a pipe is described by what it
 * reads), keys sorted so a saved catalogue diffs cleanly. A part JSON Schema cannot express (a
 * `z.date()`, a `z.custom()`, a function) becomes a schema that accepts anything and says so in its
 * `description`: the check then sees it as `any`, never as a silent gap.
 */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, {
    target: 'draft-07',
    io: 'input',
    unrepresentable: (ctx) => ({
      description: `not expressible in JSON Schema (zod ${ctx.zodSchema._zod.def.type}): any value passes here`,
    }),
  }) as Record<string, unknown>;
  delete out.$schema;
  return canonical(out) as Record<string, unknown>;
}

/** Object keys sorted at every depth, `required` lists sorted; arrays otherwise kept in order. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    out[key] =
      key === 'required' && Array.isArray(v) && v.every((x) => typeof x === 'string')
        ? [...v].sort()
        : canonical(v);
  }
  return out;
}

/** The versions a contract upcasts from, oldest first: the keys of `upcast` below its version. */
export function upcastsFromOf(contract: ContractLike): number[] {
  return Object.keys(contract.upcast ?? {})
    .map(Number)
    .filter((n) => Number.isInteger(n) && n >= 1 && n < contract.version)
    .sort((a, b) => a - b);
}

interface Entry {
  kind: MessageKind;
  type: string;
  subject: string | null;
  contract: ContractLike | undefined;
  sentBy: Set<string>;
  receivedBy: Set<string>;
}

/** The contracts a record of them holds (`events`, `emits`, `runtimeEventContracts`), contracts only. */
function contractsIn(value: unknown): Array<[string, ContractLike]> {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value as Record<string, unknown>).filter((e): e is [string, ContractLike] =>
    isContract(e[1]),
  );
}

/**
 * The message catalogue of an app: every command its participants take, every event its
 * participants, reactors and the runtime publish, and the input of every saga type, each with
 * the JSON Schema of its current version, the versions it upcasts from, and the roles that send
 * and receive it. A command whose handler declares no contract is listed with an empty schema
 * (anything), so that who sends and receives it is still known.
 */
export function catalogueOf(app: App): Catalogue {
  const entries = new Map<string, Entry>();
  const add = (
    key: string,
    e: Omit<Entry, 'sentBy' | 'receivedBy'> & { sentBy: readonly string[]; receivedBy: readonly string[] },
  ) => {
    const known = entries.get(key);
    if (known) {
      for (const r of e.sentBy) known.sentBy.add(r);
      for (const r of e.receivedBy) known.receivedBy.add(r);
      known.contract ??= e.contract;
      return;
    }
    entries.set(key, { ...e, sentBy: new Set(e.sentBy), receivedBy: new Set(e.receivedBy) });
  };
  // Who reads an event: the orchestrator reads every event (`evt.>`) but the lifecycle events it
  // announces (acked unread), a reactor the types in its `on`.
  const eventReceivers = (type: string) => [
    ...(lifecycleOnlyEvents.has(type) ? [] : [roleOf.orchestrator]),
    ...Object.values(app.reactors)
      .filter((r) => reactorEventTypes(r).includes(type))
      .map((r) => roleOf.reactor(r.name)),
  ];

  for (const [name, participant] of Object.entries(app.participants)) {
    for (const [command, handler] of Object.entries(participant.commands)) {
      const type = `${name}.${command}`;
      const contract = (handler as { contract?: unknown }).contract;
      add(type, {
        kind: 'command',
        type,
        subject: `cmd.${type}`,
        contract: isContract(contract) ? contract : undefined,
        sentBy: [roleOf.orchestrator],
        receivedBy: [roleOf.service(name)],
      });
    }
    for (const [event, contract] of contractsIn((participant as { events?: unknown }).events)) {
      const type = `${name}.${event}`;
      add(type, {
        kind: 'event',
        type,
        subject: `evt.${type}`,
        contract,
        sentBy: [roleOf.service(name)],
        receivedBy: eventReceivers(type),
      });
    }
  }
  for (const reactor of Object.values(app.reactors)) {
    for (const [reaction, contract] of contractsIn((reactor as { emits?: unknown }).emits)) {
      const type = `${reactor.source}.${reaction}`;
      add(type, {
        kind: 'event',
        type,
        subject: `evt.${type}`,
        contract,
        sentBy: [roleOf.reactor(reactor.name)],
        receivedBy: eventReceivers(type),
      });
    }
  }
  for (const [type, contract] of contractsIn(runtimeEventContracts)) {
    const declared = (contract as { sentBy?: unknown }).sentBy;
    add(type, {
      kind: 'event',
      type,
      subject: `evt.${type}`,
      contract,
      sentBy:
        Array.isArray(declared) && declared.every((r) => typeof r === 'string')
          ? declared
          : (runtimeEventSenders[type] ?? [roleOf.orchestrator]),
      receivedBy: eventReceivers(type),
    });
  }
  for (const sagaType of app.registry.types()) {
    const def = app.registry.latest(sagaType);
    const { inputContract, inputVersion, inputUpcast } = def as {
      inputContract?: unknown;
      inputVersion?: unknown;
      inputUpcast?: Record<number, unknown>;
    };
    const fallback: ContractLike = {
      schema: def.input,
      version: typeof inputVersion === 'number' ? inputVersion : 1,
      ...(inputUpcast ? { upcast: inputUpcast } : {}),
    };
    add(`saga-input:${sagaType}`, {
      kind: 'saga-input',
      type: sagaType,
      subject: null,
      contract: isContract(inputContract) ? inputContract : fallback,
      sentBy: [roleOf.api],
      receivedBy: [roleOf.orchestrator],
    });
    const signals = (def as { signals?: Record<string, unknown> }).signals ?? {};
    for (const [name, schema] of Object.entries(signals)) {
      if (typeof schema !== 'object' || schema === null || !('_zod' in schema)) continue;
      const type = signalEventType(name);
      add(`saga-signal:${sagaType}:${name}`, {
        kind: 'saga-signal',
        type,
        subject: `evt.${type}`,
        // What travels: the caller and the body (runtime/orchestrator/signals.ts `signalDataSchema`).
        contract: {
          schema: z.object({
            by: z.string().describe('who sent it: the API token name, `anonymous` with auth off'),
            data: schema as z.ZodType,
          }),
          version: 1,
          description: `the signal ${name} of saga ${sagaType}, sent through POST /v1/sagas/{id}/signals/${name}`,
        },
        sentBy: [roleOf.api],
        receivedBy: [roleOf.orchestrator],
      });
    }
  }

  const messages: Record<string, CatalogueMessage> = {};
  for (const key of [...entries.keys()].sort()) {
    const e = entries.get(key)!;
    const message: CatalogueMessage = {
      kind: e.kind,
      type: e.type,
      subject: e.subject,
      version: e.contract?.version ?? 1,
      upcastsFrom: e.contract ? upcastsFromOf(e.contract) : [],
      schema: e.contract ? jsonSchemaOf(e.contract.schema) : {},
      sentBy: [...e.sentBy].sort(),
      receivedBy: [...e.receivedBy].sort(),
    };
    const description = e.contract?.description;
    if (description) message.description = description;
    messages[key] = canonical(message) as CatalogueMessage;
  }
  return { format: 'jetsaga-catalogue/1', messages };
}

const CatalogueMessageSchema = z.object({
  kind: z.enum(['command', 'event', 'saga-input', 'saga-signal']),
  type: z.string().min(1),
  subject: z.string().min(1).nullable(),
  version: z.number().int().positive(),
  upcastsFrom: z.array(z.number().int().positive()),
  schema: z.record(z.string(), z.unknown()),
  sentBy: z.array(z.string()),
  receivedBy: z.array(z.string()),
  description: z.string().optional(),
});

const CatalogueSchema = z.object({
  format: z.literal('jetsaga-catalogue/1'),
  messages: z.record(z.string(), CatalogueMessageSchema),
});

/**
 * A saved catalogue read back (the JSON of `jetsaga contracts print`), checked; throws an Error
 * naming the first fields at fault.
 */
export function parseCatalogue(value: unknown): Catalogue {
  const parsed = CatalogueSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new Error(`not a jetsaga catalogue (${issues})`);
  }
  return parsed.data as Catalogue;
}
