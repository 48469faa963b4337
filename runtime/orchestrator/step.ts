import {
  type AnyActorScope,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  createActor,
  type ExecutableActionObject,
} from 'xstate';
import { TerminalError } from '../errors.ts';
import type { Envelope } from '../wire/index.ts';
import type { SagaStatus, TimerEntry } from '../store/index.ts';

/** A command the machine asked for: `emit({ type: 'inventory.reserve', data })`. */
export interface EmittedCommand {
  type: string;
  data: Record<string, unknown>;
}

export interface StepResult {
  snapshot: unknown;
  state: string | null;
  context: unknown;
  status: SagaStatus;
  reason: string | null;
  /**
   * The machine's output once it is done (`output` of the machine or of its final state), when
   * that is a plain object: what `saga.ended` publishes as its `output`.
   */
  output?: Record<string, unknown>;
  commands: EmittedCommand[];
  timers: Record<string, TimerEntry>;
  timersSet: TimerEntry[];
  timersCancelled: string[];
}

export type MachineEvent = { type: string; [k: string]: unknown };

/**
 * Runs one transition the way XState's pure API does (`initialTransition` / `transition`,
 * see `pureStep`) and interprets the actions it returns,
 * without executing any of them: emits become commands, delayed raises become durable
 * timers, cancels remove them. Anything else would be I/O a saga must not do.
 * The same code runs the first step, every later step, and after a restore.
 */
export function runStep(
  machine: AnyStateMachine,
  from: { snapshot: unknown; input: unknown; timers: Record<string, TimerEntry> },
  event: MachineEvent | null,
  now: Date,
): StepResult {
  const [next, actions] = pureStep(machine, from.snapshot, from.input, event);
  if (Object.keys(next.children ?? {}).length > 0) {
    throw new TerminalError(
      'saga machines must not invoke or spawn actors: ask for work with emit() instead',
    );
  }
  const timers = { ...from.timers };
  const commands: EmittedCommand[] = [];
  const timersSet: TimerEntry[] = [];
  const timersCancelled: string[] = [];
  for (const action of actions) {
    const params = (action.params ?? {}) as Record<string, unknown>;
    switch (action.type) {
      case 'xstate.emit': {
        const emitted = params.event as { type?: unknown; data?: unknown };
        if (typeof emitted?.type !== 'string' || !emitted.type.includes('.')) {
          throw new TerminalError(
            `emitted event ${JSON.stringify(emitted?.type)} is not a command: use "<service>.<command>"`,
          );
        }
        const data = emitted.data ?? {};
        if (typeof data !== 'object' || data === null || Array.isArray(data)) {
          throw new TerminalError(`command ${emitted.type}: data must be an object`);
        }
        commands.push({ type: emitted.type, data: data as Record<string, unknown> });
        break;
      }
      case 'xstate.raise': {
        if (typeof params.delay !== 'number')
          throw new TerminalError('a raise without delay reached the runtime');
        const id = String(params.id ?? `raise:${(params.event as MachineEvent).type}`);
        const timer: TimerEntry = {
          id,
          event: params.event as MachineEvent,
          dueAt: new Date(now.getTime() + params.delay),
        };
        timers[timerKey(id)] = timer;
        timersSet.push(timer);
        break;
      }
      case 'xstate.cancel': {
        const key = timerKey(String(params.sendId));
        if (timers[key]) {
          delete timers[key];
          timersCancelled.push(String(params.sendId));
        }
        break;
      }
      case 'xstate.log':
        break;
      default:
        throw new TerminalError(
          `saga machine ran action "${action.type}": sagas must be pure; emit a command and let a service do the work`,
        );
    }
  }
  const output =
    next.status === 'done' ? (next.output as { status?: string; reason?: string } | undefined) : undefined;
  // The context is the persisted snapshot's own (the same object): the store keeps it once, on the
  // document, and puts it back into the snapshot when it reads the saga (SagaStore).
  const snapshot = machine.getPersistedSnapshot(next) as { context?: unknown };
  return {
    snapshot,
    state: stateName(next.value),
    context: snapshot.context,
    status: statusOf(next, output),
    reason: output?.reason ?? (next.context as { reason?: string } | undefined)?.reason ?? null,
    ...(isPlainObject(output) ? { output } : {}),
    commands,
    timers,
    timersSet,
    timersCancelled,
  };
}

