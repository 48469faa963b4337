import { createHash } from 'node:crypto';
import type { HonoRequest } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ValidationError } from '../errors.ts';
import type { SagaRegistry } from '../orchestrator/index.ts';
import type { SagaDoc } from '../store/index.ts';

export const idempotencyKeyHeader = 'Idempotency-Key';

/**
 * The saga id a start with this key gets: a UUID (version 8, "custom") made of
 * SHA-256(type, key). The id itself is the record of the key, so a retry, on any API
 * replica, collides on the saga's primary key instead of needing a second collection.
 */
export function sagaIdForKey(type: string, key: string): string {
  const bytes = createHash('sha256').update(`jetsaga-idempotency\n${type}\n${key}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Absent means "no idempotency"; quotes (the draft standard's sf-string form) are accepted. */
export function readIdempotencyKey(req: HonoRequest): string | undefined {
  const raw = req.header(idempotencyKeyHeader)?.trim();
  if (raw === undefined || raw === '') return undefined;
  const key = /^"(.*)"$/.exec(raw)?.[1] ?? raw;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new ValidationError(`invalid ${idempotencyKeyHeader} header`, [
      { field: idempotencyKeyHeader, message: 'use 1 to 255 printable ASCII characters without spaces' },
    ]);
  }
  return key;
}

/** JSON with sorted keys, so two equal inputs compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/**
 * A key reused with another body is a client bug that must not pass as success: it would
 * hide that the second order was never placed (422, as the IETF Idempotency-Key draft says).
 */
export function assertSameStart(registry: SagaRegistry, existing: SagaDoc, input: unknown): void {
  const parsed = registry.get(existing.type, existing.version).input.safeParse(input);
  if (parsed.success && canonical(parsed.data) === canonical(existing.input)) return;
  throw new HTTPException(422, {
    message: `${idempotencyKeyHeader} was already used for saga ${existing._id} with a different body; use a new key for a new saga`,
  });
}
