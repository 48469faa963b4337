import { describe, expect, it } from 'vitest';
import { type Config, defaultConfig } from '../../runtime/config.ts';
import { ValidationError } from '../../runtime/errors.ts';
import type { ApiTokenEntry } from '../../runtime/http/auth.ts';
import { startNode } from '../../runtime/node.ts';
import { defineParticipant } from '../../runtime/participants/index.ts';
import { appForTests } from '../dist.ts';
import { order, useTestNode } from '../harness.ts';

const readToken = 'read-token-0123456789abcdef';
const writeToken = 'write-token-0123456789abcdef';
const adminToken = 'admin-token-0123456789abcdef';

/**
 * Named tokens and the admin scope, as `ci-bot:<token>:write` and `oncall:<token>:admin`
 * in JETSAGA_API_TOKENS. The config's own token type predates both, hence the cast;
 * `authSettings` takes them.
 */
const tokens = (entries: ApiTokenEntry[]) => entries as unknown as Config['apiTokens'];

describe('API auth', () => {
  const node = useTestNode({
    roles: [{ kind: 'api' }],
    config: {
      auth: 'tokens',
      apiTokens: tokens([
        { token: readToken, scope: 'read' },
        { name: 'ci-bot', token: writeToken, scope: 'write' },
        { name: 'oncall', token: adminToken, scope: 'admin' },
      ]),
      corsOrigins: ['https://ops.example.com'],
    },
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
    const missing = await node().fetch('/v1/sagas');
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    expect((await expectProblem(missing, 401)).detail).toContain('Authorization: Bearer');
    await expectProblem(await node().fetch('/v1/sagas', { headers: bearer('not-a-real-token-at-all') }), 401);
    await expectProblem(
      await node().fetch('/v1/sagas', { headers: { Authorization: `Basic ${readToken}` } }),
      401,
    );
    await expectProblem(await node().post('/v1/saga-types/order-fulfillment/sagas', order()), 401);
    await expectProblem(await node().post('/v1/saga-types/order-fulfillment/sagas', order()), 401);
    await expectProblem(await node().fetch('/v1/dlq'), 401);
  });

  it('answers 403 to a read token on a write route, and lets it read', async () => {
    const denied = await node().post('/v1/saga-types/order-fulfillment/sagas', order(), bearer(readToken));
    expect((await expectProblem(denied, 403)).detail).toContain('write');
    expect(denied.headers.get('www-authenticate')).toContain('insufficient_scope');
    await expectProblem(await node().post('/v1/sagas/some-id/cancel', {}, bearer(readToken)), 403);
    await expectProblem(
      await node().fetch('/v1/dlq/1', { method: 'DELETE', headers: bearer(readToken) }),
      403,
    );
    expect((await node().fetch('/v1/sagas', { headers: bearer(readToken) })).status).toBe(200);
    expect((await node().fetch('/v1/saga-types', { headers: bearer(readToken) })).status).toBe(200);
  });

  it('lets a write token start sagas and read them', async () => {
    const res = await node().post('/v1/saga-types/order-fulfillment/sagas', order(), bearer(writeToken));
    expect(res.status).toBe(202);
    const { sagaId } = (await res.json()) as { sagaId: string };
    expect((await node().fetch(`/v1/sagas/${sagaId}`, { headers: bearer(writeToken) })).status).toBe(200);
    // The deprecated path needs the same scope.
    await expectProblem(
      await node().post('/v1/saga-types/order-fulfillment/sagas', order(), bearer(readToken)),
      403,
    );
    expect(
      (await node().post('/v1/saga-types/order-fulfillment/sagas', order(), bearer(writeToken))).status,
    ).toBe(202);
  });

  it('keeps replaying and deleting dead letters to admin tokens: 403 to a write token, naming the scope', async () => {
    for (const [method, path] of [
      ['POST', '/v1/dlq/999999/replay'],
      ['DELETE', '/v1/dlq/999999'],
    ] as const) {
      const denied = await node().fetch(path, { method, headers: bearer(writeToken) });
      const body = (await expectProblem(denied, 403)) as unknown as { detail: string; requiredScope: string };
      expect(body.detail).toContain('needs a token with the admin scope; token ci-bot has the write scope');
      expect(body.requiredScope).toBe('admin');
      expect(denied.headers.get('www-authenticate')).toBe(
        'Bearer realm="jetsaga", error="insufficient_scope", scope="admin"',
      );
      // Admin passes auth: there is no such dead letter.
      await expectProblem(await node().fetch(path, { method, headers: bearer(adminToken) }), 404);
    }
    // Admin implies write and read.
    expect((await node().fetch('/v1/dlq', { headers: bearer(adminToken) })).status).toBe(200);
    expect((await node().post('/v1/sagas/some-id/cancel', {}, bearer(adminToken))).status).toBe(404);
  });

  it('keeps probes, metrics, the document and the pages open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/ui', '/ui/app.js', '/docs'])
      expect((await node().fetch(path)).status, path).toBe(200);
    const doc = (await (await node().fetch('/openapi.json')).json()) as {
      components: { securitySchemes: Record<string, unknown> };
      paths: Record<string, Record<string, { security?: unknown; 'x-required-scope'?: string }>>;
    };
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/v1/sagas']!.get!.security).toEqual([{ bearerAuth: ['read'] }]);
    expect(doc.paths['/v1/sagas/{id}/cancel']!.post!.security).toEqual([{ bearerAuth: ['write'] }]);
    expect(doc.paths['/v1/saga-types/order-fulfillment/sagas']!.post!.security).toEqual([
      { bearerAuth: ['write'] },
    ]);
    expect(doc.paths['/v1/dlq/{id}/replay']!.post!).toMatchObject({
      security: [{ bearerAuth: ['admin'] }],
      'x-required-scope': 'admin',
    });
    expect(doc.paths['/v1/dlq/{id}']!.delete!.security).toEqual([{ bearerAuth: ['admin'] }]);
    expect(doc.paths['/healthz']!.get!.security).toEqual([]);
  });

  it('answers CORS preflights for the configured origin only, before auth', async () => {
    const preflight = await node().fetch('/v1/saga-types/order-fulfillment/sagas', {
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
    // A start may name the version of its input (README, Schema evolution).
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('schema-version');
    const other = await node().fetch('/v1/sagas', {
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

/** Shipping that never answers for country ZZ, so a saga waits for a cancel. */
const shipping = appForTests.participants.shipping!;
const createShipment = shipping.commands['create-shipment']!;
const holding = defineParticipant({
  name: 'shipping',
  commands: {
    ...shipping.commands,
    'create-shipment': {
      handle: (data, ctx) =>
        (data as { address?: { country?: string } }).address?.country === 'ZZ'
          ? new Promise(() => undefined)
          : createShipment.handle(data, ctx),
    },
  },
});

describe('API auth: who did it', () => {
  const node = useTestNode({
    dist: { ...appForTests, participants: { ...appForTests.participants, shipping: holding } },
    config: {
      auth: 'tokens',
      ackWaitMs: 60_000,
      shutdownTimeoutMs: 500,
      apiTokens: tokens([
        { token: readToken, scope: 'read' },
        { name: 'ci-bot', token: writeToken, scope: 'write' },
        { name: 'oncall', token: adminToken, scope: 'admin' },
      ]),
    },
  });

  it("records the start's and the cancel's token names in the saga's history", async () => {
    const held = order({ shippingAddress: { ...order().shippingAddress, country: 'ZZ' } });
    const res = await node().post('/v1/saga-types/order-fulfillment/sagas', held, {
      Authorization: `Bearer ${writeToken}`,
    });
    expect(res.status).toBe(202);
    const { sagaId } = (await res.json()) as { sagaId: string };
    await node().waitFor(sagaId, (d) => d.state === 'creatingShipment');
    const cancel = await node().post(
      `/v1/sagas/${sagaId}/cancel`,
      { reason: 'wrong address' },
      { Authorization: `Bearer ${adminToken}` },
    );
    expect(cancel.status).toBe(202);
    await node().waitForTerminal(sagaId);
    const history = (await (
      await node().fetch(`/v1/sagas/${sagaId}/history`, { headers: { Authorization: `Bearer ${readToken}` } })
    ).json()) as Array<{ event: { type: string; data: unknown } }>;
    expect(history.find((h) => h.event.type === 'saga.started')!.event.data).toEqual({ by: 'ci-bot' });
    expect(history.find((h) => h.event.type === 'saga.cancel')!.event.data).toEqual({
      reason: 'wrong address',
      by: 'oncall',
    });
  });
});
