import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { ValidationError } from '../errors.ts';
import type { Bus } from '../messaging/index.ts';
import { SagaRegistry } from '../orchestrator/index.ts';
import type { SagaStore } from '../store/index.ts';
import { createApp, openApiDocument } from './app.ts';
import {
  type ApiScope,
  apiScopes,
  type AuthSettings,
  authSettings,
  operationScopes,
  parseApiTokens,
  requiredScope,
} from './auth.ts';

const read = 'r'.repeat(20);
const write = 'w'.repeat(20);
const admin = 'a'.repeat(20);

function app(auth?: AuthSettings, logs?: Array<Record<string, unknown>>) {
  const { config } = loadConfig([], { JETSAGA_API_TOKENS: `${read}:read, ${write}:write` });
  return createApp({
    store: {} as SagaStore,
    bus: {} as Bus,
    registry: new SagaRegistry(),
    log: logs
      ? pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line)) })
      : pino({ level: 'silent' }),
    auth: auth ?? authSettings(config),
    probes: { nats: async () => true, mongo: async () => true },
  });
}

/** One token per scope, named after its scope. */
const threeScopes: AuthSettings = {
  mode: 'tokens',
  tokens: [
    { name: 'reader', token: read, scope: 'read' },
    { name: 'writer', token: write, scope: 'write' },
    { name: 'operator', token: admin, scope: 'admin' },
  ],
};
const tokenOf: Record<ApiScope, string> = { read, write, admin };
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('auth settings', () => {
  it('reads tokens with their scopes and never echoes a token in an error', () => {
    const { config } = loadConfig([], { JETSAGA_API_TOKENS: `${read}:read,${write}:write` });
    expect(config.apiTokens).toEqual([
      { name: 'token-1', token: read, scope: 'read' },
      { name: 'token-2', token: write, scope: 'write' },
    ]);
    try {
      loadConfig([], { JETSAGA_API_TOKENS: `${read}:reader,short:read` });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      const message = (err as Error).message;
      expect(message).toContain('--api-tokens / JETSAGA_API_TOKENS');
      expect(message).toMatch(/entry 1: end it with :read(,| or) :write/);
      expect(message).toContain('entry 2: a token needs at least 16 characters');
      expect(message).not.toContain(read);
    }
  });

  it('refuses the silent default and names both settings; off only when said', () => {
    const { config } = loadConfig([], {});
    expect(() => authSettings(config)).toThrow(/JETSAGA_API_TOKENS.*JETSAGA_AUTH=off/);
    expect(authSettings(loadConfig([], { JETSAGA_AUTH: 'off' }).config)).toEqual({ mode: 'off' });
    expect(() => loadConfig([], { JETSAGA_AUTH: 'none' })).toThrow(/JETSAGA_AUTH/);
  });

  it('names unnamed tokens token-<n> by their position', () => {
    const { config } = loadConfig([], { JETSAGA_API_TOKENS: `${read}:read,${write}:write` });
    expect(authSettings(config)).toEqual({
      mode: 'tokens',
      tokens: [
        { name: 'token-1', token: read, scope: 'read' },
        { name: 'token-2', token: write, scope: 'write' },
      ],
    });
  });

  it('refuses two entries with the same token, naming both positions only', () => {
    expect(() =>
      authSettings({
        auth: 'tokens',
        apiTokens: [
          { token: read, scope: 'read' },
          { token: read, scope: 'admin' },
        ],
      }),
    ).toThrow(/entry 2: entry 1 has the same token/);
  });
});

