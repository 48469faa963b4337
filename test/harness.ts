import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, inject } from 'vitest';
import { type Config, defaultConfig } from '../runtime/config.ts';
import type { App } from '../runtime/app.ts';
import { allRoles, type Role, type RunningNode, startNode } from '../runtime/node.ts';
import { type Envelope, newTraceparent } from '../runtime/wire/index.ts';
import { createLogger } from '../runtime/observability/index.ts';
import { type Infra, resolveInfra } from '../runtime/dev/index.ts';
import { isTerminal, type SagaDoc } from '../runtime/store/index.ts';
import { appForTests } from './dist.ts';

export interface TestNode extends RunningNode {
  /** fetch against the node's API. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  waitFor(sagaId: string, pred: (doc: SagaDoc) => boolean, timeoutMs?: number): Promise<SagaDoc>;
  waitForTerminal(sagaId: string, timeoutMs?: number): Promise<SagaDoc>;
  /** Stops the node, drops its database and deletes its streams. */
  destroy(): Promise<void>;
}

export interface TestNodeOptions {
  roles?: Role[];
  config?: Partial<Config>;
  dist?: App;
}

/**
 * Polls `predicate` until it returns something truthy, and returns that; throws, naming `what`
 * (a function: read when the time is up, e.g. to tell the last state seen), when `timeoutMs` passes
 * first. An error from `predicate` ends the wait at once. For tests: wait on a condition, never for a
 * fixed time.
 */
export async function waitUntil<T>(
  predicate: () => T | Promise<T>,
  what: string | (() => string),
  timeoutMs = 30_000,
  intervalMs = 25,
): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value as NonNullable<T>;
    if (Date.now() > until)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * A jetsaga node on the run's shared infrastructure, isolated by its own namespace
 * (streams and subjects) and its own database, so test files can run in parallel.
 */
export async function startTestNode(opts: TestNodeOptions = {}): Promise<TestNode> {
  const ns = `t${randomBytes(4).toString('hex')}`;
  const config = defaultConfig({
    natsUrl: inject('natsUrl'),
    mongoUrl: inject('mongoUrl'),
    namespace: ns,
    mongoDb: `jetsaga_${ns}`,
    httpPort: 0,
    auth: 'off', // tests call the API without tokens; test/integration/api-auth.test.ts turns it on
    logLevel: (process.env.LOG_LEVEL as Config['logLevel']) ?? 'silent',
    ...opts.config,
  });
  const dist = opts.dist ?? appForTests;
  const node = await startNode(
    config,
    dist,
    opts.roles ?? allRoles(dist),
    createLogger(config.logLevel, { ns }, 2),
  );
  const call = (path: string, init?: RequestInit) => fetch(`${node.api!.url}${path}`, init);
  const waitFor = async (sagaId: string, pred: (doc: SagaDoc) => boolean, timeoutMs = 30_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const doc = await node.store.load(sagaId);
      if (doc && pred(doc)) return doc;
      if (Date.now() > until)
        throw new Error(
          `saga ${sagaId} did not reach the expected state; last: ${JSON.stringify(doc?.status)} ${doc?.state}`,
        );
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return Object.assign(node, {
    fetch: call,
    post: (path: string, body: unknown, headers: Record<string, string> = {}) =>
      call(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    waitFor,
    waitForTerminal: (sagaId: string, timeoutMs?: number) =>
      waitFor(sagaId, (d) => isTerminal(d.status), timeoutMs),
    async destroy() {
      await node.stop().catch(() => undefined);
      await dropTestDatabase(config.mongoUrl, config.mongoDb);
      const { connect } = await import('@nats-io/transport-node');
      const nc = await connect({ servers: config.natsUrl });
      const jsm = await jetstreamManager(nc);
      for (const s of Object.values(node.bus.topo.streams))
        await jsm.streams.delete(s).catch(() => undefined);
      await nc.close();
    },
  });
}

/**
 * The node of the enclosing describe block (or file), started before its tests and destroyed after
 * them: the `let node; beforeAll(start); afterAll(destroy)` of most integration files. Returns a getter,
 * for the node exists only once the hooks ran; hooks registered after this call see it started.
 */
export function useTestNode(opts: TestNodeOptions | (() => TestNodeOptions) = {}): () => TestNode {
  let node: TestNode | undefined;
  beforeAll(async () => {
    node = await startTestNode(typeof opts === 'function' ? opts() : opts);
  });
  afterAll(async () => {
    await node?.destroy();
    node = undefined;
  });
  return () => {
    if (!node) throw new Error('the test node runs only in the tests and hooks of its describe block');
    return node;
  };
}

/**
 * Everything the saga's steps asked for is done: published and copied to saga_history, nothing left
 * in its outbox or pending history. A transition's copies land after its own write, so a saga's
 * status may say it ended a moment before its history is whole.
 */
export const outboxSettled = (d: SagaDoc): boolean => Object.keys(d.outbox).length === 0;

export const order = (over: Record<string, unknown> = {}) => ({
  customerId: 'cust-1',
  currency: 'USD',
  items: [{ sku: 'SKU-1', qty: 2, unitPrice: 10 }],
  payment: { token: 'tok_visa' },
  shippingAddress: {
    name: 'Ada Lovelace',
    line1: '12 St James Sq',
    city: 'London',
    postalCode: 'SW1Y 4JH',
    country: 'GB',
  },
  ...over,
});

/**
 * Local servers of a test's own, outside the run's shared ones (NATS_URL / MONGO_URL ignored): for
 * tests that stop, kill or freeze them.
 */
export function ownLocalInfra(): Promise<Infra> {
  return resolveInfra({
    env: { PATH: process.env.PATH, HOME: process.env.HOME, JETSAGA_CACHE_DIR: process.env.JETSAGA_CACHE_DIR },
    preferLocal: true,
    log: () => undefined,
  });
}

/** A trip-booking input that completes: one flight, one hotel, one car (cents in the car's price). */
export const trip = (over: Record<string, unknown> = {}) => ({
  travelerId: 'ada',
  flight: { from: 'LIS', to: 'CDG', date: '2027-05-01', price: 120 },
  hotel: { city: 'Paris', nights: 3, price: 300 },
  car: { city: 'Paris', days: 2, price: 80.5 },
  payment: { token: 'tok_visa' },
  ...over,
});

/** Drops a test's database; a database that is already gone is fine. */
export async function dropTestDatabase(mongoUrl: string, db: string): Promise<void> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(mongoUrl);
  await client
    .db(db)
    .dropDatabase()
    .catch(() => undefined);
  await client.close();
}

/**
 * Every event published in the node's namespace, as plain NATS sees it: also the copies the
 * event stream drops as duplicates (a participant's replayed reply, a republish). Ready when
 * the promise resolves.
 */
export async function watchEvents(node: RunningNode): Promise<{ events: Envelope[]; stop: () => void }> {
  const sub = node.bus.nc.subscribe(node.bus.topo.evtSubject('>'));
  const events: Envelope[] = [];
  void (async () => {
    for await (const m of sub) events.push(m.json<Envelope>());
  })();
  await node.bus.nc.flush();
  return { events, stop: () => sub.unsubscribe() };
}

/** An envelope as the runtime would send it for an order saga, for tests that publish by hand. */
export function testEnvelope(
  type: string,
  id: string,
  sagaId: string,
  data: Record<string, unknown>,
): Envelope {
  return {
    id,
    type,
    schemaVersion: 1,
    occurredAt: new Date().toISOString(),
    sagaId,
    sagaType: 'order-fulfillment',
    correlationId: sagaId,
    causationId: null,
    traceparent: newTraceparent(),
    data,
  };
}
