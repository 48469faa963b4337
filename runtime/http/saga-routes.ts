import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { Bus } from '../messaging/index.ts';
import { purgedWhen, requestCancel, type SagaRegistry } from '../orchestrator/index.ts';
import type { SagaStore } from '../store/index.ts';
import { idempotencyKeyHeader } from './idempotency.ts';
import { machineGraph } from './machine-graph.ts';
import { anonymousCaller, callerOf, operationScopes } from './auth.ts';
import { authProblems, json, optionalJsonBody, problemResponses, scoped } from './openapi-util.ts';
import { listSagas, ListQuerySchema } from './saga-list.ts';
import { type SagaEventsOptions, streamSagaEvents } from './saga-events.ts';
import {
  CancelAcceptedSchema,
  CancelBodySchema,
  MachineGraphSchema,
  SagaPageSchema,
  SagaStreamEventSchema,
  SagaTypesSchema,
  SagaViewSchema,
  TransitionSchema,
} from './schemas.ts';
import { correlationIdHeader, readJsonObject } from './start-request.ts';
import { registerSignalRoutes } from './signal-routes.ts';
import { registerStartRoutes } from './start-routes.ts';
import { historyView, sagaInspectorView, sagaPath } from './views.ts';

export interface SagaRouteDeps {
  store: SagaStore;
  bus: Bus;
  registry: SagaRegistry;
  events: SagaEventsOptions;
  /** How long an ended saga is kept (JETSAGA_RETENTION_MS; 0: for ever), for its `expiresAt`. */
  retentionMs?: number;
}

const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .openapi({ param: { name: 'id', in: 'path' }, description: 'saga id' }),
});

/** The list filters as documented: `status` is a comma-separated list of saga statuses. */
const ListQueryDoc = ListQuerySchema.extend({
  status: ListQuerySchema.shape.status.openapi({
    param: { style: 'form', explode: false },
    type: 'array',
    minItems: 1,
    items: { $ref: '#/components/schemas/SagaStatus' },
    description: 'only sagas in one of these statuses, comma separated (`status=running,compensating`)',
    example: ['running', 'compensating'],
  }),
});

