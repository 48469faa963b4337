import { z } from '@hono/zod-openapi';
import type { Filter } from 'mongodb';
import { ValidationError } from '../errors.ts';
import { type SagaDoc, SagaStatus, type SagaStore } from '../store/index.ts';
import { PageLimitSchema } from './schemas.ts';
import { type SagaSummarySource, type SagaSummaryView, sagaSummaryView, summaryProjection } from './views.ts';

const statuses = Object.values(SagaStatus) as string[];

export const ListQuerySchema = z.object({
  type: z.string().min(1, 'must not be empty').optional().openapi({ description: 'saga type' }),
  status: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return undefined;
      const list = raw.split(',').map((s) => s.trim());
      const bad = list.filter((s) => !statuses.includes(s));
      if (bad.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown status ${bad.join(', ')}; use ${statuses.join(', ')}`,
        });
        return z.NEVER;
      }
      return list as SagaStatus[];
    })
    .openapi({
      type: 'string',
      description: `one status or several, comma separated: ${statuses.join(', ')}`,
      example: 'running,compensating',
    }),
  correlationId: z.string().min(1).max(200).optional(),
  createdAfter: z.iso
    .datetime({ offset: true, message: 'use an ISO 8601 date-time, e.g. 2025-01-01T00:00:00Z' })
    .optional()
    .openapi({ description: 'only sagas created at or after this instant' }),
  createdBefore: z.iso
    .datetime({ offset: true, message: 'use an ISO 8601 date-time, e.g. 2025-01-01T00:00:00Z' })
    .optional()
    .openapi({ description: 'only sagas created before this instant' }),
  limit: PageLimitSchema,
  cursor: z.string().max(400).optional().openapi({ description: 'nextCursor of the previous page' }),
});
export type ListQuery = z.output<typeof ListQuerySchema>;

/** Where the previous page ended: newest first, so the next page is strictly older. */
interface Position {
  createdAt: Date;
  id: string;
}

export function encodeCursor(p: Position): string {
  return Buffer.from(JSON.stringify([p.createdAt.toISOString(), p.id])).toString('base64url');
}

export function decodeCursor(raw: string): Position {
  try {
    const [at, id] = JSON.parse(Buffer.from(raw, 'base64url').toString()) as [unknown, unknown];
    const createdAt = new Date(String(at));
    if (typeof at === 'string' && typeof id === 'string' && !Number.isNaN(createdAt.getTime()))
      return { createdAt, id };
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError('invalid query parameter: cursor', [
    { field: 'cursor', message: 'not a cursor returned by this API; start again without it' },
  ]);
}

/**
 * Newest first, ties broken by id so the order is total: a keyset on (createdAt, _id) walks
 * every saga exactly once, however many are started while a client pages.
 */
export async function listSagas(
  store: SagaStore,
  query: ListQuery,
): Promise<{ items: SagaSummaryView[]; nextCursor: string | null }> {
  const and: Array<Filter<SagaDoc>> = [];
  if (query.type !== undefined) and.push({ type: query.type });
  if (query.status !== undefined)
    and.push(query.status.length === 1 ? { status: query.status[0] } : { status: { $in: query.status } });
  if (query.correlationId !== undefined) and.push({ correlationId: query.correlationId });
  if (query.createdAfter !== undefined) and.push({ createdAt: { $gte: new Date(query.createdAfter) } });
  if (query.createdBefore !== undefined) and.push({ createdAt: { $lt: new Date(query.createdBefore) } });
  if (query.cursor !== undefined) {
    const after = decodeCursor(query.cursor);
    and.push({
      $or: [{ createdAt: { $lt: after.createdAt } }, { createdAt: after.createdAt, _id: { $lt: after.id } }],
    });
  }
  const filter: Filter<SagaDoc> = and.length === 0 ? {} : and.length === 1 ? and[0]! : { $and: and };
  const docs = await store.sagas
    .find<SagaSummarySource>(filter, { projection: summaryProjection })
    .sort({ createdAt: -1, _id: -1 })
    .limit(query.limit + 1)
    .toArray();
  const page = docs.slice(0, query.limit);
  const last = page.at(-1);
  const nextCursor =
    docs.length > query.limit && last
      ? encodeCursor({ createdAt: new Date(last.createdAt), id: last._id })
      : null;
  return { items: page.map(sagaSummaryView), nextCursor };
}

/** The index the list's sort walks; created by the api role at start (idempotent). */
export async function ensureListIndexes(store: SagaStore): Promise<void> {
  await store.sagas.createIndex({ createdAt: -1, _id: -1 });
}
