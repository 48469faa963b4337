import type { Collection, Db } from 'mongodb';
import type { Config } from '../config.ts';
import { ValidationError } from '../errors.ts';
import type { Bus, Delivery, Topology } from '../messaging/index.ts';
import type { DurableSpec } from '../messaging/provision.ts';
import {
  checkData,
  type ContractLookup,
  type Envelope,
  isContract,
  type MessageContract,
  upcastData,
} from '../wire/index.ts';
import type { Logger } from '../observability/index.ts';
import { answerEnvelope, AnswerHost } from './answer-inbox.ts';
import type { InboxRetention } from './inbox-purge.ts';
import {
  checkSchedules,
  type ScheduleContext,
  type ScheduleDefinition,
  ScheduleRunner,
  type StartSagaOnce,
} from './schedule.ts';

/** What a reactor answers to an event: the event name within its source, its data, and what to keep. */
export interface Reaction {
  /** e.g. `approved` -> published as `<source>.approved`. */
  type: string;
  data: Record<string, unknown>;
  /** Extra fields stored beside the reaction in the inbox (for queries and audits). */
  record?: Record<string, unknown>;
  /**
   * Called once this reaction is recorded, by the host that recorded it: not when the
   * event was reacted to before (another run's reaction won). For what must count each
   * reaction once, e.g. metrics of published verdicts.
   */
  onRecorded?: () => void;
}

/**
 * Something to keep about an event and nothing to publish (a notifier, a ledger): the fields are
 * stored beside the event's id in the reactor's inbox, by the same insert that records it, so the
 * inbox is the reactor's collection of what it did, one document per event, in one write.
 */
export interface Kept {
  type?: undefined;
  /** Stored beside the event's id in the inbox. */
  record: Record<string, unknown>;
  /** As Reaction.onRecorded: once, by the host that recorded it. */
  onRecorded?: () => void;
}

/** What a reactor's hooks get: its database, a logger, the node's settings. */
export interface ReactorSetupContext {
  db: Db;
  log: Logger;
  config: Config;
}

export interface ReactionContext extends ReactorSetupContext {
  envelope: Envelope;
  /** 1 on first delivery. */
  attempt: number;
  /**
   * Starts a saga once per idempotency key (the API's `Idempotency-Key`, with the same
   * saga id): a redelivered event, a second run or another replica gets the saga the
   * first call started (`created: false`). The saga's correlation id defaults to the event's.
   */
  startSaga: StartSagaOnce;
}

/**
 * An event reactor: a participant that no saga commands, which reacts to events it observes
 * (an agent, a notifier, a policy). It has its own durable consumer (`name`) on the event types
 * in `on`, records each reaction under the event's id (its inbox), publishes it as
 * `evt.<source>.<type>` in the same saga, may start sagas idempotently, and may run work on a
 * schedule. Run it as `jetsaga <name> --app <module>` (or with `all` and `dev`).
 */
export interface ReactorDefinition {
  /** Role and durable consumer name: lowercase letters, digits and dashes. */
  name: string;
  /** One line for `jetsaga help`. */
  description?: string;
  /** Published reactions are `evt.<source>.<reaction type>`. */
  source: string;
  /** Event types it reacts to, e.g. `payment.authorized`. */
  on: string | readonly string[];
  /**
   * The reactions it publishes, by type within its source (`approved` for `fraud.approved`): each
   * one's contract. The host stamps each reaction with its version (an undeclared one with 1).
   */
  emits?: Readonly<Record<string, MessageContract>>;
  /** Collection keeping one reaction per event id (unique `_id`); `<name>_reactions` by default. */
  inbox?: string;
  /**
   * The records are the reactor's own data (a ledger, the notifications it sent), not only its
   * inbox: never purged. Otherwise they go after JETSAGA_INBOX_RETENTION_MS once their saga ended.
   */
  keepRecords?: boolean;
  /** Suffix of a reaction's id: `<event id>:<suffix>`, the same on every redelivery; `reaction` by default. */
  idSuffix?: string;
  /** Runs once per process before the first event: collections, indexes, models, clients. */
  setup?: (ctx: ReactorSetupContext) => Promise<void>;
  /**
   * May run more than once for one event (a duplicate of it, a redelivery after a crash,
   * two replicas), also after later events: what it writes must be keyed so that a
   * second run adds nothing. Only the reaction recorded first is published. null: the
   * event needs no answer (it is still recorded, so a redelivery does not run this again);
   * a `Kept` (a record without a type) keeps its fields in that record and publishes nothing.
   */
  react(event: Envelope, ctx: ReactionContext): Promise<Reaction | Kept | null>;
  /**
   * Events of its types it has nothing to do with, told from the envelope alone (pure, the same on
   * every delivery): acked without `react` and without a record, so they cost no write. For a
   * subject coarser than the reactor's interest, e.g. `saga.ended` of one saga type only.
   */
  ignore?: (event: Envelope) => boolean;
  /** Work on a schedule: each run happens on one replica only (see ScheduleDefinition). */
  schedules?: readonly ScheduleDefinition[];
  /** Runs once when the role stops, after the consumer and the schedules. */
  teardown?: () => Promise<void>;
}

