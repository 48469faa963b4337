import { beforeAll, describe, expect, it } from 'vitest';
import { operationScopes, requiredScope } from '../../runtime/http/auth.ts';
import { order, useTestNode, waitUntil } from '../harness.ts';
import { readSse, SpecValidator } from './api-support.ts';

/** Every route is documented, and what the API really answers matches the document. */
describe('OpenAPI document', () => {
  const node = useTestNode({ config: { maxDeliver: 2, retryBaseMs: 20, retryMaxMs: 40 } });
  let spec: SpecValidator;
  const json = { 'content-type': 'application/json' };

  beforeAll(async () => {
    const res = await node().fetch('/openapi.json');
    expect(res.status).toBe(200);
    spec = new SpecValidator((await res.json()) as ConstructorParameters<typeof SpecValidator>[0]);
  });

  it('is OpenAPI 3.1 and documents every route the app serves', async () => {
    expect(spec.doc).toMatchObject({ openapi: '3.1.0', info: { title: 'jetsaga API' } });
    const { createApp } = await import('../../runtime/http/index.ts');
    const app = createApp({
      store: node().store,
      bus: node().bus,
      registry: (await import('../dist.ts')).appForTests.registry,
      log: node().log,
      auth: { mode: 'off' },
      probes: { nats: async () => true, mongo: async () => true },
    });
    const routes = app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}`);
    // Compared as templates: the old start route names its parameter {type}, the document {id}.
    const shape = (route: string) => route.replace(/\{[^}]+\}/g, '{}');
    const documented = Object.entries(spec.doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => shape(`${m.toUpperCase()} ${path}`)),
    );
    expect(routes.length).toBeGreaterThan(15);
    // The start route of any type is documented once per registered type (its body's schema
    // depends on the type, which one templated path cannot say).
    const perType = 'POST /v1/saga-types/{type}/sagas';
    expect(routes).toContain(perType);
    for (const route of routes.filter((r) => r !== perType)) expect(documented).toContain(shape(route));
    for (const type of (await import('../dist.ts')).appForTests.registry.types())
      expect(documented).toContain(`POST /v1/saga-types/${type}/sagas`);
    // A start's answer links to the saga's operations and to the signals its type declares.
    expect(
      (
        spec.doc.paths['/v1/saga-types/order-fulfillment/sagas'] as unknown as {
          post: { responses: { 202: { links: Record<string, { operationId: string }> } } };
        }
      ).post.responses[202].links,
    ).toMatchObject({
      GetSaga: { operationId: 'getSaga' },
      SignalApproveReview: { operationId: 'signalApproveReview' },
      SignalRejectReview: { operationId: 'signalRejectReview' },
    });
    // The old start path is the deprecated POST of /v1/sagas/{id}.
    expect(routes).toContain('POST /v1/sagas/{type}');
    expect(spec.doc.paths['/v1/sagas/{id}']).toMatchObject({
      post: { deprecated: true, operationId: 'startSagaAtOldPath' },
    });
    // One typed start path per registered saga type, with that type's input schema.
    const typed = spec.doc.paths['/v1/saga-types/order-fulfillment/sagas'] as unknown as {
      post: {
        requestBody: { content: { 'application/json': { schema: { properties: Record<string, unknown> } } } };
      };
    };
    expect(Object.keys(typed.post.requestBody.content['application/json'].schema.properties)).toContain(
      'items',
    );
  });

  type Operation = {
    operationId: string;
    security?: Array<Record<string, string[]>>;
    'x-required-scope'?: string;
    requestBody?: unknown;
    responses: Record<string, unknown>;
  };
  const operations = () =>
    Object.entries(spec.doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops as Record<string, Operation>).map(([method, op]) => ({ path, method, op })),
    );

  it('has no two templated paths that are the same path', () => {
    // OpenAPI 3.1: templated paths with the same hierarchy but different parameter names are identical.
    const shapes = Object.keys(spec.doc.paths).map((p) => p.replace(/\{[^}]+\}/g, '{}'));
    expect(shapes.filter((shape, i) => shapes.indexOf(shape) !== i)).toEqual([]);
  });

  it('gives every operation security with its scope from the scope table, or none for open ones', async () => {
    // As a server with auth on serves it (and `jetsaga openapi` prints it); this node runs with auth off.
    const { openApiDocumentFor } = await import('../../runtime/http/index.ts');
    const withAuth = openApiDocumentFor(
      (await import('../dist.ts')).appForTests.registry,
      node().log,
    ) as unknown as {
      paths: Record<string, Record<string, Operation>>;
    };
    const open = [
      'health',
      'ready',
      'metrics',
      'openapi',
      'inspector',
      'home',
      'inspectorAsset',
      'apiDocs',
      'apiDocsAsset',
    ];
    const operationsWithAuth = Object.entries(withAuth.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ path, method, op })),
    );
    for (const { path, method, op } of operationsWithAuth) {
      const what = `${method.toUpperCase()} ${path}`;
      expect(op.security, what).toBeDefined();
      if (open.includes(op.operationId)) {
        expect(op.security, what).toEqual([]);
        continue;
      }
      // Typed start paths are startSaga for one type, typed signal paths signalSaga for one signal.
      const scope = requiredScope(
        /^start[A-Z]/.test(op.operationId)
          ? 'startSaga'
          : /^signal[A-Z]/.test(op.operationId)
            ? 'signalSaga'
            : op.operationId,
      );
      expect(op.security, what).toEqual([{ bearerAuth: [scope] }]);
      expect(op['x-required-scope'], what).toBe(scope);
    }
    const ids = operationsWithAuth.map((o) => o.op.operationId);
    for (const id of Object.keys(operationScopes).filter((id) => id !== 'startSaga'))
      expect(ids).toContain(id);
    // Served with auth off, the document asks for no token anywhere: a client expects no 401.
    expect(spec.doc).not.toHaveProperty('security');
    for (const { path, method, op } of operations())
      expect(op.security, `${method.toUpperCase()} ${path}`).toBeUndefined();
  });

  it('documents 415 wherever a body is read', () => {
    const withBody = operations().filter((o) => o.op.requestBody);
    expect(withBody.length).toBeGreaterThanOrEqual(3);
    for (const { path, method, op } of withBody)
      expect(Object.keys(op.responses), `${method.toUpperCase()} ${path}`).toContain('415');
  });

  it('`jetsaga openapi` prints the same document without servers', async () => {
    const { execFile } = await import('node:child_process');
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', 'bin/jetsaga.ts', 'openapi'],
        { env: { PATH: process.env.PATH, HOME: process.env.HOME }, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );
    const printed = JSON.parse(out) as typeof spec.doc;
    expect(Object.keys(printed.paths).sort()).toEqual(Object.keys(spec.doc.paths).sort());
    expect(printed.components).toEqual(spec.doc.components);
  });

  it('the answers of every route validate against the document', async () => {
    const base = node().api!.url;
    const call = (method: string, path: string, init: RequestInit = {}) =>
      spec.call(base, method, path, init);

    await call('GET', '/healthz');
    await call('GET', '/readyz');
    const metrics = await call('GET', '/metrics');
    expect(metrics.res.headers.get('content-type')).toContain('text/plain');
    await call('GET', '/openapi.json');
    await call('GET', '/asyncapi.json');
    expect((await call('GET', '/')).res.status).toBe(302);
    for (const page of [
      '/ui',
      '/ui/app.js',
      '/ui/app.css',
      '/ui/statechart.js',
      '/ui/dagre.js',
      '/docs',
      '/docs/init.js',
    ])
      expect((await call('GET', page)).res.status).toBe(200);
    expect((await call('GET', '/docs/swagger-ui-bundle.js')).res.status).toBe(200);

    // Sagas: start (202), idempotent retry (200), invalid (400), unknown type (404).
    const started = await call('POST', '/v1/saga-types/order-fulfillment/sagas', {
      headers: { ...json, 'Idempotency-Key': 'spec-1' },
      body: JSON.stringify(order()),
    });
    expect(started.res.status).toBe(202);
    const sagaId = (started.body as { sagaId: string }).sagaId;
    const retried = await call('POST', '/v1/saga-types/order-fulfillment/sagas', {
      headers: { ...json, 'Idempotency-Key': 'spec-1' },
      body: JSON.stringify(order()),
    });
    expect(retried.res.status).toBe(200);
    expect(
      (
        await call('POST', '/v1/saga-types/order-fulfillment/sagas', {
          headers: json,
          body: '{"items": []}',
        })
      ).res.status,
    ).toBe(400);
    // An unknown type has no path in the document: a plain 404 problem.
    const unknownType = await fetch(`${base}/v1/saga-types/no-such-type/sagas`, {
      method: 'POST',
      headers: json,
      body: '{}',
    });
    expect(unknownType.status).toBe(404);
    expect(unknownType.headers.get('content-type')).toContain('application/problem+json');
    const plain = { 'content-type': 'text/plain' };
    expect(
      (await call('POST', '/v1/saga-types/order-fulfillment/sagas', { headers: plain, body: '{}' })).res
        .status,
    ).toBe(415);
    expect(
      (
        await fetch(`${base}/v1/saga-types/no-such-type/sagas`, {
          method: 'POST',
          headers: plain,
          body: '{}',
        })
      ).status,
    ).toBe(404);
    const conflict = await call('POST', '/v1/saga-types/order-fulfillment/sagas', {
      headers: { ...json, 'Idempotency-Key': 'spec-1' },
      body: JSON.stringify(order({ customerId: 'someone-else' })),
    });
    expect(conflict.res.status).toBe(422);

    await node().waitForTerminal(sagaId);
    expect((await call('GET', `/v1/sagas/${sagaId}`)).res.status).toBe(200);
    expect((await call('GET', `/v1/sagas/${sagaId}/history`)).res.status).toBe(200);
    expect((await call('GET', `/v1/sagas/${sagaId}/replay`)).res.status).toBe(200);
    expect((await call('GET', '/v1/sagas/nope/replay')).res.status).toBe(404);
    expect((await call('GET', '/v1/sagas?limit=2&status=completed,compensated')).res.status).toBe(200);
    expect((await call('GET', '/v1/sagas?limit=0')).res.status).toBe(400);
    // A work queue: sagas in one state, oldest first, with their context.
    const queue = await call(
      'GET',
      '/v1/sagas?type=order-fulfillment&state=completed&order=oldest&include=context',
    );
    expect(queue.res.status).toBe(200);
    expect((queue.body as { items: Array<{ context?: unknown }> }).items[0]?.context).toBeDefined();
    expect((await call('GET', '/v1/sagas?order=sideways')).res.status).toBe(400);
    expect((await call('GET', '/v1/session')).body).toEqual({
      caller: 'anonymous',
      scope: 'admin',
      auth: 'off',
    });
    expect((await call('GET', '/v1/sagas/nope')).res.status).toBe(404);
    expect((await call('GET', '/v1/sagas/nope/history')).res.status).toBe(404);
    expect((await call('GET', '/v1/sagas/nope/events')).res.status).toBe(404);
    expect((await call('POST', `/v1/sagas/${sagaId}/cancel`, { headers: json, body: '{}' })).res.status).toBe(
      409,
    );
    expect((await call('POST', '/v1/sagas/nope/cancel', { headers: json, body: '{}' })).res.status).toBe(404);
    // The old start path, documented as the deprecated POST of /v1/sagas/{id}.
    const old = await call('POST', '/v1/sagas/order-fulfillment', {
      headers: json,
      body: JSON.stringify(order({ customerId: 'old-path' })),
    });
    expect(old.res.status).toBe(202);
    expect(old.res.headers.get('deprecation')).toMatch(/^@\d+$/);
    const cancel415 = await call('POST', `/v1/sagas/${sagaId}/cancel`, { headers: plain, body: '{}' });
    expect(cancel415.res.status).toBe(415);
    expect(cancel415.body).toMatchObject({ title: 'Unsupported Media Type' });
    // Signals and resume: the order saga declares no signal `approve` (404), and has ended (409).
    const noSignal = await call('POST', `/v1/sagas/${sagaId}/signals/approve`, { headers: json, body: '{}' });
    expect(noSignal.res.status).toBe(404);
    const ended = await call('POST', `/v1/sagas/${sagaId}/signals/approve-review`, {
      headers: json,
      body: JSON.stringify({ note: 'too late' }),
    });
    expect(ended.res.status).toBe(409);
    const rejectBad = await call('POST', `/v1/sagas/${sagaId}/signals/reject-review`, {
      headers: json,
      body: JSON.stringify({ note: 7 }),
    });
    expect(rejectBad.res.status).toBe(400);
    // The restock saga's signals: an order does not declare them.
    for (const name of ['approve-restock', 'reject-restock']) {
      const other = await call('POST', `/v1/sagas/${sagaId}/signals/${name}`, {
        headers: json,
        body: JSON.stringify({ note: 'not an order signal' }),
      });
      expect(other.res.status).toBe(404);
    }
    expect((await call('POST', `/v1/sagas/${sagaId}/resume`)).res.status).toBe(409);
    expect((await call('POST', '/v1/sagas/nope/resume')).res.status).toBe(404);
    expect((await call('GET', '/v1/saga-types')).res.status).toBe(200);
    expect((await call('GET', '/v1/saga-types/order-fulfillment/versions/1/definition')).res.status).toBe(
      200,
    );
    expect((await call('GET', '/v1/saga-types/order-fulfillment/versions/99/definition')).res.status).toBe(
      404,
    );

    // The event stream's events carry the documented shapes.
    const { res, events } = await readSse(`${base}/v1/sagas/${sagaId}/events`, {}, (e) => e.event === 'end');
    // The stream's documented schema is one event's fields, as an SSE client parses them.
    for (const e of events)
      spec.validate('GET', `/v1/sagas/${sagaId}/events`, res.status, res.headers.get('content-type')!, {
        event: e.event,
        data: JSON.stringify(e.data),
        ...(e.id === null ? {} : { id: e.id }),
      });
    const shapes: Record<string, string> = {
      transition: 'SagaTransition',
      saga: 'SagaSummary',
      end: 'SagaSummary',
    };
    for (const e of events) spec.validateSchema(spec.component(shapes[e.event]!), e.data, `SSE ${e.event}`);

    // Dead letters: list, replay, delete, and their problems.
    await node().bus.js.publish(`${node().bus.topo.namespace}.cmd.inventory.reserve`, 'not json', {
      msgID: 'spec-poison-1',
    });
    await node().bus.js.publish(`${node().bus.topo.namespace}.cmd.inventory.reserve`, 'not json', {
      msgID: 'spec-poison-2',
    });
    const letters = await waitUntil(
      async () => {
        const { items } = (await call('GET', '/v1/dlq?consumer=svc-inventory')).body as {
          items: Array<{ id: string }>;
        };
        return items.length >= 2 ? items : null;
      },
      'two dead letters of svc-inventory',
      10_000,
      50,
    );
    expect(letters.length).toBe(2);
    expect((await call('GET', '/v1/overview?window=1h')).res.status).toBe(200);
    expect((await call('GET', '/v1/overview?window=2d')).res.status).toBe(400);
    expect((await call('GET', '/v1/dlq?limit=1')).res.status).toBe(200);
    expect((await call('GET', '/v1/dlq?consumer=has spaces')).res.status).toBe(400);
    expect((await call('POST', `/v1/dlq/${letters[0]!.id}/replay`)).res.status).toBe(200);
    expect((await call('POST', `/v1/dlq/${letters[0]!.id}/replay`)).res.status).toBe(404);
    expect((await call('DELETE', `/v1/dlq/${letters[1]!.id}`)).res.status).toBe(204);
    expect((await call('DELETE', `/v1/dlq/${letters[1]!.id}`)).res.status).toBe(404);
    expect((await call('DELETE', '/v1/dlq/abc')).res.status).toBe(400);

    // The validator does reject what the document does not allow.
    expect(() => spec.validateSchema(spec.component('SagaSummary'), { sagaId: 1 }, 'guard')).toThrow(
      /does not match/,
    );
    expect(spec.checked.length).toBeGreaterThan(35);

    // Everything the API documents was exercised at least once.
    const exercised = new Set(spec.checked.map((c) => c.split(' ').slice(0, 2).join(' ')));
    const documented = Object.entries(spec.doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    // Of the typed start paths, the order saga's stands for the others.
    const otherTyped = (d: string) =>
      /^POST \/v1\/saga-types\/[a-z-]+\/sagas$/.test(d) &&
      d !== 'POST /v1/saga-types/order-fulfillment/sagas';
    const missed = documented.filter((d) => !exercised.has(d) && !otherTyped(d));
    expect(missed).toEqual([]);
  });
});