/**
 * What XState's `transition()` / `initialTransition()` hand the machine: an actor scope whose
 * effects are inert (`defer`, `emit`, `stopChild` and `logger` do nothing) and whose
 * `actionExecutor` only collects the actions. Those functions build it anew on every call
 * with `createActor(machine)`, whose constructor computes an initial snapshot without input:
 * a context factory that reads its input throws there (caught by XState, stack and all), which
 * would be most of the cost of a step. Here it is built once per machine, and `self` is an
 * actor of the machine restored from an empty snapshot, so no context factory runs for it.
 */
interface InertScope {
  scope: AnyActorScope;
  /** The actions of the call in progress; `null` when the scope is idle. */
  sink: ExecutableActionObject[] | null;
}

const inertScopes = new WeakMap<AnyStateMachine, InertScope>();

/** The persisted snapshot `self` is restored from: no children, no context, no input. */
const blankSnapshot = {
  status: 'active' as const,
  output: undefined,
  error: undefined,
  value: {},
  context: {},
  children: {},
  historyValue: {},
};

function createInertScope(machine: AnyStateMachine): InertScope {
  const self = createActor(machine, { snapshot: blankSnapshot });
  const inert: InertScope = {
    sink: null,
    scope: {
      self,
      id: '',
      sessionId: '',
      logger: () => {},
      defer: () => {},
      emit: () => {},
      stopChild: () => {},
      system: self.system,
      actionExecutor: (action) => {
        if (!inert.sink) throw new Error('an inert actor scope ran an action outside a step');
        inert.sink.push(action);
      },
    },
  };
  return inert;
}

/**
 * `initialTransition(machine, input)` (then `transition(machine, next, event)` if there is an
 * event) for a first step, `transition(machine, machine.resolveState(snapshot), event)` after:
 * the same snapshot and the same actions, without a throwaway actor per call. Exported for
 * the tests that hold it to XState's functions; not part of the package's API.
 */
export function pureStep(
  machine: AnyStateMachine,
  snapshot: unknown,
  input: unknown,
  event: MachineEvent | null,
): [AnyMachineSnapshot, ExecutableActionObject[]] {
  let inert = inertScopes.get(machine);
  if (!inert) {
    inert = createInertScope(machine);
    inertScopes.set(machine, inert);
  } else if (inert.sink) {
    // Re-entered from inside a step of the same machine: that scope is busy, use a fresh one.
    inert = createInertScope(machine);
  }
  const actions: ExecutableActionObject[] = [];
  inert.sink = actions;
  try {
    const { scope } = inert;
    let next: AnyMachineSnapshot;
    if (snapshot === null || snapshot === undefined) {
      next = machine.getInitialSnapshot(scope, input);
      if (event) next = machine.transition(next, event, scope);
    } else {
      if (!event) throw new TerminalError('an event is required after the first step');
      const restored = machine.resolveState(snapshot as Parameters<AnyStateMachine['resolveState']>[0]);
      next = machine.transition(restored, event, scope);
    }
    return [next, actions];
  } finally {
    inert.sink = null;
    // XState gives each call a fresh actor system. Only a child with a `systemId` (which a saga
    // must not spawn; runStep rejects it) leaves anything in it: start over with a clean scope.
    if (Object.keys(inert.scope.system.getAll()).length > 0 && inertScopes.get(machine) === inert) {
      inertScopes.delete(machine);
    }
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const finalStatuses = new Set<SagaStatus>(['completed', 'compensated', 'failed', 'cancelled']);

function statusOf(snap: AnyMachineSnapshot, output: { status?: string } | undefined): SagaStatus {
  if (snap.status === 'done') {
    const s = output?.status as SagaStatus | undefined;
    return s && finalStatuses.has(s) ? s : 'completed';
  }
  if (snap.status === 'error') return 'failed';
  return snap.hasTag('compensating') ? 'compensating' : 'running';
}

/** `{ a: 'b' }` -> `a.b`; parallel regions are joined with `,`. */
export function stateName(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => {
      const inner = typeof v === 'string' || (v && Object.keys(v).length > 0) ? stateName(v) : null;
      return inner ? `${k}.${inner}` : k;
    })
    .join(',');
}

/** Timer ids contain dots (`xstate.after.5000.saga.step`); map keys in MongoDB must not. */
export function timerKey(id: string): string {
  return id.replace(/%/g, '%25').replace(/\./g, '%2E').replace(/\$/g, '%24');
}

/** The machine event for a message: its type, its data, and where it came from. */
export function toMachineEvent(env: Envelope): MachineEvent {
  return { type: env.type, data: env.data, messageId: env.id, causationId: env.causationId };
}
