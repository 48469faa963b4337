import type { Filter } from 'mongodb';
import { z } from 'zod';
import { ValidationError } from '../errors.ts';
import { type SagaDoc, SagaStatus, type SagaStore } from '../store/index.ts';
import { type SagaSummarySource, type SagaSummaryView, sagaSummaryView } from './views.ts';

export const ListQuerySchema = z.object({
  type: z.string().min(1, 'must not be empty').optional(),
  status: z.enum(SagaStatus).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export type ListQuery = z.infer<typeof ListQuerySchema>;

/** Validates query parameters; every issue names the parameter at fault. */
export function parseListQuery(params: Record<string, string>): ListQuery {
  const parsed = ListQuerySchema.safeParse(params);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
  const names = [...new Set(issues.map((i) => i.field))].join(', ');
  throw new ValidationError(`invalid query parameter: ${names}`, issues);
}

const summaryProjection = {
  _id: 1,
  type: 1,
  version: 1,
  status: 1,
  state: 1,
  reason: 1,
  createdAt: 1,
  updatedAt: 1,
} as const;

/**
 * Newest first, ties broken by id so the order is total (cursor pagination will rely on it).
 * Reads the collection directly until the store grows a list method of its own.
 */
export async function listSagas(store: SagaStore, query: ListQuery): Promise<SagaSummaryView[]> {
  const filter: Filter<SagaDoc> = {};
  if (query.type !== undefined) filter.type = query.type;
  if (query.status !== undefined) filter.status = query.status;
  const docs = await store.sagas
    .find<SagaSummarySource>(filter, { projection: summaryProjection })
    .sort({ createdAt: -1, _id: -1 })
    .limit(query.limit)
    .toArray();
  return docs.map(sagaSummaryView);
}
