import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import type { Bus } from '../messaging/index.ts';
import { requestCancel, type SagaRegistry, sagaIdForKey, startSaga } from '../orchestrator/index.ts';
import type { SagaStore } from '../store/index.ts';
import { assertSameStart, idempotencyKeyHeader, readIdempotencyKey } from './idempotency.ts';
import { machineGraph } from './machine-graph.ts';
import { anonymousCaller, callerOf, operationMarker, operationScopes } from './auth.ts';
import {
  assertJsonBody,
  authProblems,
  json,
  optionalJsonBody,
  problemResponses,
  scoped,
  scopeOf,
} from './openapi-util.ts';
import { listSagas, ListQuerySchema } from './saga-list.ts';
import { type SagaEventsOptions, streamSagaEvents } from './saga-events.ts';
import {
  CancelAcceptedSchema,
  CancelBodySchema,
  MachineGraphSchema,
  SagaPageSchema,
  SagaSummarySchema,
  SagaTypesSchema,
  SagaViewSchema,
  StartedSchema,
  TransitionSchema,
} from './schemas.ts';
import { correlationIdHeader, readCorrelationId, readJsonObject, readTraceparent } from './start-request.ts';
import { historyView, sagaInspectorView, sagaPath, startPath } from './views.ts';

export interface SagaRouteDeps {
  store: SagaStore;
  bus: Bus;
  registry: SagaRegistry;
  events: SagaEventsOptions;
}

const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .openapi({ param: { name: 'id', in: 'path' }, description: 'saga id' }),
});

const startHeaders = z.object({
  'idempotency-key': z.string().min(1).max(255).optional().openapi({
    description:
      'makes the start safe to retry: the same key (per saga type) always names the same saga. A retry answers 200 with that saga and `Idempotent-Replayed: true`; the same key with another body is a 422. 1 to 255 printable ASCII characters; an empty header is a 400.',
    example: 'order-42-attempt',
  }),
  'x-correlation-id': z.string().optional().openapi({
    description: 'your business id for this saga (printable ASCII, at most 200); defaults to the saga id',
  }),
  traceparent: z.string().optional().openapi({
    description: 'W3C trace context; every command and event of the saga carries its trace id',
  }),
});

const startResponses = {
  202: {
    ...json(StartedSchema, 'the saga was created and its first step is on its way'),
    headers: { Location: { schema: { type: 'string' as const }, description: 'the saga' } },
  },
  200: {
    ...json(StartedSchema, 'an Idempotency-Key retry: the saga this key started before'),
    headers: { 'Idempotent-Replayed': { schema: { type: 'string' as const }, description: '"true"' } },
  },
  ...problemResponses(400, 404, 413, 415, 422, ...authProblems(operationScopes.startSaga)),
};

const pascal = (type: string) => type.replace(/(^|-)([a-z0-9])/g, (_m, _d, ch: string) => ch.toUpperCase());

/** The path `POST /v1/sagas/{type}` had before it moved: served, deprecated, not in the document. */
export const deprecatedStartPath = '/v1/sagas/{type}';

/** When the old start path was deprecated (RFC 9745 `Deprecation: @<epoch seconds>`). */
const startAliasDeprecatedAt = Date.UTC(2026, 11, 7) / 1000;

/** One documented start path per registered type, with that type's own input schema. */
function documentStartPaths(app: OpenAPIHono, registry: SagaRegistry): void {
  app.openAPIRegistry.registerPath(
    createRoute({
      method: 'post',
      path: '/v1/saga-types/{type}/sagas',
      tags: ['sagas'],
      operationId: 'startSaga',
      summary: 'Start a saga of any registered type',
      description: [
        `The body is the saga's input, validated by the schema of the type's newest version (see the typed paths). Registered types: ${registry.types().join(', ') || '(none)'}.`,
        '',
        `Deprecated alias: \`POST ${deprecatedStartPath}\` does the same (same body, headers, answers and Idempotency-Key space) and adds \`Deprecation\` and \`Link: <this path>; rel="successor-version"\` headers to its answers. It is not listed among the paths because, as a template, it is the same path as \`GET /v1/sagas/{id}\`, which OpenAPI 3.1 forbids.`,
      ].join('\n'),
      ...scopeOf('startSaga'),
      request: {
        params: z.object({
          type: z.string().openapi({ param: { name: 'type', in: 'path' }, description: 'saga type' }),
        }),
        headers: startHeaders,
        body: {
          required: true,
          content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
        },
      },
      responses: startResponses,
    }),
  );
  for (const type of registry.types().sort()) {
    const def = registry.latest(type);
    // Inline: a saga's schema is plain zod, without the `.openapi()` naming extension.
    const input = def.input as z.ZodType;
    app.openAPIRegistry.registerPath(
      createRoute({
        method: 'post',
        path: `/v1/saga-types/${type}/sagas`,
        tags: ['sagas'],
        operationId: `start${pascal(type)}`,
        summary: `Start a saga of type ${type} (v${def.version})`,
        description: def.description ?? `Starts ${type}; new instances run version ${def.version}.`,
        ...scopeOf('startSaga'),
        request: {
          headers: startHeaders,
          body: { required: true, content: { 'application/json': { schema: input } } },
        },
        responses: startResponses,
      }),
    );
  }
}

