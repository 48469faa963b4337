import { createRequire } from 'node:module';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { NotFoundError } from '../errors.ts';
import type { Bus } from '../messaging/index.ts';
import { type Logger, renderMetrics } from '../observability/index.ts';
import type { SagaRegistry } from '../orchestrator/index.ts';
import type { SagaStore } from '../store/index.ts';
import { type AuthSettings, bearerAuth } from './auth.ts';
import { DeadLetterAdmin } from './dead-letters.ts';
import { registerDlqRoutes } from './dlq-routes.ts';
import { registerHealthRoutes } from './health-routes.ts';
import { authProblems, bearerScheme, problemResponses, scoped, validationHook } from './openapi-util.ts';
import { problem, statusTitle, toProblem } from './problem.ts';
import { registerOverviewRoutes } from './overview-routes.ts';
import { requestLog } from './request-log.ts';
import { registerReplayRoutes } from './replay-routes.ts';
import { registerSagaRoutes } from './saga-routes.ts';
import { registerSessionRoutes } from './session-routes.ts';
import { registerStaticRoutes } from './static-routes.ts';

export interface ApiDeps {
  store: SagaStore;
  bus: Bus;
  registry: SagaRegistry;
  log: Logger;
  /** Each probe resolves true when reachable. */
  probes: { nats: () => Promise<boolean>; mongo: () => Promise<boolean> };
  /** Bearer tokens, or explicitly none. */
  auth: AuthSettings;
  /** Browser origins allowed to call the API; `*` for any; none by default. */
  corsOrigins?: readonly string[];
  maxBodyBytes?: number;
  /** How often a live event stream looks for new transitions. */
  ssePollMs?: number;
  /** How long an ended saga is kept (JETSAGA_RETENTION_MS; 0 or absent: for ever). */
  retentionMs?: number;
  /** Aborted when the API shuts down, to end long-lived event streams. */
  signal?: AbortSignal;
  /**
   * The AsyncAPI document of the app's messages, served at /asyncapi.json (made by the top layer,
   * runtime/contracts, from the app; a function is called once, at the first request).
   */
  asyncApi?: Record<string, unknown> | (() => Record<string, unknown> | Promise<Record<string, unknown>>);
}

export const maxBodyBytes = 1024 * 1024;

// By the package's own name, so the sources and the compiled package (one level deeper) find the same file.
const packageVersion = (createRequire(import.meta.url)('jetsaga/package.json') as { version: string })
  .version;

export type ApiApp = OpenAPIHono;

