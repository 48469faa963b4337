import { HTTPException } from 'hono/http-exception';
import { HonoRequest } from 'hono/request';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { z } from 'zod';
import { ConflictError, NotFoundError, TransientError, ValidationError } from '../errors.ts';
import type { Bus } from '../messaging/index.ts';
import { defineSaga, SagaRegistry } from '../orchestrator/index.ts';
import type { SagaDoc, SagaStore } from '../store/index.ts';
import { type ApiDeps, createApp, maxBodyBytes, openApiDocument } from './app.ts';
import { runProbe } from './health-routes.ts';
import { problemContentType, toProblem } from './problem.ts';
import { readCorrelationId, readTraceparent } from './start-request.ts';
import { sagaInspectorView } from './views.ts';

const demoSaga = defineSaga({
  type: 'demo-order',
  version: 1,
  input: z.object({
    customerId: z.string().min(1),
    items: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })).min(1),
  }),
  machine: setup({ types: { events: {} as { type: 'demo.done' } } }).createMachine({
    id: 'demo-order',
    initial: 'waiting',
    states: { waiting: { on: { 'demo.done': 'done' } }, done: { type: 'final' } },
  }),
});

/** Records every property read, so a test can prove a route never touched the store or the bus. */
function untouchable<T>(name: string, touched: string[]): T {
  return new Proxy(
    {},
    {
      get: (_target, prop) => {
        touched.push(`${name}.${String(prop)}`);
        throw new Error(`${name}.${String(prop)} must not be reached by this route`);
      },
    },
  ) as T;
}

interface Harness {
  app: ReturnType<typeof createApp>;
  touched: string[];
  logs: Array<Record<string, unknown>>;
}

function harness(probes: Partial<ApiDeps['probes']> = {}, auth: ApiDeps['auth'] = { mode: 'off' }): Harness {
  const touched: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const app = createApp({
    store: untouchable<SagaStore>('store', touched),
    bus: untouchable<Bus>('bus', touched),
    registry: new SagaRegistry().register(demoSaga),
    log,
    auth,
    probes: { nats: async () => true, mongo: async () => true, ...probes },
  });
  return { app, touched, logs };
}

const postJson = (body: string, headers: Record<string, string> = {}) => ({
  method: 'POST',
  body,
  headers: { 'Content-Type': 'application/json', ...headers },
});

async function expectProblem(res: Response, status: number): Promise<Record<string, unknown>> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe(problemContentType);
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ type: 'about:blank', status });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  return body;
}

describe('POST /v1/sagas/:type', () => {
  it('answers 400 naming the body when the JSON is malformed', async () => {
    const { app, touched } = harness();
    const res = await app.request('/v1/sagas/demo-order', postJson('{"customerId": '));
    const body = await expectProblem(res, 400);
    expect(body.detail).toBe('request body is not valid JSON');
    expect(body.errors).toEqual([expect.objectContaining({ field: 'body' })]);
    expect(body.instance).toBe('/v1/sagas/demo-order');
    expect(touched).toEqual([]);
  });

  it('answers 400 when the body is JSON but not an object', async () => {
    const { app, touched } = harness();
    for (const payload of ['[1, 2]', 'null', '"text"', '42']) {
      const res = await app.request('/v1/sagas/demo-order', postJson(payload));
      const body = await expectProblem(res, 400);
      expect(body.errors).toEqual([expect.objectContaining({ field: 'body' })]);
    }
    expect(touched).toEqual([]);
  });

  it('answers 400 naming each invalid field and starts nothing', async () => {
    const { app, touched } = harness();
    const input = { customerId: 'c-1', items: [{ sku: 'A', qty: 0 }] };
    const res = await app.request('/v1/sagas/demo-order', postJson(JSON.stringify(input)));
    const body = await expectProblem(res, 400);
    expect(body.errors).toEqual([{ field: 'items.0.qty', message: expect.any(String) }]);
    expect(touched).toEqual([]);
  });

  it('answers 400 naming the header when X-Correlation-Id is malformed', async () => {
    const { app, touched } = harness();
    const input = { customerId: 'c-1', items: [{ sku: 'A', qty: 1 }] };
    const res = await app.request(
      '/v1/sagas/demo-order',
      postJson(JSON.stringify(input), { 'X-Correlation-Id': 'has spaces in it' }),
    );
    const body = await expectProblem(res, 400);
    expect(body.errors).toEqual([expect.objectContaining({ field: 'X-Correlation-Id' })]);
    expect(touched).toEqual([]);
  });

  it('answers 404 naming the known types for an unknown saga type, before reading the body', async () => {
    const { app, touched } = harness();
    const res = await app.request('/v1/sagas/no-such-saga', postJson('not json at all'));
    const body = await expectProblem(res, 404);
    expect(body.detail).toContain('no-such-saga');
    expect(body.detail).toContain('demo-order');
    expect(touched).toEqual([]);
  });

  it('answers 413 for a body over 1 MiB, declared or streamed', async () => {
    const { app, touched } = harness();
    const oversized = JSON.stringify({ customerId: 'x'.repeat(maxBodyBytes) });
    const streamed = await app.request('/v1/sagas/demo-order', postJson(oversized));
    await expectProblem(streamed, 413);
    expect(streamed.headers.get('connection')).toBe('close');
    const declared = postJson(oversized, { 'Content-Length': String(Buffer.byteLength(oversized)) });
    await expectProblem(await app.request('/v1/sagas/demo-order', declared), 413);
    expect(touched).toEqual([]);
  });
});

