import type { AnyStateMachine } from 'xstate';
import type { z } from 'zod';
import type { StepPolicy } from './step-policies.ts';
import { signalEventType, signalNamePattern, signalPrefix, statesAccepting } from './signals.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { contract, type MessageContract, type Upcaster } from '../wire/index.ts';

/**
 * A saga definition is a value: the machine, the schema of its input, a version. The
 * runtime has one way to run any definition.
 *
 * Machine conventions (checked at run time, failures are recorded on the saga):
 * - work is requested with `emit({ type: '<service>.<command>', data })`;
 * - replies arrive as events `{ type: '<service>.<event>', data }`;
 * - `after` delays are durable timers;
 * - a declared signal `<name>` arrives as `{ type: 'saga.signal.<name>', data, by }` (signals.ts);
 * - states tagged `compensating` give the saga status `compensating`;
 * - the machine's `output` when it reaches a final state is `{ status, reason? }` with
 *   status `completed | compensated | failed | cancelled`.
 */
export interface SagaDefinition<TInput = unknown> {
  type: string;
  version: number;
  machine: AnyStateMachine;
  input: z.ZodType<TInput>;
  description?: string;
  /** Per command type: resend an unanswered command, then give up as declared. */
  policies?: Record<string, StepPolicy>;
  /**
   * The signals the saga accepts (`POST /v1/sagas/{id}/signals/{name}`), by name, each with the
   * schema of its body. The machine handles `<name>` as the event `saga.signal.<name>`, whose
   * `data` is the parsed body and `by` the caller's token name.
   */
  signals?: Record<string, z.ZodType>;
  /**
   * The version of the input's shape (1 by default), independent of the machine's `version`: a
   * start that sends an older one (`startSaga(..., { inputVersion })`, the API's `Schema-Version`
   * header) is upcast to it through `inputUpcast` before `input` validates it; a newer one is refused.
   */
  inputVersion?: number;
  /** Key n: the upcaster of an input from version n to n+1, contiguous up to `inputVersion - 1`. */
  inputUpcast?: Record<number, Upcaster>;
  /** The input's contract (schema `input`, `inputVersion`, `inputUpcast`): set by `defineSaga`. */
  readonly inputContract?: MessageContract;
}

/** A saga's input contract: the one `defineSaga` made, or version 1 of its input schema. */
export function inputContractOf(def: SagaDefinition): MessageContract {
  return (
    def.inputContract ??
    contract(def.input, { version: def.inputVersion ?? 1, upcast: def.inputUpcast ?? {} })
  );
}

export function defineSaga<TInput>(
  def: SagaDefinition<TInput>,
): SagaDefinition<TInput> & { readonly inputContract: MessageContract } {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(def.type)) {
    throw new ValidationError(`saga type "${def.type}" must be lowercase letters, digits and dashes`, [
      { field: 'type', message: 'use e.g. order-fulfillment' },
    ]);
  }
  if (!Number.isInteger(def.version) || def.version < 1) {
    throw new ValidationError(`saga ${def.type}: version must be a positive integer`, [
      { field: 'version', message: 'e.g. 1' },
    ]);
  }
  checkSignals(def);
  let inputContract: MessageContract;
  try {
    inputContract = contract(def.input, {
      version: def.inputVersion ?? 1,
      upcast: def.inputUpcast ?? {},
      ...(def.description !== undefined ? { description: def.description } : {}),
    });
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const issue = err.issues[0];
    const field =
      issue?.field === 'version' ? 'inputVersion' : (issue?.field ?? '').replace(/^upcast/, 'inputUpcast');
    throw new ValidationError(`saga ${def.type}: ${field}: ${issue?.message ?? err.message}`, [
      { field, message: issue?.message ?? err.message },
    ]);
  }
  return { ...def, inputContract };
}

/**
 * Each declared signal has a valid name and a state that handles it, and the machine handles no
 * `saga.signal.*` event that is not declared: either would be a signal no one can ever deliver.
 */
function checkSignals(def: SagaDefinition): void {
  const declared = Object.keys(def.signals ?? {});
  for (const name of declared) {
    if (!signalNamePattern.test(name)) {
      throw new ValidationError(
        `saga ${def.type}: signal "${name}" must be lowercase letters, digits and dashes`,
        [{ field: `signals.${name}`, message: 'use e.g. approve or change-address' }],
      );
    }
    if (statesAccepting(def.machine, signalEventType(name)).length === 0) {
      throw new ValidationError(
        `saga ${def.type}: signal "${name}" is declared but no state of the machine handles ${signalEventType(name)}`,
        [
          {
            field: `signals.${name}`,
            message: `add on: { '${signalEventType(name)}': ... } to the states that wait for it`,
          },
        ],
      );
    }
  }
  const handled = new Set<string>(def.machine.root.events.filter((e: string) => e.startsWith(signalPrefix)));
  for (const type of handled) {
    const name = type.slice(signalPrefix.length);
    if (!declared.includes(name)) {
      throw new ValidationError(
        `saga ${def.type}: the machine handles ${type} but signals does not declare "${name}"`,
        [{ field: 'signals', message: `declare it: signals: { '${name}': z.object({ ... }) }` }],
      );
    }
  }
}

/** All registered definitions, by type and version. New instances take the newest version. */
export class SagaRegistry {
  private readonly byType = new Map<string, Map<number, SagaDefinition>>();

  register(...defs: SagaDefinition[]): this {
    for (const given of defs) {
      // A definition not made by defineSaga gets its input contract here (version 1 by default).
      const def = given.inputContract ? given : { ...given, inputContract: inputContractOf(given) };
      const versions = this.byType.get(def.type) ?? new Map<number, SagaDefinition>();
      if (versions.has(def.version))
        throw new ConflictError(`saga ${def.type} v${def.version} is registered twice`);
      versions.set(def.version, def);
      this.byType.set(def.type, versions);
    }
    return this;
  }

  types(): string[] {
    return [...this.byType.keys()];
  }

  versions(type: string): number[] {
    return [...(this.byType.get(type)?.keys() ?? [])].sort((a, b) => a - b);
  }

  latest(type: string): SagaDefinition {
    const versions = this.versions(type);
    const newest = versions.at(-1);
    if (newest === undefined) {
      throw new NotFoundError(
        `unknown saga type "${type}"; known types: ${this.types().join(', ') || '(none)'}`,
      );
    }
    return this.byType.get(type)!.get(newest)!;
  }

  get(type: string, version: number): SagaDefinition {
    const def = this.byType.get(type)?.get(version);
    if (!def) {
      throw new NotFoundError(
        `saga ${type} v${version} is not registered here (registered: ${this.versions(type).join(', ') || 'none'}); ` +
          'deploy a build that still registers this version until its instances finish',
      );
    }
    return def;
  }
}
