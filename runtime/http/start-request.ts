import type { HonoRequest } from 'hono';
import { z } from 'zod';
import { type FieldIssue, ValidationError } from '../errors.ts';

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
  assertFiniteNumbers(value);
  return value as Record<string, unknown>;
}

/** How many fields a 400 names at most, and how long one field path may get in it. */
const maxIssues = 20;
const maxFieldLength = 200;

/**
 * JSON has no Infinity, but JSON.parse turns a number too large for a double (`1e400`) into
 * one, and nothing downstream can use it: stored it becomes null, summed it poisons totals.
 * So every number in the body must be finite, whatever the saga's schema checks. Iterative,
 * so a deeply nested body cannot overflow the stack.
 */
function assertFiniteNumbers(root: object): void {
  const issues: FieldIssue[] = [];
  let found = 0;
  // Each entry links to its parent: a path is spelled out only for a field at fault, so a
  // deep body costs time linear in its size.
  const stack: Step[] = [{ value: root, key: '', parent: null }];
  for (let step = stack.pop(); step; step = stack.pop()) {
    const { value } = step;
    if (typeof value === 'number') {
      if (Number.isFinite(value)) continue;
      found++;
      if (issues.length < maxIssues)
        issues.push({
          field: fieldName(step),
          message: `not a finite number: it is too large for a double and parses to ${value}`,
        });
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--)
        stack.push({ value: value[i], key: String(i), parent: step });
    } else if (typeof value === 'object' && value !== null) {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        stack.push({ value: child, key, parent: step });
      }
    }
  }
  if (found === 0) return;
  const named = issues.map((i) => i.field).join(', ');
  const more = found > issues.length ? ` and ${found - issues.length} more (${found} in all)` : '';
  throw new ValidationError(`request body holds numbers that are not finite: ${named}${more}`, issues);
}

interface Step {
  value: unknown;
  key: string;
  parent: Step | null;
}

/** The dotted path of a field, e.g. `items.0.unitPrice`; a very deep one is cut short. */
function fieldName(step: Step): string {
  const keys: string[] = [];
  for (let s: Step | null = step; s?.parent; s = s.parent) keys.push(s.key);
  const name = keys.reverse().join('.');
  return name.length > maxFieldLength ? `${name.slice(0, maxFieldLength)}…` : name;
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
