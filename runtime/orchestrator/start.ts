import { randomUUID } from 'node:crypto';
import { ValidationError } from '../errors.ts';
import type { Bus, Envelope } from '../messaging/index.ts';
import { newTraceparent } from '../messaging/index.ts';
import type { OutboxEntry, SagaDoc, SagaStore } from '../store/index.ts';
import type { SagaRegistry } from './definition.ts';
import { RuntimeEvent } from './saga-actor.ts';

export interface StartRequest {
  type: string;
  input: unknown;
  sagaId?: string;
  correlationId?: string;
  traceparent?: string;
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
  const parsed = def.input.safeParse(req.input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
    throw new ValidationError(`invalid input for saga ${def.type}`, issues);
  }
  const sagaId = req.sagaId ?? randomUUID();
  const correlationId = req.correlationId ?? sagaId;
  const traceparent = req.traceparent ?? newTraceparent();
  const now = new Date();
  const startId = `${sagaId}:start`;
  const envelope: Envelope = {
    id: startId,
    type: RuntimeEvent.started,
    schemaVersion: 1,
    occurredAt: now.toISOString(),
    sagaId,
    sagaType: def.type,
    correlationId,
    causationId: null,
    traceparent,
    data: {},
  };
  const entry: OutboxEntry = {
    msgId: startId,
    subject: `evt.${RuntimeEvent.started}`,
    envelope,
    createdAt: now,
  };
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
    pendingHistory: {},
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
    await deps.bus.publish(entry.subject, envelope, entry.msgId);
    await deps.store.clearStart(sagaId, startId);
  } catch {
    // The saga is stored with its start event in the outbox: the orchestrator's outbox
    // sweep publishes it once the broker is back, so the start has been accepted.
  }
  return { sagaId, doc };
}