/** A store and a bus that accept one start or cancel and keep what they were given. */
function recording() {
  const created: SagaDoc[] = [];
  const published: Array<{ subject: string; data: unknown }> = [];
  const running: SagaDoc = {
    _id: 's-1',
    type: 'demo-order',
    status: 'running',
    correlationId: 'c',
  } as SagaDoc;
  const store = {
    create: async (doc: SagaDoc) => void created.push(doc),
    load: async (id: string) => (id === 's-1' ? running : null),
  } as unknown as SagaStore;
  const bus = {
    publish: async (subject: string, env: { data: unknown }) =>
      void published.push({ subject, data: env.data }),
  } as unknown as Bus;
  const app = createApp({
    store,
    bus,
    registry: new SagaRegistry().register(demoSaga),
    log: pino({ level: 'silent' }),
    auth: { mode: 'off' },
    probes: { nats: async () => true, mongo: async () => true },
  });
  return { app, created, published };
}

const validInput = JSON.stringify({ customerId: 'c-1', items: [{ sku: 'A', qty: 1 }] });

describe('POST /v1/saga-types/:type/sagas', () => {
  it('starts a saga and records who started it in the start event (anonymous with auth off)', async () => {
    const { app, created, published } = recording();
    const res = await app.request('/v1/saga-types/demo-order/sagas', postJson(validInput));
    expect(res.status).toBe(202);
    expect(res.headers.get('deprecation')).toBeNull();
    const { sagaId } = (await res.json()) as { sagaId: string };
    expect(res.headers.get('location')).toBe(`/v1/sagas/${sagaId}`);
    expect(created[0]!.outbox[`${sagaId}:start`]!.envelope.data).toEqual({ by: 'anonymous' });
    expect(published).toEqual([{ subject: 'evt.saga.started', data: { by: 'anonymous' } }]);
  });

  it('answers 404 for an unknown type and 400 for bad input, like the old path', async () => {
    const { app, touched } = harness();
    expect((await app.request('/v1/saga-types/nope/sagas', postJson(validInput))).status).toBe(404);
    await expectProblem(await app.request('/v1/saga-types/demo-order/sagas', postJson('{"items": []}')), 400);
    expect(touched).toEqual([]);
  });

  it('keeps POST /v1/sagas/:type working, marked deprecated with a link to the new path', async () => {
    const { app } = recording();
    const res = await app.request('/v1/sagas/demo-order', postJson(validInput));
    expect(res.status).toBe(202);
    expect(res.headers.get('deprecation')).toMatch(/^@\d+$/);
    expect(res.headers.get('link')).toBe('</v1/saga-types/demo-order/sagas>; rel="successor-version"');
    // Its problems say so too.
    const bad = await app.request('/v1/sagas/demo-order', postJson('{'));
    expect(bad.status).toBe(400);
    expect(bad.headers.get('deprecation')).toMatch(/^@\d+$/);
  });

  it('answers 400 naming the header for an empty Idempotency-Key, and starts nothing', async () => {
    const { app, created } = recording();
    for (const [path, key] of [
      ['/v1/sagas/demo-order', ''],
      ['/v1/saga-types/demo-order/sagas', ''],
      ['/v1/saga-types/demo-order/sagas', '   '],
    ] as const) {
      const res = await app.request(path, postJson(validInput, { 'Idempotency-Key': key }));
      const body = await expectProblem(res, 400);
      expect(body.detail).toContain('Idempotency-Key');
      expect(body.errors).toEqual([{ field: 'Idempotency-Key', message: expect.stringContaining('empty') }]);
    }
    expect(created).toEqual([]);
  });
});

