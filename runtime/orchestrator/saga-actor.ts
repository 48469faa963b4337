import { FaultPoint, faultPoint } from '../faults.ts';
import { ConflictError, NotFoundError, StaleRevisionError } from '../errors.ts';
import { checkData, type ContractLookup, type Envelope } from '../wire/index.ts';
import type { Logger } from '../observability/index.ts';
import { inSpan, type Span, SpanKind, traceparentOf } from '../observability/tracing.ts';
import {
  type HistoryMoved,
  historyOnDoc,
  isTerminal,
  type SagaDoc,
  type Transition,
} from '../store/index.ts';
import { applyCommitted, transitionOf } from './commit.ts';
import { alreadyHandled, type Change, decide } from './decide.ts';
import type { SagaDefinition, SagaRegistry } from './definition.ts';
import { OutboxFlush, type OutboxDeps, type OutboxOwner } from './outbox-flush.ts';
import type { StepResult } from './step.ts';
import { whyMissing } from './retention.ts';
import { checkSignalData, signalNameOf } from './signals.ts';

// runtime/permissions.ts imports it from here.
export { RuntimeEvent } from './runtime-events.ts';

export interface ActorDeps extends OutboxDeps {
  registry: SagaRegistry;
  /** Observes each committed transition (metrics, live inspector). */
  onTransition?: (doc: SagaDoc, result: StepResult, event: Envelope) => void;
  /**
   * Event contracts by type: an event with one is validated (its data, at the current version:
   * the orchestrator upcast it) before its machine sees it; invalid, it is dead-lettered
   * (ValidationError naming the field).
   */
  contracts?: ContractLookup;
}

const maxRevisionRetries = 8;

/**
 * One saga's actor: a cache of its document and the step loop of README "How a step flows".
 * The host's mailbox hands it one message at a time; for each it decides what the event does
 * (decide.ts), writes that in one atomic update (commit.ts: snapshot, rev+1, outbox, inbox,
 * timers, history entry), then publishes the outbox with PubAck (outbox-flush.ts); the caller
 * acks. Published entries are removed by the next transition's write, or by a write of their own
 * a moment later when no transition comes.
 */
export class SagaActor implements OutboxOwner {
  private doc: SagaDoc | null = null;
  /** Whether `doc` was read for the message being handled (not kept from an earlier one). */
  private fresh = false;
  private readonly outbox: OutboxFlush;

  constructor(
    readonly id: string,
    private readonly deps: ActorDeps,
  ) {
    this.outbox = new OutboxFlush(this, deps);
  }

  /** The saga's document as this actor last read or wrote it; null when it must be read again. */
  get cached(): SagaDoc | null {
    return this.doc;
  }

