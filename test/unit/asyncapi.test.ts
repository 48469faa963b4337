import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { asyncApiOf, catalogueOf } from '../../runtime/contracts/index.ts';
import { createApp } from '../../runtime/http/app.ts';
import type { Bus } from '../../runtime/messaging/index.ts';
import type { SagaStore } from '../../runtime/store/index.ts';
import { appForTests } from '../dist.ts';
import { asyncApiErrors } from './asyncapi-support.ts';

/** Throws on any use: the document needs neither the store nor the bus. */
const unreachable = <T>(name: string): T =>
  new Proxy({} as object, {
    get: (_t, prop) => {
      throw new Error(`${name}.${String(prop)} must not be reached`);
    },
  }) as T;

type Doc = {
  asyncapi: string;
  info: { version: string };
  channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
  operations: Record<string, { action: string; channel: { $ref: string }; 'x-jetsaga-role': string }>;
  components: { messages: Record<string, Record<string, unknown>>; schemas: Record<string, unknown> };
};

describe('the AsyncAPI document of the reference app', () => {
  const doc = asyncApiOf(appForTests) as unknown as Doc;

  it('validates with the official AsyncAPI parser, without an error', async () => {
    expect(doc.asyncapi).toBe('3.0.0');
    expect(await asyncApiErrors(doc)).toEqual([]);
  }, 60_000);

  it('has a channel per command and event subject of the catalogue, and a dlq channel per durable', () => {
    const catalogue = catalogueOf(appForTests);
    const subjects = Object.values(catalogue.messages).flatMap((m) => (m.subject ? [m.subject] : []));
    expect(subjects.length).toBeGreaterThan(10);
    for (const subject of subjects) expect(Object.keys(doc.channels)).toContain(subject);
    expect(Object.keys(doc.channels)).toEqual(
      expect.arrayContaining([
        'cmd.inventory.reserve',
        'dlq.orchestrator',
        'dlq.svc-inventory',
        'dlq.fraud-agent',
        'dlq.unrouted',
      ]),
    );
    for (const name of Object.keys(appForTests.participants))
      expect(Object.keys(doc.channels)).toContain(`dlq.svc-${name}`);
  });

  it('says which role sends and which receives each message', () => {
    const who = (channel: string, action: string) =>
      Object.values(doc.operations)
        .filter((o) => o.channel.$ref === `#/channels/${channel}` && o.action === action)
        .map((o) => o['x-jetsaga-role'])
        .sort();
    expect(who('cmd.inventory.reserve', 'send')).toEqual(['orchestrator']);
    expect(who('cmd.inventory.reserve', 'receive')).toEqual(['service:inventory']);
    expect(who('dlq.svc-inventory', 'send')).toEqual(['service:inventory']);
    expect(who('dlq.svc-inventory', 'receive')).toEqual(['api']);
    const reserve = doc.components.messages['inventory.reserve']!;
    expect(reserve).toMatchObject({
      contentType: 'application/json',
      'x-jetsaga-version': expect.any(Number),
      'x-jetsaga-upcasts-from': expect.any(Array),
      headers: { required: expect.arrayContaining(['Nats-Msg-Id', 'saga-id', 'message-type']) },
      payload: { properties: { data: { $ref: '#/components/schemas/inventory.reserve' } } },
    });
  });

  it('is served at /asyncapi.json to a read token, and only to a token', async () => {
    const token = 'asyncapi-read-token-0123456789';
    const app = createApp({
      store: unreachable<SagaStore>('store'),
      bus: unreachable<Bus>('bus'),
      registry: appForTests.registry,
      log: pino({ level: 'silent' }),
      auth: { mode: 'tokens', tokens: [{ name: 'reader', token, scope: 'read' }] },
      probes: { nats: async () => true, mongo: async () => true },
      asyncApi: () => doc,
    });
    expect((await app.request('/asyncapi.json')).status).toBe(401);
    const res = await app.request('/asyncapi.json', { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(doc);

    const without = createApp({
      store: unreachable<SagaStore>('store'),
      bus: unreachable<Bus>('bus'),
      registry: appForTests.registry,
      log: pino({ level: 'silent' }),
      auth: { mode: 'off' },
      probes: { nats: async () => true, mongo: async () => true },
    });
    const missing = await without.request('/asyncapi.json');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
  });
});