/** Starting, listing, inspecting, following, signalling, resuming and cancelling sagas, and the saga type catalogue. */
export function registerSagaRoutes(app: OpenAPIHono, deps: SagaRouteDeps): void {
  registerStartRoutes(app, deps);
  registerSignalRoutes(app, deps);

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/sagas',
      tags: ['sagas'],
      operationId: 'listSagas',
      summary: 'List sagas, newest (or oldest) first, with filters and cursor pagination',
      description:
        'Pages walk a keyset on (createdAt, id): following `nextCursor` until it is null visits every matching saga exactly once, even while new sagas start. ' +
        'A work queue is a filter on the state with the oldest first, e.g. the orders waiting for a manual fraud review: `?type=order-fulfillment&state=reviewing&order=oldest&include=context`.',
      ...scoped('listSagas'),
      request: { query: ListQueryDoc },
      responses: { 200: json(SagaPageSchema, 'one page'), ...problemResponses(400, ...authProblems('read')) },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const page = await listSagas(deps.store, query);
      let next: string | null = null;
      if (page.nextCursor) {
        const url = new URL(c.req.url);
        url.searchParams.set('cursor', page.nextCursor);
        next = `${url.pathname}${url.search}`;
      }
      return c.json({ items: page.items, nextCursor: page.nextCursor, links: { next } }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/sagas/{id}',
      tags: ['sagas'],
      operationId: 'getSaga',
      summary: 'One saga: status, state, context, input, pending outbox, timers and its history',
      description:
        "The saga's document as the inspector shows it: its status and state, the context and input, the commands in its outbox not yet published, its timers, the commands stalled after their resends ran out, its history, and when retention will remove it once ended (`expiresAt`). A saga removed after its retention period (`JETSAGA_RETENTION_MS`) is a 404 whose detail says when it ended and was removed.",
      ...scoped('getSaga'),
      request: { params: IdParam },
      responses: { 200: json(SagaViewSchema, 'the saga'), ...problemResponses(404, ...authProblems('read')) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const [doc, history] = await Promise.all([deps.store.load(id), deps.store.historyOf(id)]);
      if (!doc) throw await unknownSaga(deps.store, id);
      return c.json(sagaInspectorView(doc, history, deps.retentionMs), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/sagas/{id}/history',
      tags: ['sagas'],
      operationId: 'getSagaHistory',
      summary: 'The transitions of one saga, in order',
      description:
        'Every recorded transition, oldest first by `rev`: the event taken, the state before and after, the commands sent, the timers set and cancelled, and the context after the step where it was recorded. To follow a running saga as it moves, use `GET /v1/sagas/{id}/events`.',
      ...scoped('getSagaHistory'),
      request: { params: IdParam },
      responses: {
        200: json(z.array(TransitionSchema), 'every transition, oldest first'),
        ...problemResponses(404, ...authProblems('read')),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      // Only existence matters here, so the snapshot and context are not fetched.
      const [exists, history] = await Promise.all([deps.store.sagaExists(id), deps.store.historyOf(id)]);
      if (!exists) throw await unknownSaga(deps.store, id);
      return c.json(history.map(historyView), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/sagas/{id}/events',
      tags: ['sagas'],
      operationId: 'followSaga',
      summary: 'Live transitions of one saga (Server-Sent Events)',
      description: [
        'A `text/event-stream` of:',
        '- `transition`: a SagaTransition; the SSE id is its rev, events come in rev order, each once;',
        '- `saga`: a SagaSummary, after the history so far and whenever the status or state changes;',
        '- `end`: the final SagaSummary once the saga has ended and its history is complete; the stream then closes.',
        '- `error`: `{ detail }` when the stream fails (the store went away); reconnect to continue.',
        '',
        'The history so far is replayed first. Reconnect with `Last-Event-ID` (or `?after=<rev>`) to continue where a stream stopped.',
      ].join('\n'),
      ...scoped('followSaga'),
      request: {
        params: IdParam,
        query: z.object({ after: z.string().regex(/^\d+$/, 'a revision number').optional() }),
        headers: z.object({ 'last-event-id': z.string().regex(/^\d+$/, 'a revision number').optional() }),
      },
      responses: {
        200: {
          description: 'the event stream; its schema is that of one event',
          content: { 'text/event-stream': { schema: SagaStreamEventSchema } },
        },
        ...problemResponses(400, 404, ...authProblems('read')),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      return streamSagaEvents(c, deps.store, id, deps.events);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/sagas/{id}/cancel',
      tags: ['sagas'],
      operationId: 'cancelSaga',
      summary: 'Ask a running saga to cancel; its machine compensates the steps done',
      description:
        "Publishes the saga's cancel event and answers 202 without waiting: what cancelling means is the saga's machine's to decide (an order gives back what its steps took). The event carries the optional `reason` and the caller's name. The event's id is the saga's, so cancelling twice is one cancel. An ended saga is a 409, an unknown one a 404.",
      ...scoped('cancelSaga', optionalJsonBody),
      request: {
        params: IdParam,
        body: { required: false, content: { 'application/json': { schema: CancelBodySchema } } },
      },
      responses: {
        202: json(CancelAcceptedSchema, 'the cancel request is on its way to the saga'),
        ...problemResponses(400, 404, 409, 413, 415, ...authProblems(operationScopes.cancelSaga)),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const text = await c.req.text();
      const body = text.trim() === '' ? {} : await readJsonObject(c.req, text);
      const parsed = CancelBodySchema.safeParse(body);
      if (!parsed.success) {
        throw new ValidationError('invalid cancel request', [
          { field: 'reason', message: parsed.error.issues[0]?.message ?? 'invalid' },
        ]);
      }
      const doc = await requestCancel(
        deps,
        id,
        parsed.data.reason ?? 'cancelled by request',
        callerOf(c) ?? anonymousCaller,
      );
      return c.json(
        { sagaId: id, status: doc.status, cancelRequested: true as const, links: { self: sagaPath(id) } },
        202,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/saga-types',
      tags: ['saga types'],
      operationId: 'listSagaTypes',
      summary: 'Registered saga types and their versions',
      description:
        "Every saga type this API starts, with its versions, the latest one (new sagas start on it) and its description. A type's sagas start at `POST /v1/saga-types/{type}/sagas`.",
      ...scoped('listSagaTypes'),
      responses: { 200: json(SagaTypesSchema, 'every type'), ...problemResponses(...authProblems('read')) },
    }),
    (c) => {
      const items = deps.registry
        .types()
        .sort()
        .map((type) => {
          const latest = deps.registry.latest(type);
          return {
            type,
            versions: deps.registry.versions(type),
            latest: latest.version,
            description: latest.description ?? null,
          };
        });
      return c.json({ items }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/saga-types/{type}/versions/{version}/definition',
      tags: ['saga types'],
      operationId: 'getSagaDefinition',
      summary: 'The statechart of one saga version: states and transitions, to draw it',
      description:
        'The machine of one version of a saga type as a graph: its states (each with its parent, its kind such as compound or final, and the initial child of a compound one) and the transitions between them by event, as the inspector draws it. An unknown type or version is a 404.',
      ...scoped('getSagaDefinition'),
      request: {
        params: z.object({
          type: z.string().openapi({ param: { name: 'type', in: 'path' } }),
          version: z.coerce
            .number()
            .int()
            .positive()
            .max(Number.MAX_SAFE_INTEGER)
            .openapi({
              param: { name: 'version', in: 'path' },
              type: 'integer',
              minimum: 1,
              maximum: Number.MAX_SAFE_INTEGER,
            }),
        }),
      },
      responses: {
        200: json(MachineGraphSchema, 'the statechart'),
        ...problemResponses(400, 404, ...authProblems('read')),
      },
    }),
    (c) => {
      const { type, version } = c.req.valid('param');
      return c.json(machineGraph(deps.registry.get(type, version)), 200);
    },
  );
}

/** A 404 that says so when the saga was there and was purged after its retention period. */
async function unknownSaga(store: SagaStore, id: string): Promise<NotFoundError> {
  const tombstone = await store.tombstoneOf(id);
  if (!tombstone) return new NotFoundError(`no saga with id "${id}"`);
  return new NotFoundError(`saga "${id}" ${purgedWhen(tombstone)}`);
}

export { correlationIdHeader, idempotencyKeyHeader };
