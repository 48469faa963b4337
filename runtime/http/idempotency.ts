import type { HonoRequest } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ValidationError } from '../errors.ts';
import { type SagaRegistry, sameStartInput } from '../orchestrator/index.ts';
import type { SagaDoc } from '../store/index.ts';

export const idempotencyKeyHeader = 'Idempotency-Key';

/** What a key may be: 1 to 255 printable ASCII characters without spaces (double quotes around it are taken off). */
export const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/;

/**
 * Absent means "no idempotency"; quotes (the draft standard's sf-string form) are accepted.
 * Present but empty is a 400: a client that means to send a key and sends nothing (an unset
 * variable) must not get a start that a retry would repeat.
 */
export function readIdempotencyKey(req: HonoRequest): string | undefined {
  const raw = req.header(idempotencyKeyHeader)?.trim();
  if (raw === undefined) return undefined;
  if (raw === '') {
    throw new ValidationError(`invalid ${idempotencyKeyHeader} header: it is empty`, [
      {
        field: idempotencyKeyHeader,
        message:
          'empty: send 1 to 255 printable ASCII characters, or leave the header out for no idempotency',
      },
    ]);
  }
  const key = /^"(.*)"$/.exec(raw)?.[1] ?? raw;
  if (!idempotencyKeyPattern.test(key)) {
    throw new ValidationError(`invalid ${idempotencyKeyHeader} header`, [
      { field: idempotencyKeyHeader, message: 'use 1 to 255 printable ASCII characters without spaces' },
    ]);
  }
  return key;
}

/**
 * A key reused with another body is a client bug that must not pass as success: it would
 * hide that the second order was never placed (422, as the IETF Idempotency-Key draft says).
 */
export function assertSameStart(registry: SagaRegistry, existing: SagaDoc, input: unknown): void {
  if (sameStartInput(registry, existing, input)) return;
  throw new HTTPException(422, {
    message: `${idempotencyKeyHeader} was already used for saga ${existing._id} with a different body; use a new key for a new saga`,
  });
}
