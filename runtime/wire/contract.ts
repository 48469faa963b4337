import type { z } from 'zod';
import { ContractError, type FieldIssue, ValidationError } from '../errors.ts';

/**
 * A message's contract: the schema of its current version's `data`, that version, and an
 * upcaster from each older version still accepted to the next (v1 -> v2 -> v3). Producers stamp
 * `version` as the envelope's `schemaVersion`; receivers upcast an older message to the current
 * version before they validate and handle it (`upcastData`), and dead-letter a newer one
 * (`ContractError`, reason `contract`). Declared beside the schema: `command(contract(...), ...)`,
 * `defineParticipant({ events })`, `defineReactor({ emits })`, `defineSaga({ inputVersion,
 * inputUpcast })`; the catalogue (`jetsaga contracts`) is made from these declarations.
 */
export interface MessageContract<S extends z.ZodType = z.ZodType> {
  /** The current version's `data`. */
  schema: S;
  /** The current version, >= 1 (1 by default). */
  version: number;
  /** Key n: the upcaster from version n to n+1, for every n from the oldest still accepted to version-1. */
  upcast: Readonly<Record<number, Upcaster>>;
  description?: string;
}

/** Turns the `data` of version n into the `data` of version n+1. Pure: no I/O, no clock. */
export type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;

export interface ContractOptions {
  /** The current version (default 1). */
  version?: number;
  /** Key n: the upcaster from version n to n+1; contiguous from the oldest given to version-1. */
  upcast?: Record<number, Upcaster>;
  description?: string;
}

/**
 * A message contract: `schema` at `version` (1 by default), with `upcast[n]` turning version n
 * into n+1. The upcasters must run contiguously from the oldest one given up to `version - 1`
 * (e.g. version 3 with upcasters 1 and 2, or 2 alone when v1 is no longer accepted); anything
 * else throws a ValidationError naming the field (`version`, `upcast.<n>`).
 */
export function contract<S extends z.ZodType>(schema: S, opts: ContractOptions = {}): MessageContract<S> {
  const fail = (field: string, message: string): never => {
    throw new ValidationError(`contract: ${field}: ${message}`, [{ field, message }]);
  };
  if (!schema || typeof (schema as { safeParse?: unknown }).safeParse !== 'function')
    fail('schema', 'give a zod schema of the message data');
  const version = opts.version ?? 1;
  if (!Number.isInteger(version) || version < 1) fail('version', `must be an integer >= 1, got ${version}`);
  const upcast: Record<number, Upcaster> = {};
  const keys: number[] = [];
  for (const [key, fn] of Object.entries(opts.upcast ?? {})) {
    const n = Number(key);
    if (!Number.isInteger(n) || n < 1 || n >= version)
      fail(
        `upcast.${key}`,
        `an upcaster from v${key} does not fit: keys run from 1 to version-1 (${version - 1})`,
      );
    if (typeof fn !== 'function')
      fail(`upcast.${key}`, `must be a function from v${n} data to v${n + 1} data`);
    upcast[n] = fn;
    keys.push(n);
  }
  if (keys.length > 0) {
    const oldest = Math.min(...keys);
    for (let n = oldest; n < version; n++)
      if (!upcast[n])
        fail(
          `upcast.${n}`,
          `missing: the upcasters must run from v${oldest} to v${version} without a gap (v${n} -> v${n + 1})`,
        );
  }
  const c: MessageContract<S> = { schema, version, upcast: Object.freeze(upcast) };
  if (opts.description !== undefined) c.description = opts.description;
  return Object.freeze(c);
}

/** The oldest version a contract accepts (its oldest upcaster, or its version when it has none). */
export function oldestAccepted(c: MessageContract): number {
  let oldest = c.version;
  for (const key of Object.keys(c.upcast)) oldest = Math.min(oldest, Number(key));
  return oldest;
}

/** A zod schema as a contract at version 1, a contract as it is. */
export function asContract<S extends z.ZodType>(value: S | MessageContract<S>): MessageContract<S> {
  return isContract(value) ? (value as MessageContract<S>) : contract(value as S);
}

export function isContract(value: unknown): value is MessageContract {
  return (
    typeof value === 'object' &&
    value !== null &&
    'schema' in value &&
    'version' in value &&
    'upcast' in value &&
    typeof (value as { version: unknown }).version === 'number'
  );
}

/**
 * `data` of `type` written at `fromVersion`, as the current version of `c`: as it is when
 * `fromVersion` is current (one integer compare), otherwise through the upcasters
 * `fromVersion -> ... -> c.version`. Throws a ContractError (dead-lettered with reason `contract`)
 * for a version newer than `c` knows, one older than its oldest upcaster, or an upcaster that
 * throws. `receiver` names who received it, for the message: `service payment`, `the orchestrator`.
 */
export function upcastData(
  type: string,
  c: MessageContract,
  data: Record<string, unknown>,
  fromVersion: number,
  receiver = 'this receiver',
): Record<string, unknown> {
  if (fromVersion === c.version) return data;
  if (fromVersion > c.version) {
    throw new ContractError(
      `${type} v${fromVersion} is newer than this service knows (v${c.version}): deploy a version of ${receiver} that knows ${type} v${fromVersion}`,
      { type, version: fromVersion, known: c.version },
    );
  }
  const oldest = oldestAccepted(c);
  if (fromVersion < oldest) {
    const accepts = oldest === c.version ? `v${c.version} only` : `v${oldest}..v${c.version}`;
    throw new ContractError(
      `${type} v${fromVersion} is older than any upcaster of ${receiver} (accepts ${accepts})`,
      { type, version: fromVersion, known: c.version },
    );
  }
  let out = data;
  for (let n = fromVersion; n < c.version; n++) {
    try {
      out = c.upcast[n]!(out);
    } catch (err) {
      throw new ContractError(
        `${type} v${fromVersion}: the upcaster of ${receiver} from v${n} to v${n + 1} failed: ${err instanceof Error ? err.message : String(err)}`,
        { type, version: fromVersion, known: c.version },
      );
    }
    if (typeof out !== 'object' || out === null || Array.isArray(out)) {
      throw new ContractError(
        `${type} v${fromVersion}: the upcaster of ${receiver} from v${n} to v${n + 1} returned no object`,
        { type, version: fromVersion, known: c.version },
      );
    }
  }
  return out;
}

/** The issues of a failed zod parse, as the runtime names fields (`items.0.qty`). */
export function issuesOf(error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
}

/**
 * Checks `data` against the current schema of `c`: nothing when it fits, a ValidationError naming
 * each field at fault otherwise (`payment.authorized v2: invalid data: card.funding: ...`).
 */
export function checkData(type: string, c: MessageContract, data: Record<string, unknown>): void {
  const parsed = c.schema.safeParse(data);
  if (parsed.success) return;
  const issues = issuesOf(parsed.error);
  throw new ValidationError(
    `${type} v${c.version}: invalid data: ${issues.map((i) => `${i.field || '(root)'}: ${i.message}`).join('; ')}`,
    issues,
  );
}

/** Message type -> its contract: what a receiver knows of the messages it may get. */
export type ContractLookup = ReadonlyMap<string, MessageContract>;
