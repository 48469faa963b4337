import type { Collection, Db, Filter, UpdateFilter } from 'mongodb';
import type { z } from 'zod';
import { ValidationError } from '../errors.ts';
import { isDuplicateKey } from '../store/index.ts';
import { asContract, type Envelope, isContract, issuesOf, type MessageContract } from '../wire/index.ts';
import type { Logger } from '../observability/index.ts';
import { checkSchedules, type ParticipantSchedule } from './schedule.ts';

/** What a command handler answers: the event name within its service, and its data. */
export interface Reply {
  /** e.g. `reserved` -> published as `inventory.reserved`. */
  type: string;
  data: Record<string, unknown>;
  /**
   * This reply is kept in the handler's own document, under `ctx.replyPath` (see `replyToStore`),
   * so the host records nothing in `<service>_processed` and publishes it as it is. Set it only
   * through `storedReply`/`asStored`; the contract is on `replyToStore`.
   */
  stored?: true;
  /** When a stored reply was made (ISO): the envelope's `occurredAt`, the same on every run. */
  at?: string;
  /**
   * The version of `data`'s shape, set by `asStored` from the stored value. Absent: the host stamps
   * the version the participant declares for this event (`events`) on a plain reply, and 1 on a
   * stored one (stored without a version: by a build before this event's version 2).
   */
  schemaVersion?: number;
}

/**
 * What a handler keeps under `ctx.replyPath` of its document: the reply, the saga it answered
 * (what test/invariants counts per saga) and when it was made. The host builds the envelope
 * from it exactly as from an unstored reply: id `<commandId>:reply`, type `<service>.<type>`.
 */
export interface StoredReply {
  type: string;
  data: Record<string, unknown>;
  sagaId: string;
  /** ISO time the reply was made: its envelope's `occurredAt`, the same on every publish. */
  at: string;
  /**
   * The version of `data` it was written at, when above 1 (absent: 1): a reply stored by an older
   * build keeps its version when published again, and receivers upcast it.
   */
  schemaVersion?: number;
}

export interface CommandContext {
  /** Stable for the step, the same on every resend: the key to make the effect idempotent. */
  commandId: string;
  sagaId: string;
  envelope: Envelope;
  db: Db;
  log: Logger;
  /**
   * Where a handler keeps this command's reply in its document, if it stores it (see
   * `replyToStore`): `replies.<replyKey(commandId)>`.
   */
  replyPath: string;
  /**
   * The version the participant declares for each event it answers with (`events`, by event name
   * within the service): what `replyToStore` records with a stored reply. Undeclared: 1.
   */
  replyVersions?: Readonly<Record<string, number>>;
}

/**
 * `commandId` as a MongoDB field name: `%`, `.` and `$` percent-encoded (`%25`, `%2E`, `%24`),
 * anything else as it is, so it is reversible (`commandIdOfKey`) and the same in any language
 * (services/shipping-py does the same). Envelope ids are `[A-Za-z0-9_:-]`, so in practice the key
 * is the command id itself (`<sagaId>:<rev>:<i>`).
 */
