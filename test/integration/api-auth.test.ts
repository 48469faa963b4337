import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../runtime/config.ts';
import { ValidationError } from '../../runtime/errors.ts';
import { startNode } from '../../runtime/node.ts';
import { appForTests } from '../dist.ts';
import { order, startTestNode, type TestNode } from '../harness.ts';

const readToken = 'read-token-0123456789abcdef';
const writeToken = 'write-token-0123456789abcdef';

describe('API auth', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({
      roles: [{ kind: 'api' }],
      config: {
        auth: 'tokens',
        apiTokens: [
          { token: readToken, scope: 'read' },
          { token: writeToken, scope: 'write' },
        ],
        corsOrigins: ['https://ops.example.com'],
      },
    });
  });
  afterAll(async () => {
    await node?.destroy();
  });

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  async function expectProblem(res: Response, status: number) {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = (await res.json()) as { status: number; detail: string };
    expect(body.status).toBe(status);
    return body;
  }

  it('answers 401 without a token, or with a wrong or malformed one', async () => {
    const missing = await node.fetch('/v1/sagas');
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    expect((await expectProblem(missing, 401)).detail).toContain('Authorization: Bearer');
    await expectProblem(await node.fetch('/v1/sagas', { headers: bearer('not-a-real-token-at-all') }), 401);
    await expectProblem(
      await node.fetch('/v1/sagas', { headers: { Authorization: `Basic ${readToken}` } }),
      401,
    );
    await expectProblem(await node.post('/v1/sagas/order-fulfillment', order()), 401);
    await expectProblem(await node.fetch('/v1/dlq'), 401);
  });

  it('answers 403 to a read token on a write route, and lets it read', async () => {
    const denied = await node.post('/v1/sagas/order-fulfillment', order(), bearer(readToken));
    expect((await expectProblem(denied, 403)).detail).toContain('write');
    expect(denied.headers.get('www-authenticate')).toContain('insufficient_scope');
    await expectProblem(await node.post('/v1/sagas/some-id/cancel', {}, bearer(readToken)), 403);
    await expectProblem(await node.fetch('/v1/dlq/1', { method: 'DELETE', headers: bearer(readToken) }), 403);
    expect((await node.fetch('/v1/sagas', { headers: bearer(readToken) })).status).toBe(200);
    expect((await node.fetch('/v1/saga-types', { headers: bearer(readToken) })).status).toBe(200);
  });

  it('lets a write token start sagas and read them', async () => {
    const res = await node.post('/v1/sagas/order-fulfillment', order(), bearer(writeToken));
    expect(res.status).toBe(202);
    const { sagaId } = (await res.json()) as { sagaId: string };
    expect((await node.fetch(`/v1/sagas/${sagaId}`, { headers: bearer(writeToken) })).status).toBe(200);
  });

  it('keeps probes, metrics, the document and the pages open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/ui', '/ui/app.js', '/docs'])
      expect((await node.fetch(path)).status, path).toBe(200);
    const doc = (await (await node.fetch('/openapi.json')).json()) as {
      components: { securitySchemes: Record<string, unknown> };
      paths: Record<string, Record<string, { security?: unknown }>>;
    };
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/v1/sagas']!.get!.security).toEqual([{ bearerAuth: ['read'] }]);
    expect(doc.paths['/v1/sagas/{id}/cancel']!.post!.security).toEqual([{ bearerAuth: ['write'] }]);
    expect(doc.paths['/healthz']!.get!.security).toEqual([]);
  });

  it('answers CORS preflights for the configured origin only, before auth', async () => {
    const preflight = await node.fetch('/v1/sagas/order-fulfillment', {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://ops.example.com',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization, content-type, idempotency-key',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://ops.example.com');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('idempotency-key');
    const other = await node.fetch('/v1/sagas', {
      headers: { Origin: 'https://evil.example', ...bearer(readToken) },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses to start an api role with auth on and no token, naming both settings', async () => {
    const config = defaultConfig({
      natsUrl: 'nats://127.0.0.1:1',
      mongoUrl: 'mongodb://127.0.0.1:1',
      httpPort: 0,
    });
    const attempt = startNode(config, appForTests, [{ kind: 'api' }]);
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toThrow(/JETSAGA_API_TOKENS[\s\S]*JETSAGA_AUTH=off/);
  });
});
