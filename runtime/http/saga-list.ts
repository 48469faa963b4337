import { z } from '@hono/zod-openapi';
import { ValidationError } from '../errors.ts';
import { type SagaListPosition, SagaStatus, type SagaStore } from '../store/index.ts';
import { PageLimitSchema } from './schemas.ts';
import { type SagaSummaryView, sagaSummaryView } from './views.ts';

const statuses = Object.values(SagaStatus) as string[];

/**
 * The store's position where the previous page ended: the creation time in epoch milliseconds and
 * the saga id (base64url, so any id fits). Every string of this shape is a position a page can
 * start from, so the document's pattern says exactly which cursors the API takes.
 */
const cursorPattern = /^[0-9]{1,15}\.[A-Za-z0-9_-]{1,384}$/;

export const ListQuerySchema = z.object({
  type: z.string().min(1, 'must not be empty').optional().openapi({ description: 'saga type' }),
  state: z.string().min(1, 'must not be empty').max(200).optional().openapi({
    description: 'only sagas in this state of their machine, exactly as `state` names it (e.g. `reviewing`)',
  }),
  order: z.enum(['newest', 'oldest']).default('newest').openapi({
    description: 'newest first (default), or oldest first: a work queue such as the Reviews view',
  }),
  include: z
    .enum(['context'])
    .optional()
    .openapi({ description: "`context`: each item carries the saga's context too" }),
  status: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      // `status=` is refused (the document says at least one item): in the form style it spells
      // both the empty list and a list of one empty name.
      if (raw === undefined) return undefined;
      const list = raw.split(',').map((s) => s.replace(/^ +| +$/g, ''));
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
  cursor: z
    .string()
    .regex(cursorPattern, 'not a cursor returned by this API; start again without it')
    .optional()
    .openapi({
      description:
        'nextCursor of the previous page: where it ended, as `<createdAt in epoch ms>.<saga id in base64url>`',
    }),
});
export type ListQuery = z.output<typeof ListQuerySchema>;

export function encodeCursor(p: SagaListPosition): string {
  return `${p.createdAt.getTime()}.${Buffer.from(p.id).toString('base64url')}`;
}

export function decodeCursor(raw: string): SagaListPosition {
  if (!cursorPattern.test(raw))
    throw new ValidationError('invalid query parameter: cursor', [
      { field: 'cursor', message: 'not a cursor returned by this API; start again without it' },
    ]);
  const dot = raw.indexOf('.');
  return {
    createdAt: new Date(Number(raw.slice(0, dot))),
    id: Buffer.from(raw.slice(dot + 1), 'base64url').toString(),
  };
}

/**
 * Newest (or oldest) first, ties broken by id so the order is total: the store's keyset on
 * (createdAt, _id) walks every saga exactly once, however many are started while a client pages.
 */
export async function listSagas(
  store: SagaStore,
  query: ListQuery,
): Promise<{ items: SagaSummaryView[]; nextCursor: string | null }> {
  // A bad cursor is the client's mistake, answered before the store is asked.
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const page = await store.listSagas(
    {
      type: query.type,
      state: query.state,
      status: query.status,
      correlationId: query.correlationId,
      createdAfter: query.createdAfter === undefined ? undefined : new Date(query.createdAfter),
      createdBefore: query.createdBefore === undefined ? undefined : new Date(query.createdBefore),
    },
    { limit: query.limit, after, order: query.order, withContext: query.include === 'context' },
  );
  return {
    items: page.items.map((doc) =>
      query.include === 'context'
        ? { ...sagaSummaryView(doc), context: doc.context ?? null }
        : sagaSummaryView(doc),
    ),
    nextCursor: page.next ? encodeCursor(page.next) : null,
  };
}
