import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import type { SagaDefinition } from '../orchestrator/definition.ts';
import { signalEventType, signalRefusal } from '../orchestrator/signals.ts';
import { type EmittedCommand, type MachineEvent, runStep } from '../orchestrator/step.ts';
import type { SagaStatus, TimerEntry } from '../store/index.ts';

/** Answers a command with an event, or with nothing (a participant that never replies). */
export type Responder = (command: EmittedCommand) => MachineEvent | MachineEvent[] | undefined;

/**
 * Runs a saga definition without infrastructure, through the same step function as the
 * runtime (including the JSON round trip of the persisted snapshot every step), with a
 * controllable clock for durable timers and scripted participants. A step that changes the
 * context in place instead of through `assign` throws (a TypeError: the context is frozen).
 */
export class SagaTestKit<TInput> {
  private snapshot: unknown = null;
  private timers: Record<string, TimerEntry> = {};
  private nowMs: number;
  /** Every command the saga emitted, in order. */
  readonly commands: EmittedCommand[] = [];
  /** Commands not yet answered by a responder. */
  readonly pending: EmittedCommand[] = [];
  status: SagaStatus = 'running';
  state: string | null = null;
  context: unknown = null;
  reason: string | null = null;
  private readonly responders: Record<string, Responder> = {};

  constructor(
    private readonly def: SagaDefinition<TInput>,
    opts: { now?: Date; sagaId?: string } = {},
  ) {
    this.nowMs = (opts.now ?? new Date('2026-01-01T00:00:00Z')).getTime();
    this.sagaId = opts.sagaId ?? 'saga-under-test';
  }

  readonly sagaId: string;

  /** Scripts a participant: every command of this type is answered by `responder`. */
  on(commandType: string, responder: Responder): this {
    this.responders[commandType] = responder;
    return this;
  }

  start(input: TInput): this {
    const parsed = this.def.input.parse(input);
    this.step(null, { ...(parsed as Record<string, unknown>), sagaId: this.sagaId });
    return this;
  }

  /** Delivers an event as if a participant had replied. */
  send(event: MachineEvent): this {
    this.step(event);
    return this;
  }

  /**
   * Sends the signal `name` as the API would (`POST /v1/sagas/{id}/signals/{name}`): the body is
   * parsed by the signal's schema (a ValidationError naming the field), a signal the definition
   * does not declare is a NotFoundError, and one the current state does not accept a ConflictError
   * naming the states that do; then the machine gets `{ type: 'saga.signal.<name>', data, by }`.
   */
  signal(name: string, data: unknown = {}, by = 'test'): this {
    const schema = this.def.signals?.[name];
    if (!schema) {
      throw new NotFoundError(
        `saga type ${this.def.type} has no signal "${name}"; its signals: ${Object.keys(this.def.signals ?? {}).join(', ') || '(none)'}`,
      );
    }
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({
        field: i.path.map(String).join('.') || 'body',
        message: i.message,
      }));
      throw new ValidationError(`invalid signal ${name}: ${issues.map((i) => i.field).join(', ')}`, issues);
    }
    const event = { type: signalEventType(name), data: parsed.data, by };
    const doc = { _id: this.sagaId, status: this.status, state: this.state, snapshot: this.snapshot };
    const refusal = signalRefusal(doc, this.def, event);
    if (refusal) throw new ConflictError(refusal);
    this.step(event);
    return this;
  }

  /** Moves the clock and fires every timer that comes due, in due order. */
  advance(ms: number): this {
    const until = this.nowMs + ms;
    for (;;) {
      const next = Object.entries(this.timers)
        .filter(([, t]) => t.dueAt.getTime() <= until)
        .sort(([, a], [, b]) => a.dueAt.getTime() - b.dueAt.getTime())[0];
      if (!next) break;
      const [key, timer] = next;
      this.nowMs = Math.max(this.nowMs, timer.dueAt.getTime());
      delete this.timers[key];
      this.step(timer.event);
    }
    this.nowMs = until;
    return this;
  }

  get now(): Date {
    return new Date(this.nowMs);
  }

  get armedTimers(): TimerEntry[] {
    return Object.values(this.timers);
  }

  commandTypes(): string[] {
    return this.commands.map((c) => c.type);
  }

  private step(event: MachineEvent | null, input?: unknown): void {
    const result = runStep(
      this.def.machine,
      { snapshot: this.snapshot, input, timers: this.timers },
      event,
      this.now,
    );
    // The runtime stores the snapshot as a document: prove it survives that round trip. Its context
    // is frozen: the runtime takes a field whose reference did not change for one the step left
    // alone, so a machine that changes its context in place (not through `assign`) fails here.
    this.snapshot = JSON.parse(JSON.stringify(result.snapshot));
    deepFreeze((this.snapshot as { context?: unknown } | null)?.context);
    this.timers = result.timers;
    this.status = result.status;
    this.state = result.state;
    this.context = result.context;
    this.reason = result.reason;
    for (const c of result.commands) {
      this.commands.push(c);
      const responder = this.responders[c.type];
      if (!responder) {
        this.pending.push(c);
        continue;
      }
      const replies = responder(c);
      for (const reply of Array.isArray(replies) ? replies : replies ? [replies] : []) this.step(reply);
    }
  }
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}
