import type { Db } from 'mongodb';
import type { Logger } from '../runtime/observability/index.ts';
import { type ParticipantDefinition, type Reply, replyPathOf } from '../runtime/participants/index.ts';

/**
 * Runs a participant's command handlers straight against the store, as its host would, without a
 * bus: each call is a new command (its own command id) of one saga, unless `commandId` names one
 * run before (a re-run of the same command: a crash, a resend, a copy).
 */
export function commandRunner(
  participant: ParticipantDefinition,
  db: () => Db,
  log: Logger,
): (name: string, data: Record<string, unknown>, commandId?: string) => Promise<Reply> {
  let n = 0;
  return (name, data, id) => {
    const commandId = id ?? `saga:${++n}:0`;
    const envelope = {
      id: commandId,
      type: `${participant.name}.${name}`,
      schemaVersion: 1,
      occurredAt: new Date().toISOString(),
      sagaId: 'saga',
      sagaType: 'order-fulfillment',
      correlationId: 'test',
      causationId: null,
      data,
    };
    const handler = participant.commands[name];
    if (!handler) throw new Error(`${participant.name} has no command "${name}"`);
    return handler.handle(data, {
      commandId,
      sagaId: 'saga',
      envelope,
      db: db(),
      log,
      replyPath: replyPathOf(commandId),
    });
  };
}
