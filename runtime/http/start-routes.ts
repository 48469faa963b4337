import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ConflictError, ContractError, ValidationError } from '../errors.ts';
import {
  currentInput,
  inputContractOf,
  type SagaDefinition,
  type SagaRegistry,
  sagaIdForKey,
  startSaga,
} from '../orchestrator/index.ts';
import { oldestAccepted } from '../wire/index.ts';
import type { SagaStore } from '../store/index.ts';
import type { Bus } from '../messaging/index.ts';
import { inSpan, type Span, SpanKind, traceparentOf } from '../observability/tracing.ts';
import { anonymousCaller, callerOf, operationMarker, operationScopes } from './auth.ts';
import { assertSameStart, idempotencyKeyPattern, readIdempotencyKey } from './idempotency.ts';
import { assertJsonBody, authProblems, json, pascalCase, problemResponses, scopeOf } from './openapi-util.ts';
import { signalOperationId } from './signal-routes.ts';
import { type SagaSummarySchema, StartedSchema } from './schemas.ts';
import { readCorrelationId, readJsonObject, readTraceparent } from './start-request.ts';
import { sagaPath, startPath } from './views.ts';

// Starting sagas: `POST /v1/saga-types/{type}/sagas`, documented once per registered type, and
// the deprecated `POST /v1/sagas/{type}` it replaced.

const startHeaders = z.object({
  'idempotency-key': z.string().regex(idempotencyKeyPattern).optional().openapi({
    description:
      'makes the start safe to retry: the same key (per saga type) always names the same saga. A retry answers 200 with that saga and `Idempotent-Replayed: true`; the same key with another body is a 422. 1 to 255 printable ASCII characters without spaces; an empty header is a 400.',
    example: 'order-42-attempt',
  }),
  'x-correlation-id': z
    .string()
    .regex(/^[\x21-\x7e]{0,200}$/)
    .optional()
    .openapi({
      description:
        'your business id for this saga (printable ASCII without spaces, at most 200); defaults to the saga id, as when the header is empty',
    }),
  traceparent: z.string().optional().openapi({
    description:
      'W3C trace context; every command and event of the saga carries its trace id. One that is not a valid version-00 traceparent starts a new trace, as the specification says, rather than failing the request',
  }),
  'schema-version': z
    .string()
    .regex(/^[1-9][0-9]{0,8}$/)
    .optional()
    .openapi({
      description:
        "the version of the input's shape the body is written in (the saga type's current input version when absent): an older one is upcast to the current before validation; a newer one, or one older than every upcaster, is a 400 naming this header and the versions",
      example: '1',
    }),
});

/**
 * A type's start headers: `Schema-Version` names exactly the input versions its start path reads
 * (the oldest an upcaster starts from to the current), so the document says which ones are a 400.
 */
function startHeadersOf(def: SagaDefinition) {
  const c = inputContractOf(def);
  const oldest = oldestAccepted(c);
  const versions = Array.from({ length: c.version - oldest + 1 }, (_, i) => String(oldest + i));
  return startHeaders.extend({
    'schema-version': z
      .enum(versions as [string, ...string[]])
      .optional()
      .openapi({
        description: `the version of the input's shape the body is written in (${c.version}, the current one, when absent): ${versions.length > 1 ? 'an older one is upcast to the current before validation; ' : ''}any other is a 400 naming this header and the versions`,
        example: String(c.version),
      }),
  });
}

export const schemaVersionHeader = 'Schema-Version';

/** The `Schema-Version` header: absent, or a positive integer (a 400 naming it otherwise). */
function readSchemaVersion(c: Context): number | undefined {
  const raw = c.req.header(schemaVersionHeader)?.trim();
  if (raw === undefined) return undefined;
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) {
    throw new ValidationError(`invalid ${schemaVersionHeader} header`, [
      {
        field: schemaVersionHeader,
        message: 'a positive integer: the version of the input the body is written in',
      },
    ]);
  }
  return Number(raw);
}

/** The body at the saga's current input version; a version it cannot read is a 400 naming the header. */
function upcastInput(registry: SagaRegistry, type: string, input: Record<string, unknown>, version?: number) {
  if (version === undefined) return input;
  try {
    return currentInput(registry.latest(type), input, version);
  } catch (err) {
    if (!(err instanceof ContractError)) throw err;
    throw new ValidationError(err.message, [{ field: schemaVersionHeader, message: err.message }]);
  }
}

/**
 * Links from a start's answer to the operations on the saga it names (and the signals its type
 * declares): client generators and stateful API testers (Schemathesis) follow them to a real saga.
 */
function startedLinks(signals: readonly string[]) {
  const to = (operationId: string) => ({ operationId, parameters: { id: '$response.body#/sagaId' } });
  return {
    GetSaga: to('getSaga'),
    GetSagaHistory: to('getSagaHistory'),
    CancelSaga: to('cancelSaga'),
    ...Object.fromEntries(signals.map((name) => [`Signal${pascalCase(name)}`, to(signalOperationId(name))])),
  };
}

/** A start's answers; `signals`: those its saga type declares, linked from them. */
function startResponses(signals: readonly string[]) {
  const links = startedLinks(signals);
  return {
    202: {
      ...json(StartedSchema, 'the saga was created and its first step is on its way'),
      headers: { Location: { schema: { type: 'string' as const }, description: 'the saga' } },
      links,
    },
    200: {
      ...json(StartedSchema, 'an Idempotency-Key retry: the saga this key started before'),
      headers: { 'Idempotent-Replayed': { schema: { type: 'string' as const }, description: '"true"' } },
      links,
    },
    ...problemResponses(400, 404, 413, 415, 422, ...authProblems(operationScopes.startSaga)),
  };
}