describe('415: bodies are JSON', () => {
  // Bytes, so that a request without a type gets none (a string body would be text/plain).
  const send = (type: string | null, body: string) => ({
    method: 'POST',
    body: new TextEncoder().encode(body),
    headers: type === null ? {} : { 'Content-Type': type },
  });

  it('start refuses a body that is not JSON (text/plain was accepted), naming the expected type', async () => {
    const { app, created } = recording();
    for (const [path, type] of [
      ['/v1/sagas/demo-order', 'text/plain'],
      ['/v1/saga-types/demo-order/sagas', 'text/plain'],
      ['/v1/saga-types/demo-order/sagas', 'application/x-www-form-urlencoded'],
      ['/v1/saga-types/demo-order/sagas', null],
    ] as const) {
      const body = await expectProblem(await app.request(path, send(type, validInput)), 415);
      expect(body.title, `${path} ${type}`).toBe('Unsupported Media Type');
      expect(body.detail, `${path} ${type}`).toContain('application/json');
      expect(body.detail, `${path} ${type}`).toContain(type ?? 'no Content-Type');
    }
    expect(created).toEqual([]);
  });

  it('cancel answers the same 415 as start (it was titled "HTTP 415"), naming the expected type', async () => {
    const { app, published } = recording();
    for (const type of ['text/plain', null]) {
      const body = await expectProblem(await app.request('/v1/sagas/s-1/cancel', send(type, '{}')), 415);
      expect(body.title, String(type)).toBe('Unsupported Media Type');
      expect(body.detail, String(type)).toBe(
        `send the body as application/json (or an application/*+json type); got ${type ? `Content-Type "${type}"` : 'no Content-Type'}`,
      );
    }
    expect(published).toEqual([]);
  });

  it('accepts application/json with parameters and +json types; a cancel without a body needs no type', async () => {
    const { app, published } = recording();
    for (const type of ['application/json; charset=utf-8', 'application/vnd.acme+json'])
      expect(
        (await app.request('/v1/saga-types/demo-order/sagas', send(type, validInput))).status,
        type,
      ).toBe(202);
    const cancel = await app.request('/v1/sagas/s-1/cancel', { method: 'POST' });
    expect(cancel.status).toBe(202);
    expect(published.at(-1)).toEqual({
      subject: 'evt.saga.cancel',
      data: { reason: 'cancelled by request', by: 'anonymous' },
    });
  });
});