export function replyKey(commandId: string): string {
  return commandId.replace(
    /[%.$]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/** The command id a `replies` key stands for (the inverse of `replyKey`). */
export function commandIdOfKey(key: string): string {
  return key.replace(/%(25|2E|24)/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** `replies.<key>`: the field path of a command's stored reply. */
export function replyPathOf(commandId: string): string {
  return `replies.${replyKey(commandId)}`;
}

/** The document shape a handler that stores replies adds to its own (a map by `replyKey`). */
export interface WithReplies {
  replies?: Record<string, StoredReply>;
}

/**
 * The value to write under `ctx.replyPath`, in the same update as the effect it answers. A handler
 * whose effect lives in one document may keep its reply there instead of having the host record it
 * in `<service>_processed`: one store write per command fewer. The contract, for a reply returned
 * as stored (`asStored(value)` after writing `value`, or `storedReply(doc, ctx)` read back):
 *
 * - it was written atomically with the effect (in the very update, upsert or insert that makes
 *   it), or alone on a document that exists, conditional on no reply being at `ctx.replyPath`
 *   (`{[ctx.replyPath]: {$exists: false}}`), re-reading the document when that loses a race;
 * - it is never overwritten: every later run of the same command (a crash, a resend, a copy, a
 *   race, also after later commands moved the document) finds it and returns it, unchanged;
 * - a run of the command never answers unstored when another run may store, nor the reverse:
 *   decide by states that only move forward (a document exists, or it does not and no run of this
 *   command creates it). A handler that cannot store (no document: an unknown order, a refusal
 *   that writes nothing) returns a plain reply, and the host records it as before.
 *
 * Why that is still exactly once: the stored reply and the effect are one write, so the effect
 * never exists without its reply, and no run publishes anything but the first stored one (the
 * envelope is built from it on every run: same id, type, data, `occurredAt`).
 */
export function replyToStore(
  reply: Pick<Reply, 'type' | 'data'>,
  ctx: Pick<CommandContext, 'sagaId'> & Partial<Pick<CommandContext, 'replyVersions'>>,
): StoredReply {
  const value: StoredReply = {
    type: reply.type,
    data: reply.data,
    sagaId: ctx.sagaId,
    at: new Date().toISOString(),
  };
  // Recorded from version 2 on only: every reply stored before versions existed is version 1.
  const version = ctx.replyVersions?.[reply.type];
  if (version !== undefined && version > 1) value.schemaVersion = version;
  return value;
}

/** A stored value as the reply to return (marked stored). */
export function asStored(value: StoredReply): Reply {
  const reply: Reply = { type: value.type, data: value.data, stored: true, at: value.at };
  if (value.schemaVersion !== undefined) reply.schemaVersion = value.schemaVersion;
  return reply;
}

const readBack = new WeakSet<Reply>();

/**
 * This command's reply as stored in `doc` by an earlier run (marked stored), or undefined. The
 * host counts a delivery answered with it as `replayed`.
 */
export function storedReply(
  doc: WithReplies | null | undefined,
  ctx: Pick<CommandContext, 'commandId'>,
): Reply | undefined {
  const value = doc?.replies?.[replyKey(ctx.commandId)];
  if (!value) return undefined;
  const reply = asStored(value);
  readBack.add(reply);
  return reply;
}

/**
 * Keeps `reply` as this command's in the document `_id` of `collection`, alone (no effect with it),
 * only if no reply is there yet: for a handler that finds its document already moved (by an
 * earlier command) and answers from it. Returns it stored; when a reply was there already (a
 * concurrent or earlier run of this command), that one. When the document does not exist, `reply`
 * unstored (the host records it): use it only on documents that exist and are never deleted.
 */
export async function keepReply<T extends WithReplies & { _id: string }>(
  collection: Collection<T>,
  _id: string,
  reply: Pick<Reply, 'type' | 'data'>,
  ctx: Pick<CommandContext, 'sagaId' | 'commandId' | 'replyPath'> &
    Partial<Pick<CommandContext, 'replyVersions'>>,
): Promise<Reply> {
  const value = replyToStore(reply, ctx);
  const done = await collection.updateOne(
    { _id, [ctx.replyPath]: { $exists: false } } as Filter<T>,
    { $set: { [ctx.replyPath]: value } } as UpdateFilter<T>,
  );
  if (done.modifiedCount === 1) return asStored(value);
  const doc = (await collection.findOne({ _id } as Filter<T>)) as WithReplies | null;
  return storedReply(doc, ctx) ?? { type: reply.type, data: reply.data };
}

/**
 * An effect written by an upsert that keeps this command's reply in the same write: `set` (and
 * `reply` under the command's key) on the document `_id` of `collection`, only where the command
 * has no reply yet, and `insert` too when the document is missing. That is how a cancel that
 * overtakes its create leaves a tombstone the create respects. A run of the command that finds its
 * reply there (the upsert's duplicate key) answers with that one; a document another command
 * inserted meanwhile is updated by the next attempt. Returns the reply as stored.
 */
export async function upsertWithReply<T extends WithReplies & { _id: string }>(
  collection: Collection<T>,
  _id: string,
  effect: { set: Record<string, unknown>; insert: Record<string, unknown> },
  reply: Pick<Reply, 'type' | 'data'>,
  ctx: Pick<CommandContext, 'sagaId' | 'commandId' | 'replyPath'> &
    Partial<Pick<CommandContext, 'replyVersions'>>,
): Promise<Reply> {
  for (let attempt = 1; ; attempt++) {
    const value = replyToStore(reply, ctx);
    try {
      await collection.updateOne(
        { _id, [ctx.replyPath]: { $exists: false } } as Filter<T>,
        { $set: { ...effect.set, [ctx.replyPath]: value }, $setOnInsert: effect.insert } as UpdateFilter<T>,
        { upsert: true },
      );
      return asStored(value);
    } catch (err) {
      if (!isDuplicateKey(err) || attempt >= 3) throw err;
      const mine = storedReply((await collection.findOne({ _id } as Filter<T>)) as WithReplies | null, ctx);
      if (mine) return mine;
    }
  }
}

/** True for a reply `storedReply` read back: an earlier run's answer, published again. */
export function wasReadBack(reply: Reply): boolean {
  return readBack.has(reply);
}

export interface CommandHandler {
  handle(data: unknown, ctx: CommandContext): Promise<Reply>;
  /**
   * The command's contract (its data's schema, version and upcasters): the host upcasts an older
   * command to this version before `handle`, and dead-letters a newer one. `command()` always
   * sets it; a handler without one takes every version as it comes.
   */
  readonly contract?: MessageContract;
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
  input: S | MessageContract<S>,
  handle: (data: z.output<S>, ctx: CommandContext) => Promise<Reply>,
): CommandHandler & { readonly contract: MessageContract<S> } {
  const c = asContract(input);
  const schema = c.schema;
  return {
    contract: c,
    async handle(data, ctx) {
      const parsed = schema.safeParse(data);
      if (!parsed.success) {
        const issues = issuesOf(parsed.error);
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
  /**
   * The events it answers with, by name within the service (`reserved` for `inventory.reserved`):
   * each one's contract. The host stamps each reply with its event's version (an undeclared one
   * with 1), and receivers upcast and validate by it.
   */
  events?: Readonly<Record<string, MessageContract>>;
  /** Creates the service's collections and indexes at start. */
  setup?: (db: Db) => Promise<void>;
  /**
   * Upkeep on a schedule (a sweep of what no command will come back for): each run happens on one
   * replica of the service only, and must be safe to repeat (see ScheduledJob).
   */
  schedules?: readonly ParticipantSchedule[];
}

const eventName = /^[a-z][a-z0-9-]*$/;

export function defineParticipant(def: ParticipantDefinition): ParticipantDefinition {
  if (!/^[a-z][a-z0-9-]*$/.test(def.name))
    throw new ValidationError(`service name "${def.name}" must be lowercase`);
  checkSchedules(def.schedules, (field, message) => {
    throw new ValidationError(`service ${def.name}: ${field} ${message}`, [{ field, message }]);
  });
  for (const [name, c] of Object.entries(def.events ?? {})) {
    const field = `events.${name}`;
    if (!eventName.test(name))
      throw new ValidationError(
        `service ${def.name}: ${field}: use the event name within the service, e.g. reserved`,
        [{ field, message: 'lowercase letters, digits and dashes' }],
      );
    if (!isContract(c))
      throw new ValidationError(
        `service ${def.name}: ${field}: give a contract (contract(schema, { version }))`,
        [{ field, message: 'not a contract' }],
      );
  }
  return def;
}

/** The version a participant declares for each of its events (what the host stamps). */
export function eventVersions(def: Pick<ParticipantDefinition, 'events'>): Record<string, number> {
  return Object.fromEntries(Object.entries(def.events ?? {}).map(([name, c]) => [name, c.version]));
}
