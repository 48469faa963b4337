import type { Db } from 'mongodb';
import { ValidationError } from '../errors.ts';
import type { Bus, Delivery, Topology } from '../messaging/index.ts';
import type { DurableSpec } from '../messaging/provision.ts';
import { type Envelope, splitType, upcastData } from '../wire/index.ts';
import type { Logger } from '../observability/index.ts';
import { answerEnvelope, AnswerHost } from './answer-inbox.ts';
import type { InboxRetention } from './inbox-purge.ts';
import { type ParticipantScheduleContext, ScheduleRunner } from './schedule.ts';
import {
  eventVersions,
  type ParticipantDefinition,
  type Reply,
  replyPathOf,
  wasReadBack,
} from './participant.ts';

/** The durable a participant reads its commands through: `svc-<name>` on `cmd.<name>.>`. */
export function participantDurable(name: string, topo: Topology): DurableSpec {
  return { stream: topo.streams.cmd, durable: `svc-${name}`, filter: topo.cmdFilter(name) };
}

interface Processed {
  _id: string;
  reply: Envelope;
  at: Date;
}

/** What the handler answered with the record built from it: never inserted when stored. */
const storedReplies = new WeakMap<Processed, 'fresh' | 'earlier'>();

/**
 * Runs a participant: a durable consumer on its commands with an inbox keyed by
 * commandId (`<service>_processed`, one record per command, the unique `_id` is the
 * dedup). The reply recorded first is THE reply of a command: every delivery of it
 * publishes that one, under the same message id (`<commandId>:reply`), so the stream's
 * dedup window and the saga's inbox both see one answer.
 *
 * Hot path, no read: a first delivery runs the handler, then inserts the record, then
 * publishes. When the insert hits the unique key (the command was handled before: a
 * resend, an outbox republished beyond the dedup window, two replicas racing), the
 * recorded reply is read and published instead of the one just computed (`replayed`).
 * A redelivery (`attempt > 1`: a crash or a lost ack after the handler ran, most often
 * after the record was written) reads the record first and, when there is one, replays
 * it without running the handler again: one read instead of a re-run and its failed insert.
 *
 * Why this is still exactly once: a first delivery can be a duplicate (step policies
 * resend the SAME commandId under a new Nats-Msg-Id, `attempt` 1; so does a republish
 * beyond the dedup window), and a crash between the effect and the record re-runs the
 * handler anyway; in either case it may run after later commands for the same business
 * key (authorize after void, reserve after release). Reading first only on redelivery
 * therefore relies on the same property as never reading: handlers are idempotent for
 * their business key, whenever they run again (see `command` in participant.ts). Each
 * handler of services/ keeps that with conditional writes keyed by order or trip id,
 * through states that only move forward, so a re-run never writes anything its first
 * run did not (what it answers may differ; that answer is dropped for the recorded one):
 * - inventory: `reserve` inserts the reservation first; a re-run finds it past `pending`
 *   (`reserved`, `rejected`, `released`, ...) and takes no hold (a `pending` one is a
 *   crashed run it finishes; holds are keyed by order, taken once); `release` re-marks
 *   `released` and gives back only holds still there (none after the first run).
 * - payment: `authorize` is an insert (a re-run finds the payment in whatever state);
 *   `capture` moves only `authorized` -> `captured`; `void`/`refund` move only
 *   `authorized`/`captured` to terminal states nothing leaves, else leave a tombstone
 *   (an insert, a no-op when the payment exists).
 * - inventory `receive`: the receipt is inserted `pending`; the stock update is keyed on the
 *   SKU's `received` total (it only grows) and on a marker of the receipt, so a re-run or a
 *   stale run adds nothing again; then `pending` -> `applied` (services/inventory/receive.ts).
 * - shipping, flights, hotels, cars, suppliers: create/book/place-order is an insert; cancel
 *   sets `cancelled`, an end state that create/book/place-order respects.
 * Re-running cancel/release rewrites only `updatedAt` on a document already in its end
 * state. A handler that fails on a duplicate (e.g. an input schema made stricter since
 * the first run) still gets its recorded reply published.
 *
 * The records of commands handled at the same time are inserted together, one
 * `insertMany` per batch (InsertBatcher): nothing changes per command, each record still
 * gets its own answer from the unique key. Inserted: this reply is the command's, published.
 * Duplicate: the stored one is read and published, as above. Failed, or unknown (the batch
 * failed as a whole): the command fails and is retried, its redelivery reads first.
 *
 * Replies kept in the handler's document (`Reply.stored`, see `replyToStore`): a handler whose
 * effect lives in one document may write its reply there (under `ctx.replyPath`) in the same
 * atomic update as the effect; then there is no record to insert, the reply is published as it
 * is: one store write per command fewer. Exactly once holds as above, with the document as the
 * inbox: the reply exists exactly when the effect does, a re-run (copy, crash, race, later
 * commands for the same key) finds it and returns it unchanged, and the envelope is rebuilt from
 * it identically (id, type, data, `occurredAt`). A redelivery still reads the inbox first (a
 * reply recorded there, by an older version or by a run that could not store, is replayed); when
 * there is none, the handler runs and returns its stored reply. `handled` counts the stored
 * replies a run wrote, `replayed` those it read back (`storedReply`). A handler that cannot store
 * (no document for it) returns a plain reply, recorded here as before.
 *
 * Versions: a command older than its handler's contract is upcast to the current version before
 * the handler validates it; a newer one is dead-lettered (ContractError, reason `contract`) without
 * running the handler. Each reply is stamped with the version the participant declares for its
 * event (`events`; 1 when undeclared); a reply stored by an earlier run keeps the version it was
 * stored with.
 */