describe('token list syntax', () => {
  it('reads <token>:<scope> and <name>:<token>:<scope>, unnamed ones as token-<n>', () => {
    const parsed = parseApiTokens(` ${read}:read, ci-bot:${write}:write ,ops.oncall:${admin}:admin,`);
    expect(parsed).toEqual({
      issues: [],
      tokens: [
        { name: 'token-1', token: read, scope: 'read' },
        { name: 'ci-bot', token: write, scope: 'write' },
        { name: 'ops.oncall', token: admin, scope: 'admin' },
      ],
    });
  });

  it('gives authSettings what it accepts as is, so the config can parse with it', () => {
    const { tokens } = parseApiTokens(`${read}:read,ci-bot:${write}:write,${admin}:admin`);
    expect(authSettings({ auth: 'tokens', apiTokens: tokens })).toEqual({ mode: 'tokens', tokens });
    expect(tokens.map((t) => t.name)).toEqual(['token-1', 'ci-bot', 'token-3']);
  });

  it('refuses bad entries naming the entry by position, never printing a token or a name', () => {
    const secret = 's'.repeat(24);
    const { tokens, issues } = parseApiTokens(
      [
        `${secret}:root`, // 1: unknown scope
        `${secret}`, // 2: no scope
        'ok:short:read', // 3: short token
        `-bad:${'b'.repeat(20)}:read`, // 4: a name must start with a letter
        `anonymous:${'c'.repeat(20)}:read`, // 5: reserved
        `token-1:${'d'.repeat(20)}:read`, // 6: reserved
        `ci:${'e'.repeat(20)}:write`, // 7: fine
        `ci:${'f'.repeat(20)}:read`, // 8: same name as 7
        `other:${'e'.repeat(20)}:read`, // 9: same token as 7
        `a:b:${secret}:read`, // 10: too many fields
        `${secret}:ci:read`, // 11: token in the name's place
      ].join(','),
    );
    expect(tokens.map((t) => t.name)).toEqual(['ci']);
    expect(issues).toEqual([
      'entry 1: end it with :read, :write or :admin',
      'entry 2: end it with :read, :write or :admin',
      'entry 3: a token needs at least 16 characters from A-Z a-z 0-9 . _ ~ + / = -',
      'entry 4: a name has 1 to 64 characters from A-Z a-z 0-9 . _ -, starting with a letter',
      'entry 5: "anonymous" and token-<n> are reserved names: choose another one',
      'entry 6: "anonymous" and token-<n> are reserved names: choose another one',
      'entry 8: entry 7 has the same name; names must be unique',
      'entry 9: entry 7 has the same token; give each caller its own',
      'entry 10: write it as <token>:<scope> or <name>:<token>:<scope>',
      'entry 11: a token needs at least 16 characters from A-Z a-z 0-9 . _ ~ + / = -',
    ]);
    for (const issue of issues) expect(issue).not.toContain(secret);
  });
});

describe('scopes', () => {
  it('read < write < admin: write starts and cancels, admin replays and deletes dead letters', () => {
    expect(apiScopes).toEqual(['read', 'write', 'admin']);
    expect(requiredScope('listSagas')).toBe('read');
    expect(requiredScope('startSaga')).toBe('write');
    expect(requiredScope('cancelSaga')).toBe('write');
    expect(requiredScope('replayDeadLetter')).toBe('admin');
    expect(requiredScope('deleteDeadLetter')).toBe('admin');
    // An operation the table does not know is closed, not open.
    expect(requiredScope('somethingNew')).toBe('admin');
  });

  it('every operation answers 403 to the scope below its own and lets its own scope through', async () => {
    const a = app(threeScopes);
    const doc = openApiDocument(a) as unknown as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    const byOperation = new Map<string, { method: string; path: string }>();
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops)) byOperation.set(op.operationId, { method, path });
    for (const [operation, scope] of Object.entries(operationScopes)) {
      // Starts are documented per saga type (and at the old path), each needing startSaga's scope.
      const where = byOperation.get(operation === 'startSaga' ? 'startSagaAtOldPath' : operation);
      expect(where, operation).toBeDefined();
      const path = where!.path
        .replace('{type}', 'no-such-type')
        .replace('{version}', '1')
        .replace('{id}', '17');
      const call = (token: string) =>
        a.request(path, {
          method: where!.method.toUpperCase(),
          headers: { ...bearer(token), 'Content-Type': 'application/json' },
          ...(where!.method === 'get' || where!.method === 'delete' ? {} : { body: '{}' }),
        });
      const rank = apiScopes.indexOf(scope);
      for (const held of apiScopes) {
        const res = await call(tokenOf[held]);
        const what = `${operation} with a ${held} token`;
        if (apiScopes.indexOf(held) < rank) {
          expect(res.status, what).toBe(403);
          expect(res.headers.get('content-type'), what).toBe('application/problem+json');
          expect(res.headers.get('www-authenticate'), what).toBe(
            `Bearer realm="jetsaga", error="insufficient_scope", scope="${scope}"`,
          );
          const body = (await res.json()) as { detail: string; requiredScope: string };
          expect(body.detail, what).toContain(`needs a token with the ${scope} scope`);
          expect(body.detail, what).toContain(`has the ${held} scope`);
          expect(body.requiredScope, what).toBe(scope);
        } else {
          expect([401, 403], what).not.toContain(res.status);
        }
      }
    }
  });

  it('a write token may cancel but not replay or delete dead letters; an admin token may', async () => {
    const a = app(threeScopes);
    const as = (token: string, method: string, path: string) =>
      a.request(path, { method, headers: bearer(token) });
    expect((await as(write, 'POST', '/v1/dlq/17/replay')).status).toBe(403);
    expect((await as(write, 'DELETE', '/v1/dlq/17')).status).toBe(403);
    // Past auth: the empty stand-in for the bus fails, which only shows the token was let through.
    expect((await as(admin, 'POST', '/v1/dlq/17/replay')).status).toBe(500);
    expect((await as(admin, 'DELETE', '/v1/dlq/17')).status).toBe(500);
    expect((await as(read, 'GET', '/v1/saga-types')).status).toBe(200);
    // A route that does not exist needs a valid token to learn so, but no particular scope.
    expect((await as(read, 'POST', '/v1/nothing')).status).toBe(404);
    expect((await a.request('/v1/nothing')).status).toBe(401);
  });

  it('the document shows each operation the scope the middleware enforces', () => {
    const doc = openApiDocument(app(threeScopes)) as unknown as {
      paths: Record<
        string,
        Record<
          string,
          {
            operationId: string;
            security?: Array<Record<string, string[]>>;
            'x-required-scope'?: string;
            responses: Record<string, unknown>;
          }
        >
      >;
    };
    const seen = new Set<string>();
    for (const ops of Object.values(doc.paths))
      for (const op of Object.values(ops)) {
        if (op.security?.length === 0) continue;
        const scope = requiredScope(/^start[A-Z]/.test(op.operationId) ? 'startSaga' : op.operationId);
        expect(op.security, op.operationId).toEqual([{ bearerAuth: [scope] }]);
        expect(op['x-required-scope'], op.operationId).toBe(scope);
        expect(Object.keys(op.responses).includes('403'), op.operationId).toBe(scope !== 'read');
        seen.add(/^start[A-Z]/.test(op.operationId) ? 'startSaga' : op.operationId);
      }
    for (const operation of Object.keys(operationScopes)) expect(seen).toContain(operation);
  });
});