const reactorName = /^[a-z][a-z0-9-]{0,62}$/;
const eventType = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/;

/** Checks a reactor's names at definition time, so a typo fails at import rather than at the first event. */
export function defineReactor(def: ReactorDefinition): ReactorDefinition {
  const fail = (field: string, message: string) => {
    throw new ValidationError(`reactor ${def.name}: ${field} ${message}`, [{ field, message }]);
  };
  if (!reactorName.test(def.name))
    fail('name', 'must be lowercase letters, digits and dashes, e.g. notifier');
  if (!/^[a-z][a-z0-9-]*$/.test(def.source)) fail('source', 'must be one lowercase word, e.g. fraud');
  const on = reactorEventTypes(def);
  if (on.length === 0) fail('on', 'must name at least one event type, e.g. payment.authorized');
  for (const type of on) if (!eventType.test(type)) fail('on', `has "${type}"; use <source>.<event>`);
  for (const [name, c] of Object.entries(def.emits ?? {})) {
    if (!/^[a-z][a-z0-9-]*$/.test(name))
      fail(`emits.${name}`, 'must be the reaction type within its source, e.g. approved');
    if (!isContract(c)) fail(`emits.${name}`, 'must be a contract (contract(schema, { version }))');
  }
  checkSchedules(def.schedules, fail);
  return def;
}

export const reactorEventTypes = (def: ReactorDefinition): string[] =>
  typeof def.on === 'string' ? [def.on] : [...def.on];

/** The durable a reactor reads its events through: its name, on `evt.<type>` of each type in `on`. */
export function reactorDurable(def: ReactorDefinition, topo: Topology): DurableSpec {
  return {
    stream: topo.streams.evt,
    durable: def.name,
    filter: reactorEventTypes(def).map((t) => topo.evtSubject(t)),
  };
}

export interface ReactionRecord {
  _id: string;
  /** null: the reactor had nothing to say to this event. */
  reaction: Envelope | null;
  sagaId: string;
  at: Date;
  [extra: string]: unknown;
}

export interface ReactorHostDeps {
  bus: Bus;
  db: Db;
  log: Logger;
  config: Config;
  startSaga: StartSagaOnce;
  /**
   * The app's event contracts by type (participants' events, reactors' emits, runtime events): an
   * event it reacts to that has one is upcast to its current version and validated before `react`.
   */
  contracts?: ContractLookup;
  /** Purges records (JETSAGA_INBOX_RETENTION_MS) unless the reactor keeps them; absent: kept for ever. */
  retention?: InboxRetention;
}

/**
 * Runs a reactor: a durable consumer on its event types with an inbox keyed by the event
 * id. The reaction recorded first is THE reaction to an event: every delivery publishes
 * that one (the first publish may be what was lost), under the same message id, so the
 * stream's dedup window and the saga's inbox both see one reaction.
 *
 * No read on the hot path: a first delivery reacts, then inserts the record; when the
 * insert hits the unique key (the event was reacted to before: a copy of it under another
 * message id, two replicas racing), the recorded reaction is read and published instead
 * of the one just computed. A redelivery (`attempt > 1`, after a crash or a lost ack,
 * most often after the record was written) reads the record first and replays it when
 * there is one: a reaction can be expensive (the fraud agent may ask an LLM), one read is
 * not. Exactly once holds either way because `react` adds nothing when it runs again
 * (see `ReactorDefinition.react`) and only the first record is ever published.
 *
 * Records of events reacted to at the same time are inserted together, one `insertMany`
 * per batch (InsertBatcher), each with its own answer from the unique key: inserted (this
 * reaction is published), duplicate (the stored one is), or failed (retried).
 */