/** The HTTP API. Every error, routing misses and auth failures included, leaves as application/problem+json. */
export function createApp(deps: ApiDeps): ApiApp {
  const log = deps.log.child({ component: 'http' });
  const limit = deps.maxBodyBytes ?? maxBodyBytes;
  const app = new OpenAPIHono({ defaultHook: validationHook });

  app.use(requestLog(log));
  if (deps.corsOrigins && deps.corsOrigins.length > 0) {
    const origins = deps.corsOrigins;
    app.use(
      cors({
        origin: origins.includes('*') ? '*' : [...origins],
        allowMethods: ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS'],
        allowHeaders: [
          'Authorization',
          'Content-Type',
          'Idempotency-Key',
          'Schema-Version',
          'X-Correlation-Id',
          'traceparent',
          'Last-Event-ID',
        ],
        exposeHeaders: [
          'Location',
          'Idempotent-Replayed',
          'Retry-After',
          'WWW-Authenticate',
          'Deprecation',
          'Link',
        ],
        maxAge: 600,
      }),
    );
  }
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, allowed) =>
        problem(
          c,
          405,
          {
            title: statusTitle(405),
            detail: `${c.req.method} is not allowed here; use ${allowed.join(', ')}`,
          },
          { Allow: allowed.join(', ') },
        ),
    }),
  );
  app.use(bearerAuth(deps.auth));
  app.use(
    bodyLimit({
      maxSize: limit,
      // The rest of the body is never read, so the connection cannot carry another request.
      onError: (c) =>
        problem(
          c,
          413,
          { title: statusTitle(413), detail: `request body exceeds ${limit} bytes` },
          { Connection: 'close' },
        ),
    }),
  );

  app.openAPIRegistry.registerComponent('securitySchemes', bearerScheme, {
    type: 'http',
    scheme: 'bearer',
    description:
      'A token from JETSAGA_API_TOKENS. Scopes, each implying the ones before it: `read` reads; `write` also starts and cancels sagas; `admin` also replays and deletes dead letters. Each operation names the scope it needs in `security` and `x-required-scope`; a token below it gets a 403 (`WWW-Authenticate: Bearer error="insufficient_scope", scope="<scope>"`). /healthz, /readyz, /metrics, /openapi.json, /docs and /ui need no token.',
  });

  registerHealthRoutes(app, deps.probes);
  registerSagaRoutes(app, {
    store: deps.store,
    bus: deps.bus,
    registry: deps.registry,
    retentionMs: deps.retentionMs ?? 0,
    events: { pollMs: deps.ssePollMs ?? 250, log, ...(deps.signal ? { signal: deps.signal } : {}) },
  });
  registerReplayRoutes(app, deps);
  registerDlqRoutes(app, new DeadLetterAdmin(deps.bus));
  registerOverviewRoutes(app, deps);
  registerSessionRoutes(app, deps.auth);
  registerOperationsRoutes(app, deps.asyncApi, deps.auth.mode === 'off');
  registerStaticRoutes(app);

  app.notFound((c) =>
    problem(c, 404, { title: statusTitle(404), detail: `no route for ${c.req.method} ${c.req.path}` }),
  );
  app.onError((err, c) => {
    const mapped = toProblem(err);
    if (mapped.unexpected) log.error({ err, method: c.req.method, path: c.req.path }, 'http handler failed');
    else if (mapped.status >= 500)
      log.warn({ err: err.message, path: c.req.path }, 'http dependency unavailable');
    return problem(c, mapped.status, mapped.fields, mapped.headers);
  });
  return app;
}

/** `/metrics` and `/openapi.json`: open, for scrapers and client generators; `/asyncapi.json` with a read token. */
function registerOperationsRoutes(app: OpenAPIHono, asyncApi: ApiDeps['asyncApi'], authOff: boolean): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/metrics',
      tags: ['operations'],
      operationId: 'metrics',
      summary: 'Prometheus metrics of this process (no auth)',
      description:
        "This process's metrics in the Prometheus text format: sagas, transitions, messages, store commands, consumers, dead letters, HTTP requests and Node's runtime. Open, like the probes; every process also serves it on its ops port (`JETSAGA_OPS_PORT`).",
      security: [],
      responses: {
        200: { description: 'text exposition format', content: { 'text/plain': { schema: z.string() } } },
      },
    }),
    async (c) => {
      const { contentType, body } = await renderMetrics();
      return c.body(body, 200, { 'Content-Type': contentType }) as never;
    },
  );

  let doc: ReturnType<typeof openApiDocument> | undefined;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/openapi.json',
      tags: ['operations'],
      operationId: 'openapi',
      summary: 'This OpenAPI 3.1 document (no auth)',
      description:
        'This document. Open, for client generators and API testers. Served by an API with auth off, it lists no security requirement; `jetsaga openapi` prints it as an API with tokens serves it.',
      security: [],
      responses: {
        200: {
          description: 'the document',
          content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
        },
      },
    }),
    (c) => {
      doc ??= authOff ? withoutAuth(openApiDocument(app)) : openApiDocument(app);
      return c.json(doc as unknown as Record<string, unknown>, 200);
    },
  );

  let messages: Promise<Record<string, unknown>> | undefined;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/asyncapi.json',
      tags: ['operations'],
      operationId: 'getAsyncApi',
      summary:
        "The AsyncAPI 3 document of the app's messages: channels, messages, who sends and receives them",
      description:
        'Every `cmd.<service>.<command>`, `evt.<source>.<event>` and `dlq.<consumer>` channel, each message with its envelope and header schemas, its version (`x-jetsaga-version`) and the versions receivers upcast (`x-jetsaga-upcasts-from`), and a send and a receive operation per role. Generated from the same zod schemas as `jetsaga asyncapi` and `jetsaga contracts print`; the inspector shows it as the catalogue.',
      ...scoped('getAsyncApi'),
      responses: {
        200: {
          description: 'the document',
          content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
        },
        ...problemResponses(404, ...authProblems('read')),
      },
    }),
    async (c) => {
      if (!asyncApi) throw new NotFoundError("this API was started without the app's message catalogue");
      const made = (messages ??= Promise.resolve(typeof asyncApi === 'function' ? asyncApi() : asyncApi));
      made.catch(() => {
        if (messages === made) messages = undefined;
      });
      return c.json(await made, 200);
    },
  );
}

