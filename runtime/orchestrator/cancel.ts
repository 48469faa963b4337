import { ConflictError, NotFoundError } from '../errors.ts';
import type { Bus } from '../messaging/index.ts';
import { envelope } from '../wire/index.ts';
import { isTerminal, type SagaDoc, type SagaStore } from '../store/index.ts';
import { RuntimeEvent } from './runtime-events.ts';

/**
 * Asks a running saga to cancel: publishes `saga.cancel` to it as an ordinary event, so
 * its machine decides how to compensate the steps done. One id per saga, so repeated
 * requests collapse. A saga that already ended cannot be cancelled (409). `by` (who asked:
 * the API token's name) goes into the event's data, so the saga's history shows it.
 */
export async function requestCancel(
  deps: { store: SagaStore; bus: Bus },
  sagaId: string,
  reason: string,
  by?: string,
): Promise<SagaDoc> {
  const doc = await deps.store.load(sagaId);
  if (!doc) throw new NotFoundError(`no saga with id "${sagaId}"`);
  if (isTerminal(doc.status)) {
    throw new ConflictError(
      `saga ${sagaId} already ended with status ${doc.status}; only a running saga can be cancelled`,
    );
  }
  const id = `${sagaId}:cancel`;
  const env = envelope({
    id,
    type: RuntimeEvent.cancel,
    sagaId,
    sagaType: doc.type,
    correlationId: doc.correlationId,
    causationId: null,
    traceparent: doc.traceparent,
    data: by === undefined ? { reason } : { reason, by },
  });
  await deps.bus.publish(`evt.${RuntimeEvent.cancel}`, env, id);
  return doc;
}
