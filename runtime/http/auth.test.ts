import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { ValidationError } from '../errors.ts';
import type { Bus } from '../messaging/index.ts';
import { SagaRegistry } from '../orchestrator/index.ts';
import type { SagaStore } from '../store/index.ts';
import { createApp } from './app.ts';
import { authSettings } from './auth.ts';

const read = 'r'.repeat(20);
const write = 'w'.repeat(20);

function app() {
  const { config } = loadConfig([], { JETSAGA_API_TOKENS: `${read}:read, ${write}:write` });
  return createApp({
    store: {} as SagaStore,
    bus: {} as Bus,
    registry: new SagaRegistry(),
    log: pino({ level: 'silent' }),
    auth: authSettings(config),
    probes: { nats: async () => true, mongo: async () => true },
  });
}

describe('auth settings', () => {
  it('reads tokens with their scopes and never echoes a token in an error', () => {
    const { config } = loadConfig([], { JETSAGA_API_TOKENS: `${read}:read,${write}:write` });
    expect(config.apiTokens).toEqual([
      { token: read, scope: 'read' },
      { token: write, scope: 'write' },
    ]);
    try {
      loadConfig([], { JETSAGA_API_TOKENS: `${read}:admin,short:read` });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      const message = (err as Error).message;
      expect(message).toContain('--api-tokens / JETSAGA_API_TOKENS');
      expect(message).toContain('entry 1: end it with :read or :write');
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
});
