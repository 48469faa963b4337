import { createHash, randomUUID } from 'node:crypto';
import { ConflictError, ValidationError } from '../errors.ts';
import type { Bus } from '../messaging/index.ts';
import { envelope, issuesOf, newTraceparent, upcastData } from '../wire/index.ts';
import type { SagaDoc, SagaStore } from '../store/index.ts';
import { inputContractOf, type SagaDefinition, type SagaRegistry } from './definition.ts';
import { outboxEntry } from './records.ts';
import { RuntimeEvent } from './runtime-events.ts';

export interface StartRequest {
  type: string;
  input: unknown;
  /**
   * The version of the input's shape the caller wrote (the saga's `inputVersion` when absent): an
   * older one is upcast to the current before validation; a newer one throws a ContractError.
   */
  inputVersion?: number;
  sagaId?: string;
  correlationId?: string;
  traceparent?: string;
  /**
   * Who asked for the start (the API token's name, `anonymous` with auth off): recorded as
   * `by` in the data of the saga's start event, so its history shows it.
   */
  by?: string;
}

export interface Started {
  sagaId: string;
  doc: SagaDoc;
}

/**
 * Starts a saga: validates the input against the newest version's schema, inserts the
 * document at rev 0 with the start event in its outbox, then publishes that event. A
 * crash before the publish is recovered by the orchestrator's outbox sweep.
 */
export async function startSaga(
  deps: { store: SagaStore; bus: Bus; registry: SagaRegistry },
  req: StartRequest,
): Promise<Started> {
  const def = deps.registry.latest(req.type);
  const parsed = def.input.safeParse(currentInput(def, req.input, req.inputVersion));
  if (!parsed.success) {
    throw new ValidationError(`invalid input for saga ${def.type}`, issuesOf(parsed.error));
  }
  const sagaId = req.sagaId ?? randomUUID();
  const correlationId = req.correlationId ?? sagaId;
  const traceparent = req.traceparent ?? newTraceparent();
  const now = new Date();
  const startId = `${sagaId}:start`;
  const entry = outboxEntry(
    `evt.${RuntimeEvent.started}`,
    envelope({
      id: startId,
      type: RuntimeEvent.started,
      occurredAt: now,
      sagaId,
      sagaType: def.type,
      correlationId,
      causationId: null,
      traceparent,
      data: req.by === undefined ? {} : { by: req.by },
    }),
    now,
  );
  const doc: SagaDoc = {
    _id: sagaId,
    type: def.type,
    version: def.version,
    status: 'running',
    state: null,
    context: null,
    snapshot: null,
    input: parsed.data,
    rev: 0,
    outbox: { [startId]: entry },
    outboxAt: now,
    inbox: [],
    timers: {},
    nextWakeAt: null,
    correlationId,
    traceparent,
    createdAt: now,
    updatedAt: now,
    endedAt: null,
    reason: null,
    error: null,
  };
  await deps.store.create(doc);
  try {
    // The saga's first transition removes the start event from the outbox (it handles its own
    // outbox entry), in the write it makes anyway: no write of the API's own.
    await deps.bus.publish(entry.subject, entry.envelope, entry.msgId);
  } catch {
    // The saga is stored with its start event in the outbox: the orchestrator's outbox
    // sweep publishes it once the broker is back, so the start has been accepted.
  }
  return { sagaId, doc };
}

/**
 * A start's input at the current version of its saga's input contract: as it is when `version` is
 * absent or current, upcast when older; a newer version (or one older than every upcaster) throws
 * a ContractError. Not validated here: the caller validates the result.
 */
export function currentInput(def: SagaDefinition, input: unknown, version?: number): unknown {
  const c = inputContractOf(def);
  if (version === undefined || version === c.version) return input;
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new ValidationError(`invalid input for saga ${def.type}: expected an object`, [
      { field: '', message: 'expected an object' },
    ]);
  return upcastData(`${def.type} input`, c, input as Record<string, unknown>, version, 'the app');
}

/**
 * The saga id a start with this key gets: a UUID (version 8, "custom") made of
 * SHA-256(type, key). The id itself is the record of the key, so a retry, on any replica,
 * collides on the saga's primary key instead of needing a second collection.
 */
export function sagaIdForKey(type: string, key: string): string {
  const bytes = createHash('sha256').update(`jetsaga-idempotency\n${type}\n${key}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** JSON with sorted keys, so two equal values compare equal whatever their key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** Whether `input` is the input the existing saga was started with (after its schema's defaults). */
export function sameStartInput(registry: SagaRegistry, existing: SagaDoc, input: unknown): boolean {
  const parsed = registry.get(existing.type, existing.version).input.safeParse(input);
  return parsed.success && canonical(parsed.data) === canonical(existing.input);
}

/**
 * Starts a saga once per idempotency key, for code that reacts to events (a redelivery or a
 * second replica asks again): the key's saga when it exists (`created: false`), a new one
 * otherwise. The same key with another input is a bug in the caller, not a retry.
 */
export async function startSagaOnce(
  deps: { store: SagaStore; bus: Bus; registry: SagaRegistry },
  req: Omit<StartRequest, 'sagaId'> & { idempotencyKey: string },
): Promise<{ sagaId: string; created: boolean }> {
  const { idempotencyKey, inputVersion, ...given } = req;
  // At the current version from here on: the comparison with an existing saga's input needs it.
  const input = currentInput(deps.registry.latest(req.type), req.input, inputVersion);
  const rest = { ...given, input };
  const sagaId = sagaIdForKey(req.type, idempotencyKey);
  const existing = await deps.store.load(sagaId);
  if (!existing) {
    try {
      await startSaga(deps, { ...rest, sagaId });
      return { sagaId, created: true };
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }
  const doc = existing ?? (await deps.store.load(sagaId));
  if (doc && !sameStartInput(deps.registry, doc, input)) {
    throw new ConflictError(
      `idempotency key "${idempotencyKey}" already started saga ${sagaId} with another input; use a new key for a new saga`,
    );
  }
  return { sagaId, created: false };
}