describe('the OpenAPI document', () => {
  type Doc = {
    paths: Record<
      string,
      Record<
        string,
        {
          operationId: string;
          deprecated?: boolean;
          security?: unknown;
          description?: string;
          requestBody?: unknown;
          responses: Record<string, unknown>;
          parameters?: Array<{
            name: string;
            in: string;
            schema: Record<string, unknown>;
            style?: string;
            explode?: boolean;
          }>;
        }
      >
    >;
  };
  const doc = () => openApiDocument(harness().app) as unknown as Doc;

  it('has no two templated paths that are the same path (OpenAPI 3.1 forbids them)', () => {
    const shapes = Object.keys(doc().paths).map((p) => p.replace(/\{[^}]+\}/g, '{}'));
    expect(shapes.filter((s, i) => shapes.indexOf(s) !== i)).toEqual([]);
  });

  it('starts at one path per saga type, with its input schema; the old path is its deprecated POST', () => {
    const { paths } = doc();
    // The route template serves any type; the document has one path per registered type.
    expect(paths['/v1/saga-types/{type}/sagas']).toBeUndefined();
    const typed = paths['/v1/saga-types/demo-order/sagas']!.post!;
    expect(typed.operationId).toBe('startDemoOrder');
    expect(typed.responses['202']).toMatchObject({
      links: { GetSaga: { operationId: 'getSaga', parameters: { id: '$response.body#/sagaId' } } },
    });
    const key = typed.parameters!.find((p) => p.name === 'idempotency-key')!;
    expect(key.schema).toMatchObject({ pattern: '^[\\x21-\\x7e]{1,255}$' });
    const version = typed.parameters!.find((p) => p.name === 'schema-version')!;
    expect(version.schema).toMatchObject({ enum: ['1'] });
    expect(
      Object.keys(paths).filter((p) => p.startsWith('/v1/sagas/') && !p.startsWith('/v1/sagas/{id}')),
    ).toEqual([]);
    expect(paths['/v1/sagas/{id}']!.post).toMatchObject({
      operationId: 'startSagaAtOldPath',
      deprecated: true,
    });
  });

  it('names its server relative to where it is fetched, and its license (linters ask for both)', () => {
    const d = openApiDocument(harness().app) as unknown as {
      servers: Array<{ url: string }>;
      info: { license: { name: string } };
    };
    expect(d.servers).toEqual([expect.objectContaining({ url: '/' })]);
    expect(d.info.license.name).toBe('Apache-2.0');
  });

  it('documents 415 on every operation that reads a body', () => {
    const withBody = Object.values(doc().paths)
      .flatMap((ops) => Object.values(ops))
      .filter((op) => op.requestBody);
    expect(withBody.map((op) => op.operationId).sort()).toEqual([
      'cancelSaga',
      'signalSaga',
      'startDemoOrder',
      'startSagaAtOldPath',
    ]);
    for (const op of withBody) expect(Object.keys(op.responses), op.operationId).toContain('415');
  });

  it('serves the document without security requirements when auth is off, and with them when on', async () => {
    const served = async (auth: ApiDeps['auth']) =>
      (await (await harness({}, auth).app.request('/openapi.json')).json()) as Doc & { security?: unknown };
    const off = await served({ mode: 'off' });
    expect(off.security).toBeUndefined();
    expect(Object.values(off.paths).flatMap((ops) => Object.values(ops).map((op) => op.security))).toEqual(
      Object.values(off.paths).flatMap((ops) => Object.values(ops).map(() => undefined)),
    );
    const on = await served({
      mode: 'tokens',
      tokens: [{ name: 't', token: 'a'.repeat(16), scope: 'read' }],
    });
    expect(on.security).toEqual([{ bearerAuth: [] }]);
    expect(on.paths['/v1/sagas']!.get!.security).toEqual([{ bearerAuth: ['read'] }]);
  });

  it('bounds the version path parameter and lists the statuses the list filter accepts', () => {
    const { paths } = doc();
    const version = paths['/v1/saga-types/{type}/versions/{version}/definition']!.get!.parameters!.find(
      (p) => p.name === 'version',
    )!;
    expect(version.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
    const cursor = paths['/v1/sagas']!.get!.parameters!.find((p) => p.name === 'cursor')!;
    expect(cursor.schema).toMatchObject({ pattern: '^[0-9]{1,15}\\.[A-Za-z0-9_-]{1,384}$' });
    const status = paths['/v1/sagas']!.get!.parameters!.find((p) => p.name === 'status')!;
    expect(status).toMatchObject({ style: 'form', explode: false });
    expect(status.schema).toMatchObject({
      type: 'array',
      minItems: 1,
      items: { $ref: '#/components/schemas/SagaStatus' },
    });
  });
});

