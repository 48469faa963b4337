import { createHash, randomUUID } from 'node:crypto';
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import type { Bus } from '../messaging/index.ts';
import { checkData, contract, type Envelope, envelope } from '../wire/index.ts';
import { isTerminal, type SagaDoc, type SagaStore } from '../store/index.ts';

/** What signals read of a saga definition (structural: definition.ts imports this module). */
export interface SignalDeclaring {
  type: string;
  machine: AnyStateMachine;
  signals?: Record<string, z.ZodType>;
}

/**
 * Signals: data a person (or another system) sends a running saga through the API, such as an
 * approval. A saga definition declares the signals it accepts (`signals: { approve: schema }`);
 * each reaches its machine as the event `saga.signal.<name>` through the same path as every
 * other event (stream, mailbox, inbox, one atomic step), so it is durable, handled once and
 * in order with the saga's other messages. The `saga.` prefix is the runtime's own (no
 * participant may be called `saga`), so a signal can never be mistaken for a service's reply.
 */

export const signalPrefix = 'saga.signal.';

/** The machine event type of a signal: `approve` -> `saga.signal.approve`. */
export const signalEventType = (name: string): string => `${signalPrefix}${name}`;

/** The signal name of an event type, or null when it is not a signal. */
export function signalNameOf(type: string): string | null {
  return type.startsWith(signalPrefix) ? type.slice(signalPrefix.length) : null;
}

