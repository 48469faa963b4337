/**
 * The runtime's few error types. Each says whether retrying can help, and maps to one
 * HTTP status and one DLQ reason, so callers never match on message text.
 */

export const ErrorKind = {
  validation: 'validation',
  notFound: 'not-found',
  conflict: 'conflict',
  transient: 'transient',
  terminal: 'terminal',
  /** A message version the receiver cannot read: newer than it knows, or older than its upcasters. */
  contract: 'contract',
  /** The saga a message is for ended and was purged after its retention period (JETSAGA_RETENTION_MS). */
  purged: 'purged',
} as const;
export type ErrorKind = (typeof ErrorKind)[keyof typeof ErrorKind];

export interface FieldIssue {
  /** Dotted path of the field at fault, e.g. `items.0.qty`; empty for the whole value. */
  field: string;
  message: string;
}

export abstract class JetsagaError extends Error {
  abstract readonly kind: ErrorKind;
  abstract readonly status: number;
  /** Whether trying the same thing again later may succeed. */
  abstract readonly retryable: boolean;
}

export class ValidationError extends JetsagaError {
  readonly kind = ErrorKind.validation;
  readonly status = 400;
  readonly retryable = false;
  constructor(
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends JetsagaError {
  readonly kind = ErrorKind.notFound;
  readonly status = 404;
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends JetsagaError {
  readonly kind = ErrorKind.conflict;
  readonly status = 409;
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** Broker or store briefly unavailable, a lost OCC race: retry with backoff. */
export class TransientError extends JetsagaError {
  readonly kind = ErrorKind.transient;
  readonly status = 503;
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
  }
}

/** Retrying cannot help (a machine that does I/O, an unknown saga version): dead-letter it. */
export class TerminalError extends JetsagaError {
  readonly kind = ErrorKind.terminal;
  readonly status = 500;
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/**
 * A message written at a version its receiver cannot read: newer than the receiver knows (deploy a
 * receiver that knows it), or older than its oldest upcaster. Retrying cannot help: dead-lettered
 * with reason `contract`, and replayable once a receiver that reads it runs.
 */
export class ContractError extends JetsagaError {
  readonly kind = ErrorKind.contract;
  readonly status = 422;
  readonly retryable = false;
  constructor(
    message: string,
    /** The message type, the version it came with, and the version the receiver knows. */
    readonly detail: { type: string; version: number; known: number },
  ) {
    super(message);
    this.name = 'ContractError';
  }
}

/**
 * The saga a message is for is gone: it ended and was purged after its retention period. Retrying
 * cannot bring it back: dead-lettered with reason `purged`, whose error says when it ended and when
 * it was purged, where known.
 */
export class PurgedError extends JetsagaError {
  readonly kind = ErrorKind.purged;
  readonly status = 410;
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'PurgedError';
  }
}

/** A lost optimistic-concurrency race on the saga document: reload and retry. */
export class StaleRevisionError extends TransientError {
  constructor(
    readonly sagaId: string,
    readonly expectedRev: number,
  ) {
    super(`saga ${sagaId} moved past rev ${expectedRev}`);
    this.name = 'StaleRevisionError';
  }
}

/**
 * Classifies any thrown value into the runtime's error types by class, never by text.
 * Failures of the broker, the store or a handler that are not already typed are retried:
 * a bounded number of redeliveries, then the DLQ keeps the message, which is safer than
 * guessing that an unfamiliar error is permanent.
 */
export function classify(err: unknown): JetsagaError {
  if (err instanceof JetsagaError) return err;
  if (err instanceof Error) return new TransientError(err.message, { cause: err });
  return new TransientError(String(err));
}