describe('bearer auth', () => {
  it('401 without or with a wrong token, 403 for a read token on a write route, as problems', async () => {
    const a = app();
    const none = await a.request('/v1/saga-types');
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toBe('application/problem+json');
    expect(
      (await a.request('/v1/saga-types', { headers: { Authorization: `Bearer ${'x'.repeat(20)}` } })).status,
    ).toBe(401);
    expect((await a.request('/v1/saga-types', { headers: { Authorization: `Bearer ${read}` } })).status).toBe(
      200,
    );
    const denied = await a.request('/v1/sagas/x/cancel', {
      method: 'POST',
      headers: { Authorization: `Bearer ${read}` },
    });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { detail: string }).detail).toContain('write scope');
    expect((await a.request('/healthz')).status).toBe(200);
    expect((await a.request('/openapi.json')).status).toBe(200);
  });

  it('an unknown page asset is a 404 for anyone, a line break in its path too (Schemathesis found a 403)', async () => {
    const a = app();
    for (const path of ['/ui/nope.js', '/ui/a%0Ab', '/docs/x%0D%0Ay', '/ui/%F0%91%8B%90%0A'])
      for (const headers of [{}, { Authorization: `Bearer ${read}` }])
        expect((await a.request(path, { headers })).status, path).toBe(404);
  });

  it("puts the caller's token name in the request log; anonymous with auth off", async () => {
    const logs: Array<Record<string, unknown>> = [];
    await app(threeScopes, logs).request('/v1/saga-types', { headers: bearer(write) });
    expect(logs).toContainEqual(
      expect.objectContaining({ msg: 'http request', path: '/v1/saga-types', status: 200, caller: 'writer' }),
    );
    await app(threeScopes, logs).request('/v1/saga-types', { headers: bearer('x'.repeat(20)) });
    const refused = logs.find((l) => l.status === 401)!;
    expect(refused).toBeDefined();
    expect(refused.caller).toBeUndefined();
    await app({ mode: 'off' }, logs).request('/v1/saga-types');
    expect(logs.at(-1)).toMatchObject({ msg: 'http request', status: 200, caller: 'anonymous' });
  });
});