/** Signal names travel in subjects and URLs: one subject token. */
export const signalNamePattern = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * What the machine receives: `{ type: 'saga.signal.<name>', data, by }`, `data` as the signal's
 * schema parsed it and `by` the caller (the API token's name).
 */
export interface SignalEvent<TData = unknown> {
  type: string;
  data: TData;
  by: string;
  [k: string]: unknown;
}

/** The envelope's data of a signal: the caller and the body, so the history shows both. */
export function signalDataSchema(schema: z.ZodType) {
  return z.object({
    by: z.string().describe('who sent it: the API token name, `anonymous` with auth off'),
    data: schema,
  });
}

/**
 * Checks a signal's envelope data against the signal's schema of the saga's own definition (not a
 * global contract by type: two saga types may declare one name with different bodies). Throws a
 * ValidationError (dead-lettered) for a signal the type does not declare or data it refuses.
 */
export function checkSignalData(
  def: SignalDeclaring,
  doc: Pick<SagaDoc, 'type' | 'version'>,
  env: Pick<Envelope, 'type' | 'data'>,
): void {
  const name = signalNameOf(env.type) ?? env.type;
  const schema = def.signals?.[name];
  if (!schema) {
    throw new ValidationError(`saga ${doc.type} v${doc.version} declares no signal "${name}"`, [
      { field: 'type', message: `not a signal of ${doc.type}` },
    ]);
  }
  checkData(env.type, contract(signalDataSchema(schema)), env.data);
}

/** The machine event of a signal's envelope data (`{ by, data }`). */
export function signalEvent(type: string, data: unknown): SignalEvent {
  const d = (data ?? {}) as { by?: unknown; data?: unknown };
  return { type, data: d.data ?? {}, by: typeof d.by === 'string' ? d.by : 'unknown' };
}

const accepting = new WeakMap<AnyStateMachine, Map<string, string[]>>();

/**
 * The states of `machine` with a transition on `eventType` (own or inherited from an ancestor),
 * by dotted path as the saga's `state` names them: what a 409 tells the caller to wait for.
 */
export function statesAccepting(machine: AnyStateMachine, eventType: string): string[] {
  let byType = accepting.get(machine);
  if (!byType) accepting.set(machine, (byType = new Map()));
  const known = byType.get(eventType);
  if (known) return known;
  const out: string[] = [];
  const walk = (node: AnyStateNode, inherited: boolean) => {
    const here = inherited || node.ownEvents.includes(eventType);
    if (node.path.length > 0 && here) out.push(node.path.join('.'));
    for (const child of Object.values(node.states)) walk(child, here);
  };
  walk(machine.root, false);
  byType.set(eventType, out);
  return out;
}

/**
 * Whether the saga's machine, in the state its stored snapshot holds, takes `event` (XState's
 * `snapshot.can`: a transition exists and its guards pass). Pure: the snapshot is resolved,
 * nothing runs.
 */
export function machineAccepts(machine: AnyStateMachine, snapshot: unknown, event: SignalEvent): boolean {
  if (snapshot === null || snapshot === undefined) return false;
  const restored = machine.resolveState(snapshot as Parameters<AnyStateMachine['resolveState']>[0]);
  return restored.status === 'active' && restored.can(event);
}

/** Why a signal does not apply to the saga in `doc` now; null when it does. */
export function signalRefusal(
  doc: Pick<SagaDoc, '_id' | 'status' | 'state' | 'snapshot'>,
  def: Pick<SignalDeclaring, 'type' | 'machine'>,
  event: SignalEvent,
): string | null {
  const name = signalNameOf(event.type) ?? event.type;
  if (isTerminal(doc.status)) {
    return `saga ${doc._id} already ended with status ${doc.status}; signal ${name} can only go to a running saga`;
  }
  if (machineAccepts(def.machine, doc.snapshot, event)) return null;
  const states = statesAccepting(def.machine, event.type);
  if (doc.state !== null && states.includes(doc.state)) {
    return `saga ${doc._id} is in state ${doc.state}, whose guards refuse signal ${name} with this data`;
  }
  return (
    `saga ${doc._id} is in state ${doc.state ?? '(not started)'}, which does not accept signal ${name}; ` +
    (states.length > 0
      ? `states that accept it: ${states.join(', ')}`
      : 'no state accepts it (or its guards refuse this data)')
  );
}

/**
 * The id of a signal's event. With an Idempotency-Key it is derived from (saga, signal, key), so
 * a retried post is the same message: the stream's duplicate window and the saga's inbox keep it
 * to one step. Without a key every post is a new signal.
 */
export function signalEventId(sagaId: string, name: string, key?: string): string {
  if (key === undefined) return `${sagaId}:signal:${name}:${randomUUID()}`;
  const digest = createHash('sha256').update(`jetsaga-signal\n${sagaId}\n${name}\n${key}`).digest('hex');
  return `${sagaId}:signal:${name}:${digest.slice(0, 32)}`;
}

export interface SignalRequest {
  sagaId: string;
  name: string;
  /** The body; validated against the signal's schema of the saga's own version. */
  data: unknown;
  /** The caller: the API token's name, `anonymous` with auth off. */
  by: string;
  idempotencyKey?: string;
}

export interface SignalSent {
  doc: SagaDoc;
  eventId: string;
  /** An Idempotency-Key retry of a signal the saga has already taken: nothing was sent again. */
  replayed: boolean;
  /** A replay whose body differs from the one taken first: a client bug the API answers with a 422. */
  differentBody?: boolean;
}

/**
 * Sends a signal to a saga: 404 for an unknown saga or a signal its type does not declare, 400
 * naming the field for a body its schema refuses, 409 when the saga has ended or its current state
 * does not take the signal (naming the states that do). The state check here is a pre-check on the
 * stored document; the orchestrator decides again when the event arrives, and dead-letters it
 * (reason `conflict`, replayable) if the saga moved on meanwhile.
 */
export async function requestSignal(
  deps: { store: SagaStore; bus: Bus; registry: { get(type: string, version: number): SignalDeclaring } },
  req: SignalRequest,
): Promise<SignalSent> {
  const doc = await deps.store.load(req.sagaId);
  if (!doc) throw new NotFoundError(`no saga with id "${req.sagaId}"`);
  const def = deps.registry.get(doc.type, doc.version);
  const schema = def.signals?.[req.name];
  if (!schema) {
    const known = Object.keys(def.signals ?? {});
    throw new NotFoundError(
      `saga type ${doc.type} v${doc.version} has no signal "${req.name}"; its signals: ${known.join(', ') || '(none)'}`,
    );
  }
  const parsed = schema.safeParse(req.data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      field: i.path.map(String).join('.') || 'body',
      message: i.message,
    }));
    throw new ValidationError(
      `invalid signal ${req.name}: ${[...new Set(issues.map((i) => i.field))].join(', ')}`,
      issues,
    );
  }
  const eventId = signalEventId(doc._id, req.name, req.idempotencyKey);
  if (req.idempotencyKey !== undefined) {
    // Checked before the state: the signal taken first has most likely moved the saga on, and a
    // retry must hear that it was taken, not that the saga no longer accepts it.
    const history = await deps.store.historyOf(doc._id);
    const taken = history.find((h) => h.event.id === eventId);
    if (taken) {
      const before = JSON.stringify((taken.event.data as { data?: unknown } | null)?.data ?? null);
      const differentBody = before !== JSON.stringify(parsed.data ?? null);
      return { doc, eventId, replayed: true, differentBody };
    }
  }
  const type = signalEventType(req.name);
  const refusal = signalRefusal(doc, def, { type, data: parsed.data, by: req.by });
  if (refusal) throw new ConflictError(refusal);
  const env = envelope({
    id: eventId,
    type,
    sagaId: doc._id,
    sagaType: doc.type,
    correlationId: doc.correlationId,
    causationId: null,
    traceparent: doc.traceparent,
    data: { by: req.by, data: parsed.data },
  });
  await deps.bus.publish(`evt.${type}`, env, eventId);
  return { doc, eventId, replayed: false };
}