describe('start headers', () => {
  const requestWith = (headers: Record<string, string>) =>
    new HonoRequest(new Request('http://api.test/v1/sagas/demo-order', { headers }));

  it('passes a valid traceparent through and drops a malformed one', () => {
    const valid = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(readTraceparent(requestWith({ traceparent: valid }))).toBe(valid);
    expect(readTraceparent(requestWith({ traceparent: '01-nothex-00f067aa0ba902b7-01' }))).toBeUndefined();
    const zeroTrace = `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`;
    expect(readTraceparent(requestWith({ traceparent: zeroTrace }))).toBeUndefined();
    expect(readTraceparent(requestWith({}))).toBeUndefined();
  });

  it('reads X-Correlation-Id, leaving it undefined when absent so the saga id is used', () => {
    expect(readCorrelationId(requestWith({ 'X-Correlation-Id': 'order-42' }))).toBe('order-42');
    expect(readCorrelationId(requestWith({}))).toBeUndefined();
    expect(() => readCorrelationId(requestWith({ 'X-Correlation-Id': 'x'.repeat(201) }))).toThrow(
      ValidationError,
    );
  });
});

describe('GET /v1/sagas', () => {
  it('answers 400 naming the query parameter for an out-of-range limit or unknown status', async () => {
    const { app, touched } = harness();
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=ten', 'limit'],
      ['status=sleeping', 'status'],
      ['status=', 'status'],
    ] as const) {
      const body = await expectProblem(await app.request(`/v1/sagas?${query}`), 400);
      expect(body.detail).toContain(field);
      expect(body.errors).toEqual([expect.objectContaining({ field })]);
    }
    expect(touched).toEqual([]);
  });
});

describe('GET /v1/saga-types', () => {
  it('lists registered types with their versions and the newest one', async () => {
    const { app } = harness();
    const res = await app.request('/v1/saga-types');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      items: [{ type: 'demo-order', versions: [1], latest: 1, description: null }],
    });
  });
});

describe('routing errors', () => {
  it('answers an unknown route with a 404 problem', async () => {
    const { app } = harness();
    const body = await expectProblem(await app.request('/v2/nothing-here'), 404);
    expect(body.instance).toBe('/v2/nothing-here');
  });

  it('answers a wrong method on a known route with a 405 problem and an Allow header', async () => {
    const { app, touched } = harness();
    const res = await app.request('/v1/sagas/abc', { method: 'DELETE' });
    await expectProblem(res, 405);
    expect(res.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'HEAD', 'POST']);
    await expectProblem(await app.request('/healthz', { method: 'PUT' }), 405);
    expect(touched).toEqual([]);
  });
});

describe('health', () => {
  it('/healthz answers ok', async () => {
    const { app } = harness({ nats: async () => false });
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz answers ready when both probes succeed', async () => {
    const { app } = harness();
    const res = await app.request('/readyz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', checks: { nats: 'ok', mongo: 'ok' } });
  });

  it('/readyz answers a 503 problem with the checks when a probe fails or throws', async () => {
    const { app } = harness({
      mongo: async () => false,
      nats: async () => {
        throw new Error('connection refused');
      },
    });
    const body = await expectProblem(await app.request('/readyz'), 503);
    expect(body.checks).toEqual({ nats: 'down', mongo: 'down' });

    const oneDown = harness({ mongo: async () => false });
    const partial = await expectProblem(await oneDown.app.request('/readyz'), 503);
    expect(partial.checks).toEqual({ nats: 'ok', mongo: 'down' });
  });

  it('counts a probe that never answers as down after its timeout', async () => {
    expect(await runProbe(() => new Promise<boolean>(() => {}), 20)).toBe('down');
  });
});

describe('request log', () => {
  it('logs method, path, status and duration at debug level', async () => {
    const { app, logs } = harness();
    await app.request('/healthz');
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 20,
        msg: 'http request',
        method: 'GET',
        path: '/healthz',
        status: 200,
        ms: expect.any(Number),
      }),
    );
  });
});

