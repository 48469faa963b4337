import type { Config } from '../config.ts';
import { StaleRevisionError, TerminalError, TransientError } from '../errors.ts';
import type { Bus, Envelope } from '../messaging/index.ts';
import type { Logger } from '../observability/index.ts';
import { isTerminal, type OutboxEntry, type SagaDoc, type SagaStore } from '../store/index.ts';
import { timerEventType } from '../timers/index.ts';
import type { SagaRegistry } from './definition.ts';
import { type MachineEvent, runStep, type StepResult, timerKey, toMachineEvent } from './step.ts';

export interface ActorDeps {
  store: SagaStore;
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
 * One saga's actor: a cache of its document and the step loop of DESIGN.md
 * "Message flow": transition -> one atomic write (snapshot, rev+1, outbox, inbox,
 * timers) -> history -> publish outbox with PubAck -> clear outbox. The caller acks.
 */
export class SagaActor {
  private doc: SagaDoc | null = null;

  constructor(
    readonly id: string,
    private readonly deps: ActorDeps,
  ) {}

  async deliver(env: Envelope, log: Logger): Promise<void> {
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
    return doc;
  }

  private async tryDeliver(env: Envelope, log: Logger): Promise<void> {
    const doc = await this.load();
    if (doc.inbox.includes(env.id) || isTerminal(doc.status)) {
      // Seen before (a redelivery, a resend) or too late to matter: only make sure
      // what that step asked for went out.
      await this.flushOutbox();
      return;
    }
    const event = this.machineEventFor(doc, env);
    if (event === undefined) return;
    const def = this.deps.registry.get(doc.type, doc.version);
    const now = new Date();
    const timers = { ...doc.timers };
    if (env.type === RuntimeEvent.timer) delete timers[timerKey(String(env.data.timerId))];
    let result: StepResult;
    try {
      result = runStep(def.machine, { snapshot: doc.snapshot, input: machineInput(doc), timers }, event, now);
    } catch (err) {
      // A machine that breaks the rules fails its saga, visibly, instead of looping.
      if (err instanceof TerminalError) {
        await this.fail(doc, env, err, now);
        return;
      }
      throw err;
    }
    const unchanged =
      result.commands.length === 0 &&
      result.timersSet.length === 0 &&
      result.timersCancelled.length === 0 &&
      env.type !== RuntimeEvent.timer &&
      result.state === doc.state &&
      JSON.stringify(result.context) === JSON.stringify(doc.context);
    if (unchanged && doc.snapshot !== null) {
      log.debug({ state: doc.state }, 'event does not apply in this state; ignored');
      return;
    }
    const newRev = doc.rev + 1;
    const outboxAdd = result.commands.map((c, i): OutboxEntry => {
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
    const inbox = [...doc.inbox, env.id].slice(-this.deps.config.inboxSize);
    await this.deps.store.commit(doc._id, doc.rev, {
      status: result.status,
      state: result.state,
      context: result.context,
      snapshot: result.snapshot,
      outboxAdd,
      inbox,
      timers: result.timers,
      reason: result.reason,
    });
    const from = doc.state;
    Object.assign(doc, {
      status: result.status,
      state: result.state,
      context: result.context,
      snapshot: result.snapshot,
      rev: newRev,
      inbox,
      timers: result.timers,
      reason: result.reason,
      updatedAt: now,
    });
    for (const e of outboxAdd) doc.outbox[e.msgId] = e;
    await this.deps.store.appendHistory({
      sagaId: doc._id,
      rev: newRev,
      event: { id: env.id, type: env.type, data: env.data },
      from,
      to: result.state,
      status: result.status,
      commands: outboxAdd.map((e) => ({ msgId: e.msgId, type: e.envelope.type, data: e.envelope.data })),
      timers: {
        set: result.timersSet.map((t) => ({ id: t.id, dueAt: t.dueAt })),
        cancelled: result.timersCancelled,
      },
      at: now,
    });
    log.debug(
      { from, to: result.state, status: result.status, rev: newRev, commands: outboxAdd.length },
      'transition',
    );
    this.deps.onTransition?.(doc, result, env);
    await this.flushOutbox();
  }

  /** The machine event for a message, or undefined when the message no longer applies. */
  private machineEventFor(doc: SagaDoc, env: Envelope): MachineEvent | null | undefined {
    if (env.type === RuntimeEvent.started) return doc.snapshot === null ? null : undefined;
    if (doc.snapshot === null) throw new TransientError(`saga ${doc._id} has not started yet`);
    if (env.type === RuntimeEvent.timer) {
      const timer = doc.timers[timerKey(String(env.data.timerId))];
      // Cancelled, already fired, or re-armed with another due time: stale.
      if (!timer || timer.dueAt.getTime() !== Number(env.data.dueAt)) return undefined;
      return timer.event;
    }
    return toMachineEvent(env);
  }

  private async fail(doc: SagaDoc, env: Envelope, err: Error, now: Date): Promise<void> {
    const inbox = [...doc.inbox, env.id].slice(-this.deps.config.inboxSize);
    await this.deps.store.commit(doc._id, doc.rev, {
      status: 'failed',
      state: doc.state,
      context: doc.context,
      snapshot: doc.snapshot,
      outboxAdd: [],
      inbox,
      timers: {},
      reason: 'machine-error',
      error: { message: err.message, at: now },
    });
    this.deps.log.error({ sagaId: doc._id, err: err.message }, 'saga failed: machine error');
    this.doc = null;
  }

  /** Publishes every pending outbox entry with its original msg id, then clears them. */
  async flushOutbox(reload = false): Promise<number> {
    if (reload) this.doc = null;
    const doc = await this.load();
    const entries = Object.values(doc.outbox);
    if (entries.length === 0) return 0;
    await Promise.all(entries.map((e) => this.deps.bus.publish(e.subject, e.envelope, e.msgId)));
    const ids = entries.map((e) => e.msgId);
    await this.deps.store.clearOutbox(doc._id, ids);
    for (const id of ids) delete doc.outbox[id];
    return ids.length;
  }
}

/** Machines get their saga id beside the caller's input, to key idempotent effects on. */
export function machineInput(doc: Pick<SagaDoc, '_id' | 'input'>): Record<string, unknown> {
  return { ...(doc.input as Record<string, unknown>), sagaId: doc._id };
}
