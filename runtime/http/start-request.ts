import type { HonoRequest } from 'hono';
import { z } from 'zod';
import { ValidationError } from '../errors.ts';

/** W3C trace-context version 00; the all-zero ids are invalid by the spec. */
const traceparentPattern = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

export const correlationIdHeader = 'X-Correlation-Id';

/** Printable ASCII without spaces: the id travels on as a NATS header and into logs. */
const CorrelationIdSchema = z
  .string()
  .regex(/^[\x21-\x7e]+$/, 'use printable ASCII without spaces')
  .max(200, 'at most 200 characters');

/** Reads the body as a JSON object; the saga's own schema checks its fields afterwards. */
export async function readJsonObject(req: HonoRequest, body?: string): Promise<Record<string, unknown>> {
  const text = body ?? (await req.text());
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ValidationError('request body is not valid JSON', [{ field: 'body', message: reason }]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError('request body must be a JSON object holding the saga input', [
      { field: 'body', message: `expected an object, received ${describeJson(value)}` },
    ]);
  }
  return value as Record<string, unknown>;
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** Absent means "use the saga id"; present but malformed is the caller's mistake, so it is a 400. */
export function readCorrelationId(req: HonoRequest): string | undefined {
  const raw = req.header(correlationIdHeader);
  if (raw === undefined || raw.trim() === '') return undefined;
  const parsed = CorrelationIdSchema.safeParse(raw.trim());
  if (!parsed.success) {
    throw new ValidationError(`invalid ${correlationIdHeader} header`, [
      { field: correlationIdHeader, message: parsed.error.issues[0]?.message ?? 'invalid' },
    ]);
  }
  return parsed.data;
}

/** Trace context says an invalid traceparent restarts the trace, so it is dropped rather than rejected. */
export function readTraceparent(req: HonoRequest): string | undefined {
  const raw = req.header('traceparent')?.trim();
  return raw && traceparentPattern.test(raw) ? raw : undefined;
}
