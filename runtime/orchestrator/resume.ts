import { ConflictError, NotFoundError } from '../errors.ts';
import type { Bus } from '../messaging/index.ts';
import { envelope } from '../wire/index.ts';
import { isTerminal, type SagaDoc, type SagaStore, type StalledCommand } from '../store/index.ts';
import { RuntimeEvent } from './runtime-events.ts';

/**
 * Asks a saga whose step ran out of resends to send its unanswered commands again, once an
 * operator has fixed what kept the participant from answering. Published as `saga.resume`, an
 * event through the saga's own path, and handled by the orchestrator (decide.ts), not the
 * machine. Its id is derived from the revision the saga is stalled at, so a double click is one
 * resume, while a saga that stalls again later can be resumed again. 409 when nothing waits.
 */
export async function requestResume(
  deps: { store: SagaStore; bus: Bus },
  sagaId: string,
  by: string,
): Promise<{ doc: SagaDoc; commands: StalledCommand[] }> {
  const doc = await deps.store.load(sagaId);
  if (!doc) throw new NotFoundError(`no saga with id "${sagaId}"`);
  if (isTerminal(doc.status)) {
    throw new ConflictError(
      `saga ${sagaId} already ended with status ${doc.status}; there is nothing to resume`,
    );
  }
  const commands = resumable(doc);
  if (commands.length === 0) {
    throw new ConflictError(
      `saga ${sagaId} is not stalled: no command of its state ${doc.state ?? '(not started)'} ran out of resends; there is nothing to resume`,
    );
  }
  const id = `${sagaId}:resume:${doc.rev}`;
  const env = envelope({
    id,
    type: RuntimeEvent.resume,
    sagaId,
    sagaType: doc.type,
    correlationId: doc.correlationId,
    causationId: null,
    traceparent: doc.traceparent,
    data: { by },
  });
  await deps.bus.publish(`evt.${RuntimeEvent.resume}`, env, id);
  return { doc, commands };
}

/** The stalled commands a resume would send: those of the state the saga is in. */
export function resumable(doc: Pick<SagaDoc, 'status' | 'state' | 'stalled'>): StalledCommand[] {
  if (isTerminal(doc.status)) return [];
  return (doc.stalled ?? []).filter((s) => s.state === doc.state);
}