describe('toProblem', () => {
  it('maps runtime errors by class', () => {
    const invalid = toProblem(new ValidationError('bad input', [{ field: 'items', message: 'required' }]));
    expect(invalid).toMatchObject({
      status: 400,
      unexpected: false,
      fields: { errors: [{ field: 'items', message: 'required' }] },
    });
    expect(toProblem(new NotFoundError('gone')).status).toBe(404);
    expect(toProblem(new ConflictError('twice')).status).toBe(409);
    expect(toProblem(new TransientError('store away'))).toMatchObject({
      status: 503,
      headers: { 'Retry-After': '1' },
    });
  });

  it("names the expected type in the OpenAPI layer's bare 415", () => {
    const mapped = toProblem(new HTTPException(415, { message: 'Unsupported Media Type' }));
    expect(mapped).toMatchObject({
      status: 415,
      fields: { title: 'Unsupported Media Type', detail: expect.stringContaining('application/json') },
    });
  });

  it('hides the message of anything else behind a generic 500', () => {
    const mapped = toProblem(new Error('password=hunter2'));
    expect(mapped).toMatchObject({ status: 500, unexpected: true });
    expect(mapped.fields.detail).not.toContain('hunter2');
  });
});

describe('sagaInspectorView', () => {
  const at = new Date('2025-01-01T00:00:00.000Z');
  const saga = (endedAt: Date | null): SagaDoc => ({
    _id: 's-2',
    type: 'demo-order',
    version: 1,
    status: endedAt ? 'completed' : 'running',
    state: endedAt ? 'done' : 'waiting',
    context: {},
    snapshot: {},
    input: {},
    rev: 1,
    outbox: {},
    inbox: [],
    timers: {},
    nextWakeAt: null,
    correlationId: 'corr-2',
    createdAt: at,
    updatedAt: endedAt ?? at,
    endedAt,
  });

  it('says when an ended saga expires under a retention period, and nothing while it runs or is kept for ever', () => {
    const ended = new Date('2025-01-01T00:00:02.000Z');
    expect(sagaInspectorView(saga(ended), [], 60_000).expiresAt).toBe('2025-01-01T00:01:02.000Z');
    expect(sagaInspectorView(saga(ended), [], 0).expiresAt).toBeNull();
    expect(sagaInspectorView(saga(null), [], 60_000).expiresAt).toBeNull();
  });

  it('shows dates as ISO strings, pending outbox and timers, and the duration once ended', () => {
    const createdAt = new Date('2025-01-01T00:00:00.000Z');
    const endedAt = new Date('2025-01-01T00:00:01.500Z');
    const doc: SagaDoc = {
      _id: 's-1',
      type: 'demo-order',
      version: 1,
      status: 'completed',
      state: 'done',
      context: { n: 1 },
      snapshot: {},
      input: { customerId: 'c-1' },
      rev: 2,
      outbox: {
        'm-1': {
          msgId: 'm-1',
          subject: 'cmd.x.y',
          createdAt,
          envelope: {
            id: 'm-1',
            type: 'x.y',
            schemaVersion: 1,
            occurredAt: createdAt.toISOString(),
            sagaId: 's-1',
            sagaType: 'demo-order',
            correlationId: 'c',
            causationId: null,
            data: {},
          },
        },
      },
      inbox: [],
      timers: { t: { id: 't', event: { type: 'tick' }, dueAt: endedAt } },
      nextWakeAt: endedAt,
      correlationId: 'corr-1',
      createdAt,
      updatedAt: endedAt,
      endedAt,
      reason: null,
      error: null,
    };
    const view = sagaInspectorView(doc, [
      {
        sagaId: 's-1',
        rev: 1,
        event: { id: 'e-1', type: 'demo.done', data: {} },
        from: 'waiting',
        to: 'done',
        status: 'completed',
        commands: [],
        timers: { set: [{ id: 't', dueAt: endedAt }], cancelled: [] },
        at: endedAt,
      },
    ]);
    expect(view).toMatchObject({
      sagaId: 's-1',
      createdAt: '2025-01-01T00:00:00.000Z',
      endedAt: '2025-01-01T00:00:01.500Z',
      durationMs: 1500,
      pendingOutbox: [{ msgId: 'm-1', subject: 'cmd.x.y', type: 'x.y' }],
      timers: [{ id: 't', dueAt: '2025-01-01T00:00:01.500Z' }],
      history: [
        { rev: 1, at: '2025-01-01T00:00:01.500Z', timers: { set: [{ dueAt: '2025-01-01T00:00:01.500Z' }] } },
      ],
    });
  });
});