/** When the old start path was deprecated (RFC 9745 `Deprecation: @<epoch seconds>`). */
const startAliasDeprecatedAt = Date.UTC(2026, 11, 7) / 1000;

/**
 * A saga input's JSON Schema as zod itself writes it (draft 2020-12, OpenAPI 3.1's dialect), the
 * request side (defaults make fields optional): every rule the API enforces, `multipleOf` and the
 * integer bounds included, which the route generator leaves out. A part JSON Schema cannot
 * express accepts anything.
 */
function inputJsonSchema(input: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(input, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
  delete out.$schema;
  return out as Record<string, unknown>;
}

/**
 * One documented start path per registered type, with that type's own input schema. The route
 * serves `POST /v1/saga-types/{type}/sagas` for any type (an unknown one is a 404), but the
 * template is not a path of the document: its body's schema depends on the path, which OpenAPI
 * cannot say, so a client or a fuzzer reading it would take any object for a valid input.
 */
function documentStartPaths(app: OpenAPIHono, registry: SagaRegistry): void {
  for (const type of registry.types().sort()) {
    const def = registry.latest(type);
    app.openAPIRegistry.registerPath(
      createRoute({
        method: 'post',
        path: `/v1/saga-types/${type}/sagas`,
        tags: ['sagas'],
        operationId: `start${pascalCase(type)}`,
        summary: `Start a saga of type ${type} (v${def.version})`,
        description: def.description ?? `Starts ${type}; new instances run version ${def.version}.`,
        ...scopeOf('startSaga'),
        request: {
          headers: startHeadersOf(def),
          body: {
            required: true,
            content: { 'application/json': { schema: inputJsonSchema(def.input as z.ZodType) } },
          },
        },
        responses: startResponses(Object.keys(def.signals ?? {}).sort()),
      }),
    );
  }
  // The old path, as a template the same path as `GET /v1/sagas/{id}`: documented there, its
  // parameter under that name, so that the document lists every method the path answers.
  app.openAPIRegistry.registerPath(
    createRoute({
      method: 'post',
      path: '/v1/sagas/{id}',
      tags: ['sagas'],
      operationId: 'startSagaAtOldPath',
      deprecated: true,
      summary: 'Deprecated: start a saga of type {id}; use POST /v1/saga-types/{type}/sagas',
      description: `The path starts took before \`POST /v1/saga-types/{type}/sagas\`: here \`{id}\` is the saga type, and the body, the headers, the answers and the Idempotency-Key space are those of that type's start path. Its answers carry \`Deprecation\` and \`Link: </v1/saga-types/{type}/sagas>; rel="successor-version"\`. Registered types: ${registry.types().sort().join(', ') || '(none)'}; any other is a 404.`,
      ...scopeOf('startSaga'),
      request: {
        params: z.object({
          id: z
            .string()
            .min(1)
            .openapi({ param: { name: 'id', in: 'path' }, description: 'the saga type' }),
        }),
        headers: startHeaders,
        body: {
          required: true,
          content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
        },
      },
      responses: startResponses([]),
    }),
  );
}

/** The start routes: the documented one and the deprecated alias, one handler. */
export function registerStartRoutes(
  app: OpenAPIHono,
  deps: { store: SagaStore; bus: Bus; registry: SagaRegistry },
): void {
  documentStartPaths(app, deps.registry);

  // Plain route: the body is read here, after the type is known, so an unknown type is a
  // 404 whatever the body holds and the input is checked against that type's schema.
  // Traced, the request has a span (the child of the caller's traceparent, or a root), and the
  // saga it starts runs in that span's trace: its context is the saga's traceparent.
  const start = (c: Context) => {
    const traceparent = readTraceparent(c.req);
    return inSpan(
      `POST ${c.req.routePath}`,
      traceparent,
      SpanKind.SERVER,
      async (span) => {
        const res = await startIn(c, span ? traceparentOf(span) : traceparent, span);
        if (span?.isRecording()) span.setAttribute('http.response.status_code', res.status);
        return res;
      },
      () => ({
        'http.request.method': 'POST',
        'http.route': c.req.routePath,
        'url.path': c.req.path,
        'saga.type': c.req.param('type') ?? '',
      }),
    );
  };
  const startIn = async (c: Context, traceparent: string | undefined, span: Span | undefined) => {
    const type = c.req.param('type')!;
    deps.registry.latest(type);
    await assertJsonBody(c, true);
    const version = readSchemaVersion(c);
    const input = upcastInput(deps.registry, type, await readJsonObject(c.req), version);
    const key = readIdempotencyKey(c.req);
    const request = {
      type,
      input,
      correlationId: readCorrelationId(c.req),
      traceparent,
      by: callerOf(c) ?? anonymousCaller,
      ...(key ? { sagaId: sagaIdForKey(type, key) } : {}),
    };
    try {
      const { sagaId, doc } = await startSaga(deps, request);
      if (span?.isRecording()) span.setAttributes({ 'saga.id': sagaId, 'saga.version': doc.version });
      return started(c, sagaId, doc, 202);
    } catch (err) {
      if (!(key && request.sagaId && err instanceof ConflictError)) throw err;
      const existing = await deps.store.load(request.sagaId);
      if (!existing) throw err;
      assertSameStart(deps.registry, existing, input);
      c.header('Idempotent-Replayed', 'true');
      if (span?.isRecording())
        span.setAttributes({ 'saga.id': existing._id, 'saga.idempotent_replay': true });
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
