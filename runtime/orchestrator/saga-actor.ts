import type { Config } from '../config.ts';
import { FaultPoint, faultPoint } from '../faults.ts';
import { NotFoundError, StaleRevisionError, TerminalError, TransientError } from '../errors.ts';
import type { Bus } from '../messaging/index.ts';
import type { Envelope } from '../wire/index.ts';
import type { Logger } from '../observability/index.ts';
import {
  type Cleared,
  type HistoryEntry,
  type HistoryWriter,
  isTerminal,
  type OutboxEntry,
  type SagaDoc,
  type SagaStatus,
  type SagaStore,
  type TimerEntry,
} from '../store/index.ts';
import { timerEventType } from '../timers/index.ts';
import type { SagaDefinition, SagaRegistry } from './definition.ts';
import { type MachineEvent, runStep, type StepResult, timerKey, toMachineEvent } from './step.ts';
import { armResends, isResendTimer, planResend, settleResends } from './step-policies.ts';

export interface ActorDeps {
  store: SagaStore;
  /** Batches the copies of history entries to `saga_history` across sagas. */
  history: HistoryWriter;
  bus: Bus;
  registry: SagaRegistry;
  config: Config;
  log: Logger;
  /** Observes each committed transition (metrics, live inspector). */
  onTransition?: (doc: SagaDoc, result: StepResult, event: Envelope) => void;
}

export const RuntimeEvent = {
  started: 'saga.started',
  timer: timerEventType,
  /** A cancel request; machines that support cancel handle it by compensating. */
  cancel: 'saga.cancel',
} as const;

const maxRevisionRetries = 8;

/**
 * How long published outbox entries may wait for the saga's next transition to remove them
 * (in the same write) before a write of their own does: a third of the sweep's grace period
 * (1 s by default), so the sweep never takes them for entries a crash left behind.
 */
const clearDelayMs = (config: Config) => Math.max(1, Math.floor(config.outboxGraceMs / 3));

/** Everything one commit changes, whatever caused it (a machine step, a resend, a failure). */
interface Change {
  status: SagaStatus;
  state: string | null;
  context: unknown;
  snapshot: unknown;
  reason: string | null;
  error?: { message: string; at: Date } | null;
  commands: Array<{ type: string; data: Record<string, unknown> }>;
  /** Extra outbox entries with their own msg ids (resends). */
  resends: OutboxEntry[];
  timers: Record<string, TimerEntry>;
  timersSet: TimerEntry[];
  timersCancelled: string[];
}

/**
 * One saga's actor: a cache of its document and the step loop of DESIGN.md
 * "Message flow": transition -> one atomic write (snapshot, rev+1, outbox, inbox,
 * timers, history) -> publish outbox with PubAck (history copied beside it) -> the caller
 * acks. Published entries are removed by the next transition's write, or by a write of
 * their own a moment later when no transition comes (at once when the saga ended).
 */
