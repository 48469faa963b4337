import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { DeadLetterAdmin, ReplayRefusedError } from './dead-letters.ts';
import { authProblems, json, problemResponses, scoped } from './openapi-util.ts';
import { problem, statusTitle } from './problem.ts';
import { DeadLetterPageSchema, PageLimitSchema, ReplayedSchema } from './schemas.ts';

const DlqId = z.object({
  id: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, 'a dead letter id (its DLQ stream sequence)')
    .openapi({ param: { name: 'id', in: 'path' }, example: '17' }),
});

const DlqQuery = z.object({
  consumer: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'a durable consumer name, e.g. orchestrator or svc-payment')
    .optional()
    .openapi({ description: 'only dead letters of this durable consumer' }),
  sagaId: z.string().min(1).max(200).optional().openapi({ description: 'only dead letters of this saga' }),
  limit: PageLimitSchema,
  cursor: z
    .string()
    .regex(/^\d{1,16}$/, 'nextCursor of the previous page')
    .optional(),
});

/** Dead-letter administration: list, replay, delete. */
export function registerDlqRoutes(app: OpenAPIHono, admin: DeadLetterAdmin): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/dlq',
      tags: ['dead letters'],
      operationId: 'listDeadLetters',
      summary: 'Dead letters, oldest first, with the reason, the error and the original message',
      description:
        'Filtered by consumer and saga. A page may hold fewer than `limit` items (even none) while `nextCursor` is not null: filtering by saga reads at most 2,000 dead letters per request; follow `nextCursor` until it is null.',
      ...scoped('listDeadLetters'),
      request: { query: DlqQuery },
      responses: {
        200: json(DeadLetterPageSchema, 'one page'),
        ...problemResponses(400, ...authProblems('read')),
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const page = await admin.list({
        limit: q.limit,
        ...(q.consumer ? { consumer: q.consumer } : {}),
        ...(q.sagaId ? { sagaId: q.sagaId } : {}),
        ...(q.cursor ? { after: Number(q.cursor) } : {}),
      });
      let next: string | null = null;
      if (page.nextCursor) {
        const url = new URL(c.req.url);
        url.searchParams.set('cursor', page.nextCursor);
        next = `${url.pathname}${url.search}`;
      }
      return c.json({ ...page, links: { next } }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/dlq/{id}/replay',
      tags: ['dead letters'],
      operationId: 'replayDeadLetter',
      summary:
        'Publish the original message again (new Nats-Msg-Id, original headers), then delete the dead letter',
      description:
        'Fix the cause first (deploy the fix, create the missing data): a message that fails the same way is dead-lettered again. Replaying the same dead letter twice publishes it once.',
      ...scoped('replayDeadLetter'),
      request: { params: DlqId },
      responses: {
        200: json(ReplayedSchema, 'republished; `streamSeq` is where the command or event stream stored it'),
        ...problemResponses(400, 404, ...authProblems('admin')),
        422: {
          ...problemResponses(422)[422]!,
          description:
            "not replayed, nothing published: the DLQ message is not a dead letter jetsaga wrote, or its subject is not a command or event subject that the consumer it names reads (by that durable's filter on the server). `subject` and `consumer` name what the record says",
        },
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      try {
        const r = await admin.replay(Number(id));
        return c.json({ id, replayed: true as const, ...r }, 200);
      } catch (err) {
        if (!(err instanceof ReplayRefusedError)) throw err;
        return problem(c, 422, { title: statusTitle(422), detail: err.message, ...err.about }) as never;
      }
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/dlq/{id}',
      tags: ['dead letters'],
      operationId: 'deleteDeadLetter',
      summary: 'Drop a dead letter for good',
      description:
        'Removes the dead letter from the dead-letter stream for good, without handling it: for a message that must never be handled. To have it handled instead, `POST /v1/dlq/{id}/replay`. An unknown id is a 404.',
      ...scoped('deleteDeadLetter'),
      request: { params: DlqId },
      responses: {
        204: { description: 'deleted' },
        ...problemResponses(400, 404, ...authProblems('admin')),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await admin.delete(Number(id));
      return c.body(null, 204);
    },
  );
}