  /**
   * The saga has ended and everything its steps asked for is published and cleared: no
   * message can change it any more, so the host drops it from memory at once rather than after
   * `actorIdleMs` (a late duplicate reloads the document). Kept until idle, finished sagas would
   * live long enough to be promoted to V8's old generation, each one garbage for a full GC.
   */
  get finished(): boolean {
    return this.doc !== null && isTerminal(this.doc.status) && this.outbox.settled;
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

  /**
   * Republishes and clears what a crash may have left in the saga's outbox (the outbox sweep),
   * from the document as stored now. Resolves with the number of entries published.
   */
  async recoverOutbox(): Promise<number> {
    this.doc = null;
    return this.outbox.flush(await this.load(), true);
  }

  /** The saga's document; missing, the message `env` is dead-lettered when its saga was purged. */
  private async load(env?: Envelope): Promise<SagaDoc> {
    if (this.doc) return this.doc;
    const doc = await this.deps.store.load(this.id);
    if (!doc) throw await whyMissing(this.deps.store, this.deps.config, this.id, env);
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

  /** One step, in its span (tracing on): the child of the event's trace context, or the saga's. */
  private async tryDeliver(env: Envelope, log: Logger): Promise<void> {
    const doc = await this.load(env);
    return inSpan(
      `step ${doc.type}`,
      env.traceparent ?? doc.traceparent,
      SpanKind.CONSUMER,
      (span) => this.step(doc, env, log, span),
      () => ({
        'saga.id': doc._id,
        'saga.type': doc.type,
        'saga.version': doc.version,
        'saga.state.from': doc.state ?? '',
        'saga.event.type': env.type,
        'saga.event.id': env.id,
        'saga.rev': doc.rev,
      }),
    );
  }

  private async step(doc: SagaDoc, env: Envelope, log: Logger, span: Span | undefined): Promise<void> {
    if (alreadyHandled(doc, env)) {
      if (isTerminal(doc.status) && signalNameOf(env.type) !== null && !doc.inbox.includes(env.id)) {
        // The saga ended between the API's check and this signal: reported, not dropped.
        throw new ConflictError(
          `saga ${doc._id} ended with status ${doc.status} before signal ${signalNameOf(env.type)} arrived`,
        );
      }
      if (span?.isRecording()) span.setAttribute('saga.step.outcome', 'already-handled');
      await this.outbox.flush(doc);
      return;
    }
    const def = this.definitionOf(doc);
    const contract = this.deps.contracts?.get(env.type);
    if (contract) checkData(env.type, contract, env.data);
    if (signalNameOf(env.type) !== null) checkSignalData(def, doc, env);
    const now = new Date();
    const decision = decide(doc, def, env, now);
    if ('skip' in decision) {
      if (span?.isRecording()) span.setAttribute('saga.step.outcome', decision.skip);
      this.confirmIgnore(doc);
      if (decision.skip === 'not-applicable')
        log.debug({ state: doc.state }, 'event does not apply in this state; ignored');
      if (decision.skip === 'nothing-to-resume')
        log.info({ state: doc.state }, 'resume: no stalled command left to resend; ignored');
      if (decision.skip === 'signal-refused') {
        log.warn({ state: doc.state, reason: decision.detail }, 'signal refused: dead-lettered');
        throw new ConflictError(decision.detail ?? `signal refused in state ${doc.state}`);
      }
      return;
    }
    if (decision.error) log.error({ err: decision.error.message }, 'saga failed: machine error');
    await this.commit(doc, def, env, log, now, decision, span);
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

  /** Writes the change (with what the outbox has done since the last write), then flushes the outbox. */
  private async commit(
    doc: SagaDoc,
    def: SagaDefinition,
    env: Envelope,
    log: Logger,
    now: Date,
    change: Change,
    span?: Span,
  ): Promise<void> {
    // The event being handled may be this saga's own outbox entry (its start event): it was
    // evidently published, so this write removes it too.
    if (doc.outbox[env.id]) this.outbox.published(env.id);
    const moved = await this.moveHistory(doc);
    const cleared = this.outbox.take();
    let t: Transition;
    let rev: number;
    try {
      // Traced, the step's commands carry the step span's context (same trace as the saga's).
      const cause = span ? { ...env, traceparent: traceparentOf(span) } : env;
      t = transitionOf(doc, cause, change, cleared, def.policies, this.deps.config, now, moved);
      rev = await this.deps.store.commit(doc._id, doc.rev, t);
    } catch (err) {
      // Still on the stored document: the next write, or a clear, removes them.
      this.outbox.putBack(cleared);
      throw err;
    }
    this.outbox.forget(doc, cleared);
    faultPoint(FaultPoint.afterCommit);
    applyCommitted(doc, t, rev, now);
    if (span?.isRecording())
      span.setAttributes({
        'saga.step.outcome': 'committed',
        'saga.state.to': t.state ?? '',
        'saga.status': t.status,
        'saga.rev': rev,
        'saga.commands': t.history.commands.length,
      });
    log.debug(
      { from: t.history.from, to: t.state, status: t.status, rev, commands: t.history.commands.length },
      'transition',
    );
    this.deps.onTransition?.(doc, { ...change, timers: t.timers }, env);
    await this.outbox.flush(doc);
    faultPoint(FaultPoint.afterPublish);
  }

  /**
   * A saga whose document holds `historyOnDoc` history entries has its older half copied to
   * `saga_history` first, for this transition's write to remove: its document stays bounded
   * however long it runs. Sagas of a dozen steps never get here.
   */
  private async moveHistory(doc: SagaDoc): Promise<HistoryMoved | undefined> {
    const base = doc.historyBase ?? 0;
    if (doc.rev - base < historyOnDoc) return undefined;
    return this.deps.store.moveHistory(doc._id, base, doc.rev - historyOnDoc / 2);
  }
}