export class SagaActor {
  private doc: SagaDoc | null = null;
  /** Whether `doc` was read for the message being handled (not kept from an earlier one). */
  private fresh = false;
  /** Published outbox entries and copied history entries still on the document. */
  private readonly done: { msgIds: Set<string>; historyRevs: Set<number> } = {
    msgIds: new Set(),
    historyRevs: new Set(),
  };
  /** History entries on their way to `saga_history` (they may linger there, see HistoryWriter). */
  private readonly copying = new Map<number, Promise<void>>();
  private clearTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly id: string,
    private readonly deps: ActorDeps,
  ) {}

  /**
   * The saga has ended and everything its steps asked for is published, copied and cleared: no
   * message can change it any more, so the host drops it from memory at once rather than after
   * `actorIdleMs` (a late duplicate reloads the document). Finished sagas otherwise stayed live
   * long enough to be promoted to V8's old generation, each one garbage for the next full GC.
   */
  get finished(): boolean {
    return (
      this.doc !== null &&
      isTerminal(this.doc.status) &&
      this.clearTimer === null &&
      this.copying.size === 0 &&
      this.done.msgIds.size === 0 &&
      this.done.historyRevs.size === 0
    );
  }

  /**
   * `deliver` with the saga's document as the caller just read it (a due timer's poll): it
   * replaces no newer cached copy, and it is not "fresh" (ignoring the event needs a reload),
   * so at worst it costs the reload that `deliver` would have done anyway.
   */
  async deliverWith(env: Envelope, doc: SagaDoc, log: Logger): Promise<void> {
    if (!this.doc || this.doc.rev < doc.rev) this.doc = doc;
    return this.deliver(env, log);
  }

  async deliver(env: Envelope, log: Logger): Promise<void> {
    this.fresh = false;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.tryDeliver(env, log);
        return;
      } catch (err) {
        // Our cached document is stale (another replica moved the saga): reload and redo.
        this.doc = null;
        if (!(err instanceof StaleRevisionError) || attempt >= maxRevisionRetries) throw err;
      }
    }
  }

  private async load(): Promise<SagaDoc> {
    if (this.doc) return this.doc;
    const doc = await this.deps.store.load(this.id);
    if (!doc) throw new TransientError(`saga ${this.id} does not exist (yet)`);
    this.doc = doc;
    this.fresh = true;
    return doc;
  }

  /**
   * Before dropping a message as not applicable, make sure the decision was made on the
   * current document: another replica may have moved the saga since we cached it, and a
   * stale cache would make us ignore an event that now applies.
   */
  private confirmIgnore(doc: SagaDoc): void {
    if (!this.fresh) throw new StaleRevisionError(doc._id, doc.rev);
  }

  private async tryDeliver(env: Envelope, log: Logger): Promise<void> {
    const doc = await this.load();
    if (doc.inbox.includes(env.id) || isTerminal(doc.status)) {
      // Seen before (a redelivery, a resend) or too late to matter: only make sure
      // what that step asked for went out.
      await this.flushOutbox();
      return;
    }
    const def = this.definitionOf(doc);
    const now = new Date();
    const timers = { ...doc.timers };
    let event: MachineEvent | null;
    if (env.type === RuntimeEvent.timer) {
      const key = timerKey(String(env.data.timerId));
      const timer = timers[key];
      // Cancelled, already fired, or re-armed with another due time: stale.
      if (!timer || timer.dueAt.getTime() !== Number(env.data.dueAt)) return this.confirmIgnore(doc);
      delete timers[key];
      if (isResendTimer(timer.id)) {
        const plan = planResend(def.policies, timer, now);
        if (plan.kind === 'resend') {
          if (plan.next) timers[key] = plan.next;
          await this.commit(doc, env, log, now, { ...unchangedMachine(doc), resends: [plan.entry], timers });
          return;
        }
        if (plan.onExhausted === 'fail') {
          const reason = `step-exhausted: ${plan.command} unanswered after ${plan.attempts} resends`;
          await this.commit(doc, env, log, now, {
            ...unchangedMachine(doc),
            status: 'failed',
            reason,
            timers: {},
          });
          return;
        }
        if (!plan.onExhausted) {
          await this.commit(doc, env, log, now, { ...unchangedMachine(doc), timers });
          return;
        }
        event = {
          type: plan.onExhausted.event,
          data: { command: plan.command, commandId: plan.commandId, attempts: plan.attempts },
        };
      } else {
        event = timer.event;
      }
    } else if (env.type === RuntimeEvent.started) {
      if (doc.snapshot !== null) return this.confirmIgnore(doc);
      event = null;
    } else {
      if (doc.snapshot === null) throw new TransientError(`saga ${doc._id} has not started yet`);
      event = toMachineEvent(env);
    }

    let result: StepResult;
    try {
      result = runStep(def.machine, { snapshot: doc.snapshot, input: machineInput(doc), timers }, event, now);
    } catch (err) {
      // A machine that breaks the rules fails its saga, visibly, instead of looping.
      if (!(err instanceof TerminalError)) throw err;
      log.error({ err: err.message }, 'saga failed: machine error');
      await this.commit(doc, env, log, now, {
        ...unchangedMachine(doc),
        status: 'failed',
        reason: 'machine-error',
        error: { message: err.message, at: now },
        timers: {},
      });
      return;
    }
    const settled = settleResends(result.timers, { causationId: env.causationId }, result.state);
    const unchanged =
      result.commands.length === 0 &&
      result.timersSet.length === 0 &&
      result.timersCancelled.length === 0 &&
      settled.length === 0 &&
      env.type !== RuntimeEvent.timer &&
      result.state === doc.state &&
      JSON.stringify(result.context) === JSON.stringify(doc.context);
    if (unchanged && doc.snapshot !== null) {
      this.confirmIgnore(doc);
      log.debug({ state: doc.state }, 'event does not apply in this state; ignored');
      return;
    }
    await this.commit(doc, env, log, now, {
      ...result,
      resends: [],
      timersCancelled: [...result.timersCancelled, ...settled],
    });
  }

  /** A definition for the saga's own version; a missing one is recorded on the saga, then dead-lettered. */
  private definitionOf(doc: SagaDoc): SagaDefinition {
    try {
      return this.deps.registry.get(doc.type, doc.version);
    } catch (err) {
      if (err instanceof NotFoundError) {
        void this.deps.store.recordError(doc._id, err.message).catch(() => undefined);
      }
      throw err;
    }
  }

  private async commit(doc: SagaDoc, env: Envelope, log: Logger, now: Date, change: Change): Promise<void> {
    const def = this.deps.registry.get(doc.type, doc.version);
    const newRev = doc.rev + 1;
    const outboxAdd = change.commands.map((c, i): OutboxEntry => {
      const commandId = `${doc._id}:${newRev}:${i}`;
      return {
        msgId: commandId,
        subject: `cmd.${c.type}`,
        createdAt: now,
        envelope: {
          id: commandId,
          type: c.type,
          schemaVersion: 1,
          occurredAt: now.toISOString(),
          sagaId: doc._id,
          sagaType: doc.type,
          correlationId: doc.correlationId,
          causationId: env.id,
          traceparent: env.traceparent ?? doc.traceparent,
          data: c.data,
        },
      };
    });
    const timers = isTerminal(change.status) ? {} : change.timers;
    const armed = isTerminal(change.status)
      ? []
      : armResends(def.policies, outboxAdd, change.state, timers, now);
    const outbox = [...outboxAdd, ...change.resends];
    const inbox = [...doc.inbox, env.id].slice(-this.deps.config.inboxSize);
    const from = doc.state;
    const history: HistoryEntry = {
      sagaId: doc._id,
      rev: newRev,
      event: { id: env.id, type: env.type, data: env.data },
      from,
      to: change.state,
      status: change.status,
      commands: outbox.map((e) => ({ msgId: e.msgId, type: e.envelope.type, data: e.envelope.data })),
      timers: {
        set: [...change.timersSet, ...armed].map((t) => ({ id: t.id, dueAt: t.dueAt })),
        cancelled: change.timersCancelled,
      },
      at: now,
    };
    // The event being handled may be this saga's own outbox entry (its start event): it was
    // evidently published, so this write removes it too.
    if (doc.outbox[env.id]) this.done.msgIds.add(env.id);
    const cleared = this.takeDone();
    try {
      await this.deps.store.commit(doc._id, doc.rev, {
        status: change.status,
        state: change.state,
        context: change.context,
        snapshot: change.snapshot,
        outboxAdd: outbox,
        history,
        inbox,
        timers,
        cleared,
        reason: change.reason,
        ...(change.error !== undefined ? { error: change.error } : {}),
      });
    } catch (err) {
      this.putBack(cleared);
      throw err;
    }
    this.forget(doc, cleared);
    faultPoint(FaultPoint.afterCommit);
    Object.assign(doc, {
      status: change.status,
      state: change.state,
      context: change.context,
      snapshot: change.snapshot,
      rev: newRev,
      inbox,
      timers,
      reason: change.reason,
      updatedAt: now,
    });
    for (const e of outbox) doc.outbox[e.msgId] = e;
    doc.pendingHistory = { ...doc.pendingHistory, [String(newRev)]: history };
    log.debug(
      { from, to: change.state, status: change.status, rev: newRev, commands: outbox.length },
      'transition',
    );
    this.deps.onTransition?.(doc, { ...change, commands: change.commands, timers }, env);
    await this.flushOutbox();
    faultPoint(FaultPoint.afterPublish);
  }

  /**
   * Publishes every outbox entry not published yet with its original msg id and copies
   * history entries not copied yet (both idempotent, so in parallel). The entries are then
   * removed: by the next transition's write, or by `clear()` soon after (at once when the
   * saga has ended or when recovering).
   */
  async flushOutbox(reload = false): Promise<number> {
    if (reload) this.doc = null;
    const doc = await this.load();
    const entries = Object.values(doc.outbox).filter((e) => !this.done.msgIds.has(e.msgId));
    const histories = Object.values(doc.pendingHistory ?? {}).filter(
      (h) => !this.done.historyRevs.has(h.rev) && !this.copying.has(h.rev),
    );
    // Somebody waits for the copies of an ended or recovered saga: they go at once.
    const urgent = reload || isTerminal(doc.status);
    if (entries.length > 0 || histories.length > 0) {
      for (const h of histories) {
        const copy = this.deps.history.append(h).then(
          () => {
            this.copying.delete(h.rev);
            this.done.historyRevs.add(h.rev);
          },
          (err: unknown) => {
            // Still pending on the document: the next flush or the outbox sweep copies it later.
            this.copying.delete(h.rev);
            this.deps.log.warn({ err: String(err), sagaId: doc._id }, 'history copy failed');
          },
        );
        this.copying.set(h.rev, copy);
      }
      if (urgent) this.deps.history.flushNow();
      const copies = [...this.copying.values()];
      await Promise.all(entries.map((e) => this.deps.bus.publish(e.subject, e.envelope, e.msgId)));
      for (const e of entries) this.done.msgIds.add(e.msgId);
      // A saga that has ended, or one being recovered, gets no next transition to clear it.
      if (urgent) {
        await Promise.all(copies);
        await this.clear();
        return entries.length;
      }
      void Promise.all(copies).then(() => this.scheduleClear());
    } else if (urgent) {
      this.deps.history.flushNow();
      await Promise.all(this.copying.values());
      await this.clear();
    }
    return entries.length;
  }

  /** Removes what is published and copied; leaves the sweep's index when nothing is left. */
  async clear(): Promise<void> {
    if (this.clearTimer) clearTimeout(this.clearTimer);
    this.clearTimer = null;
    const doc = this.doc;
    if (!doc) return;
    const cleared = this.takeDone();
    if (cleared.msgIds.length === 0 && cleared.historyRevs.length === 0) return;
    const emptiesIt =
      Object.keys(doc.outbox).every((m) => cleared.msgIds.includes(m)) &&
      Object.values(doc.pendingHistory ?? {}).every((h) => cleared.historyRevs.includes(h.rev));
    try {
      await this.deps.store.clearOutbox(doc._id, cleared, emptiesIt ? doc.rev : undefined);
    } catch (err) {
      this.putBack(cleared);
      throw err;
    }
    this.forget(doc, cleared);
  }

  private scheduleClear(): void {
    if (this.clearTimer || (this.done.msgIds.size === 0 && this.done.historyRevs.size === 0)) return;
    this.clearTimer = setTimeout(() => {
      this.clearTimer = null;
      this.clear().catch((err: unknown) =>
        this.deps.log.warn({ err: String(err), sagaId: this.id }, 'outbox clear failed; the sweep retries'),
      );
    }, clearDelayMs(this.deps.config));
    this.clearTimer.unref();
  }

  private takeDone(): Cleared {
    const cleared = { msgIds: [...this.done.msgIds], historyRevs: [...this.done.historyRevs] };
    this.done.msgIds.clear();
    this.done.historyRevs.clear();
    return cleared;
  }

  private putBack(cleared: Cleared): void {
    for (const m of cleared.msgIds) this.done.msgIds.add(m);
    for (const r of cleared.historyRevs) this.done.historyRevs.add(r);
  }

  /** The cached document after `cleared` was removed from the stored one. */
  private forget(doc: SagaDoc, cleared: Cleared): void {
    for (const m of cleared.msgIds) delete doc.outbox[m];
    if (doc.pendingHistory) for (const r of cleared.historyRevs) delete doc.pendingHistory[String(r)];
  }
}

/** The machine part of a change that leaves the machine where it is. */
function unchangedMachine(doc: SagaDoc): Change {
  return {
    status: doc.status,
    state: doc.state,
    context: doc.context,
    snapshot: doc.snapshot,
    reason: doc.reason ?? null,
    commands: [],
    resends: [],
    timers: doc.timers,
    timersSet: [],
    timersCancelled: [],
  };
}

/** Machines get their saga id beside the caller's input, to key idempotent effects on. */
export function machineInput(doc: Pick<SagaDoc, '_id' | 'input'>): Record<string, unknown> {
  return { ...(doc.input as Record<string, unknown>), sagaId: doc._id };
}