/** The OpenAPI 3.1 document of an app, generated from the zod schemas its routes validate with. */
export function openApiDocument(app: ApiApp) {
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'jetsaga API',
      version: packageVersion,
      description:
        'Start, inspect, follow, signal, resume and cancel sagas; administer dead letters. Every error is application/problem+json (RFC 9457) and names the field at fault.',
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    // Relative: the API is wherever this document was fetched from (OpenAPI 3.1, Server Object).
    servers: [{ url: '/', description: 'the API that serves this document' }],
    security: [{ [bearerScheme]: [] }],
    tags: [
      { name: 'sagas', description: 'start, list, inspect, follow, resume and cancel saga instances' },
      { name: 'signals', description: "signals a saga type declares, sent to a saga's machine as events" },
      { name: 'saga types', description: 'registered saga definitions and their statecharts' },
      { name: 'dead letters', description: 'messages that could not be handled: list, replay, delete' },
      { name: 'operations', description: 'health, readiness, metrics, this document' },
      { name: 'pages', description: 'the inspector and the docs page' },
    ],
  });
}

/**
 * The document as a server with auth off answers: no operation asks for a token, so none lists a
 * security requirement (a client or an API tester reading it would otherwise expect 401s that never
 * come). The scheme and each operation's `x-required-scope` stay: what a token would need with auth
 * on. `jetsaga openapi` prints the document with them, as a production API serves it.
 */
export function withoutAuth<D extends { info: { description?: string }; paths?: object }>(doc: D): D {
  const out = structuredClone(doc) as D & { security?: unknown };
  delete out.security;
  for (const item of Object.values(out.paths ?? {}) as Array<Record<string, unknown>>)
    for (const op of Object.values(item))
      if (typeof op === 'object' && op !== null && 'responses' in op)
        delete (op as { security?: unknown }).security;
  out.info.description =
    `${out.info.description ?? ''} This server runs with auth off (\`JETSAGA_AUTH=off\`): no operation needs a token here.`.trim();
  return out;
}

/** A stand-in for a dependency the document never touches (`jetsaga openapi` runs without servers). */
function offline<T>(name: string): T {
  return new Proxy({} as object, {
    get: (_t, prop) => {
      throw new Error(`${name}.${String(prop)} is not available while only generating the OpenAPI document`);
    },
  }) as T;
}

/** The OpenAPI document of the API for a registry, without connecting to anything. */
export function openApiDocumentFor(registry: SagaRegistry, log: Logger) {
  const app = createApp({
    store: offline<SagaStore>('store'),
    bus: offline<Bus>('bus'),
    registry,
    log,
    auth: { mode: 'off' },
    probes: { nats: async () => false, mongo: async () => false },
  });
  return openApiDocument(app);
}
