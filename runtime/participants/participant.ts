import type { Db } from 'mongodb';
import type { z } from 'zod';
import { ValidationError } from '../errors.ts';
import type { Envelope } from '../wire/index.ts';
import type { Logger } from '../observability/index.ts';

/** What a command handler answers: the event name within its service, and its data. */
export interface Reply {
  /** e.g. `reserved` -> published as `inventory.reserved`. */
  type: string;
  data: Record<string, unknown>;
}

export interface CommandContext {
  /** Stable for the step, the same on every resend: the key to make the effect idempotent. */
  commandId: string;
  sagaId: string;
  envelope: Envelope;
  db: Db;
  log: Logger;
}

export interface CommandHandler {
  handle(data: unknown, ctx: CommandContext): Promise<Reply>;
}

/**
 * A command handler with validated input. The handler must be idempotent for its
 * business key: it may run again for the same command (after a crash, on a resend or a
 * duplicate message; the host does not look up its inbox before a first delivery), also
 * after later commands for the same key took effect (e.g. authorize again after void),
 * and must then write nothing its first run did not. What a re-run answers does not
 * matter: the host publishes the reply recorded first.
 */
export function command<S extends z.ZodType>(
  input: S,
  handle: (data: z.output<S>, ctx: CommandContext) => Promise<Reply>,
): CommandHandler {
  return {
    async handle(data, ctx) {
      const parsed = input.safeParse(data);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
        throw new ValidationError(
          `${ctx.envelope.type}: invalid data: ${issues.map((i) => `${i.field || '(root)'}: ${i.message}`).join('; ')}`,
          issues,
        );
      }
      return handle(parsed.data, ctx);
    },
  };
}

export interface ParticipantDefinition {
  /** Service name: commands arrive on `cmd.<name>.<command>`, replies go to `evt.<name>.<event>`. */
  name: string;
  commands: Record<string, CommandHandler>;
  /** Creates the service's collections and indexes at start. */
  setup?: (db: Db) => Promise<void>;
}

export function defineParticipant(def: ParticipantDefinition): ParticipantDefinition {
  if (!/^[a-z][a-z0-9-]*$/.test(def.name))
    throw new ValidationError(`service name "${def.name}" must be lowercase`);
  return def;
}