export class EventReactorHost extends AnswerHost<ReactionRecord> {
  readonly records: Collection<ReactionRecord>;
  private readonly on: ReadonlySet<string>;
  private readonly schedules: ScheduleRunner<ScheduleContext>;
  private readonly setupCtx: ReactorSetupContext;
  /** The contracts of the event types in `on` that have one. */
  private readonly accepts = new Map<string, MessageContract>();

  constructor(
    private readonly def: ReactorDefinition,
    private readonly deps: ReactorHostDeps,
  ) {
    const { bus, db, log, config } = deps;
    const records = db.collection<ReactionRecord>(def.inbox ?? `${def.name}_reactions`);
    super({
      role: 'reactor',
      answeredAs: 'reacted',
      name: def.name,
      durable: reactorDurable(def, bus.topo),
      records,
      answerOf: (r) => r.reaction,
      bus,
      log,
      retention: def.keepRecords ? undefined : deps.retention,
      sagaIdPath: 'sagaId',
    });
    this.records = records;
    this.setupCtx = { db, log, config };
    this.on = new Set(reactorEventTypes(def));
    for (const type of this.on) {
      const c = deps.contracts?.get(type);
      if (c) this.accepts.set(type, c);
    }
    const scheduleLog = log.child({ reactor: def.name });
    this.schedules = new ScheduleRunner(def.name, def.schedules ?? [], {
      db,
      log: scheduleLog,
      context: (runLog, dueAt) => ({ db, log: runLog, config, startSaga: deps.startSaga, dueAt }),
    });
  }

  /** Events whose reaction this host computed, recorded first and published. */
  get reacted(): number {
    return this.answered;
  }

  override async start(): Promise<void> {
    await this.def.setup?.(this.setupCtx);
    await super.start();
    await this.schedules.start();
  }

  /**
   * The event as `react` gets it: upcast to its contract's current version (a newer one throws a
   * ContractError: dead-lettered) and validated (a ValidationError naming the field), or as it
   * came when its type has no contract.
   */
  private accept(env: Envelope): Envelope {
    const c = this.accepts.get(env.type);
    if (!c) return env;
    if (env.schemaVersion === c.version) {
      checkData(env.type, c, env.data);
      return env;
    }
    const data = upcastData(env.type, c, env.data, env.schemaVersion, `reactor ${this.def.name}`);
    checkData(env.type, c, data);
    return { ...env, schemaVersion: c.version, data };
  }

  protected override async onDelivery(d: Delivery): Promise<void> {
    // The filter should make this impossible; a stray type is not ours to answer.
    if (!this.on.has(d.envelope.type)) return;
    if (this.def.ignore?.(d.envelope)) return;
    const env = this.accept(d.envelope);
    let reaction: Reaction | Kept | null = null;
    await this.answer(
      d,
      async () => {
        reaction = await this.def.react(env, {
          ...this.setupCtx,
          envelope: env,
          attempt: d.attempt,
          log: d.log,
          startSaga: (type, input, opts) =>
            this.deps.startSaga(type, input, { correlationId: env.correlationId, ...opts }),
        });
        const reactionEnv = reaction?.type
          ? answerEnvelope(
              env,
              `${env.id}:${this.def.idSuffix ?? 'reaction'}`,
              `${this.def.source}.${reaction.type}`,
              reaction.data,
              undefined,
              this.def.emits?.[reaction.type]?.version ?? 1,
            )
          : null;
        return {
          ...reaction?.record,
          _id: env.id,
          reaction: reactionEnv,
          sagaId: env.sagaId,
          at: new Date(),
        };
      },
      () => (reaction as Reaction | Kept | null)?.onRecorded?.(),
    );
  }

  /** The schedules stop first, then the consumer; `teardown` runs last. */
  override async stop(): Promise<void> {
    await this.schedules.stop();
    await super.stop();
  }

  protected override async teardown(): Promise<void> {
    await this.def.teardown?.();
  }
}