/** The list filters as documented: `status` is a comma-separated list of saga statuses. */
const ListQueryDoc = ListQuerySchema.extend({
  status: ListQuerySchema.shape.status.openapi({
    param: { style: 'form', explode: false },
    type: 'array',
    items: { $ref: '#/components/schemas/SagaStatus' },
    description: 'only sagas in one of these statuses, comma separated (`status=running,compensating`)',
    example: ['running', 'compensating'],
  }),
});

/** Starting, listing, inspecting, following and cancelling sagas, and the saga type catalogue. */
export function registerSagaRoutes(app: OpenAPIHono, deps: SagaRouteDeps): void {
  documentStartPaths(app, deps.registry);

  // Plain route: the body is read here, after the type is known, so an unknown type is a
  // 404 whatever the body holds and the input is checked against that type's schema.
  const start = async (c: Context) => {
    const type = c.req.param('type')!;
    deps.registry.latest(type);
    await assertJsonBody(c, true);
    const input = await readJsonObject(c.req);
    const key = readIdempotencyKey(c.req);
    const request = {
      type,
      input,
      correlationId: readCorrelationId(c.req),
      traceparent: readTraceparent(c.req),
      by: callerOf(c) ?? anonymousCaller,
      ...(key ? { sagaId: sagaIdForKey(type, key) } : {}),
    };
    try {
      const { sagaId, doc } = await startSaga(deps, request);
      return started(c, sagaId, doc, 202);
    } catch (err) {
      if (!(key && request.sagaId && err instanceof ConflictError)) throw err;
      const existing = await deps.store.load(request.sagaId);
      if (!existing) throw err;
      assertSameStart(deps.registry, existing, input);
      c.header('Idempotent-Replayed', 'true');
      return started(c, existing._id, existing, 200);
    }
  };
  app.post('/v1/saga-types/:type/sagas', operationMarker('startSaga'), start);
  app.post(
    '/v1/sagas/:type',
    operationMarker('startSaga'),
    async (c, next) => {
      // Set before the handler runs, so that its problems carry them too.
      c.header('Deprecation', `@${startAliasDeprecatedAt}`);
      c.header('Link', `<${startPath(c.req.param('type'))}>; rel="successor-version"`);
      await next();
    },
    start,
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/sagas',
      tags: ['sagas'],
      operationId: 'listSagas',
      summary: 'List sagas, newest first, with filters and cursor pagination',
      description:
        'Pages walk a keyset on (createdAt, id): following `nextCursor` until it is null visits every matching saga exactly once, even while new sagas start.',
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
      ...scoped('getSaga'),
      request: { params: IdParam },
      responses: { 200: json(SagaViewSchema, 'the saga'), ...problemResponses(404, ...authProblems('read')) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const [doc, history] = await Promise.all([deps.store.load(id), deps.store.historyOf(id)]);
      if (!doc) throw unknownSaga(id);
      return c.json(sagaInspectorView(doc, history), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/sagas/{id}/history',
      tags: ['sagas'],
      operationId: 'getSagaHistory',
      summary: 'The transitions of one saga, in order',
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
      if (!exists) throw unknownSaga(id);
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
          description: 'the event stream',
          content: { 'text/event-stream': { schema: z.string() } },
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
      ...scoped('getSagaDefinition'),
      request: {
        params: z.object({
          type: z.string().openapi({ param: { name: 'type', in: 'path' } }),
          version: z.coerce
            .number()
            .int()
            .positive()
            .openapi({ param: { name: 'version', in: 'path' }, type: 'integer', minimum: 1 }),
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

function started(
  c: Context,
  sagaId: string,
  doc: { type: string; version: number; status: z.infer<typeof SagaSummarySchema>['status'] },
  status: 200 | 202,
): Response {
  const self = sagaPath(sagaId);
  c.header('Location', self);
  return c.json(
    {
      sagaId,
      type: doc.type,
      version: doc.version,
      status: doc.status,
      links: { self, history: `${self}/history`, events: `${self}/events` },
    } satisfies z.infer<typeof StartedSchema>,
    status,
  );
}

function unknownSaga(id: string): NotFoundError {
  return new NotFoundError(`no saga with id "${id}"`);
}

export { correlationIdHeader, idempotencyKeyHeader };