export class ParticipantHost extends AnswerHost<Processed> {
  /** Declared version per event name, shared by every command's context. */
  private readonly replyVersions: Readonly<Record<string, number>>;
  private readonly schedules: ScheduleRunner<ParticipantScheduleContext>;

  constructor(
    private readonly def: ParticipantDefinition,
    bus: Bus,
    private readonly db: Db,
    log: Logger,
    /** Purges inbox records (JETSAGA_INBOX_RETENTION_MS); absent: kept for ever. */
    retention?: InboxRetention,
  ) {
    super({
      role: 'service',
      answeredAs: 'handled',
      name: def.name,
      durable: participantDurable(def.name, bus.topo),
      records: db.collection<Processed>(`${def.name}_processed`),
      answerOf: (p) => p.reply,
      keptElsewhere: (p) => storedReplies.get(p),
      bus,
      log,
      retention,
      sagaIdPath: 'reply.sagaId',
    });
    this.replyVersions = Object.freeze(eventVersions(def));
    const durable = participantDurable(def.name, bus.topo).durable;
    this.schedules = new ScheduleRunner(durable, def.schedules ?? [], {
      db,
      log,
      context: (runLog, dueAt) => ({ db, log: runLog, dueAt }),
    });
  }

  /** The service's name (`<name>_processed`, `svc-<name>`). */
  get name(): string {
    return this.def.name;
  }

  /** Commands whose reply this host computed, recorded (or stored by the handler) first and published. */
  get handled(): number {
    return this.answered;
  }

  override async start(): Promise<void> {
    await this.def.setup?.(this.db);
    await super.start();
    await this.schedules.start();
  }

  /** The schedules stop first, then the consumer. */
  override async stop(): Promise<void> {
    await this.schedules.stop();
    await super.stop();
  }

  protected override async onDelivery(d: Delivery): Promise<void> {
    const env = d.envelope;
    const { head: service, tail: name } = splitType(env.type);
    const handler = service === this.def.name ? this.def.commands[name] : undefined;
    if (!handler) {
      throw new ValidationError(
        `service ${this.def.name} has no command "${env.type}"; known: ${Object.keys(this.def.commands).join(', ')}`,
      );
    }
    // An older command is upcast to the handler's version (its handler validates it); a newer one
    // is dead-lettered before anything runs. One integer compare when it is current.
    const c = handler.contract;
    const current =
      !c || env.schemaVersion === c.version
        ? env
        : {
            ...env,
            schemaVersion: c.version,
            data: upcastData(env.type, c, env.data, env.schemaVersion, `service ${this.def.name}`),
          };
    await this.answer(d, async () => {
      const reply = await handler.handle(current.data, {
        commandId: env.id,
        sagaId: env.sagaId,
        envelope: current,
        db: this.db,
        log: d.log,
        replyPath: replyPathOf(env.id),
        replyVersions: this.replyVersions,
      });
      return this.recordOf(env, reply);
    });
  }

  private recordOf(env: Envelope, reply: Reply): Processed {
    const at = reply.stored && reply.at ? new Date(reply.at) : undefined;
    const replyEnv = answerEnvelope(
      env,
      `${env.id}:reply`,
      `${this.def.name}.${reply.type}`,
      reply.data,
      at && !Number.isNaN(at.getTime()) ? at : undefined,
      reply.schemaVersion ?? (reply.stored ? 1 : (this.replyVersions[reply.type] ?? 1)),
    );
    const record = { _id: env.id, reply: replyEnv, at: new Date() };
    if (reply.stored) storedReplies.set(record, wasReadBack(reply) ? 'earlier' : 'fresh');
    return record;
  }
}
