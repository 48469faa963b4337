import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type RunningApi, serveApi } from '../../runtime/http/index.ts';
import { defineParticipant, type ParticipantDefinition } from '../../runtime/participants/index.ts';
import { appForTests } from '../dist.ts';
import { order, useTestNode, waitUntil } from '../harness.ts';
import { readSse } from './api-support.ts';

/** Shipping that never answers: an order that gets that far keeps running, and its stream stays open. */
const silentShipping: ParticipantDefinition = defineParticipant({
  name: 'shipping',
  commands: {
    ...appForTests.participants.shipping!.commands,
    'create-shipment': { handle: () => new Promise(() => undefined) },
  },
});

/**
 * Live event streams hang off the API's shutdown signal, which lives as long as the process:
 * a stream that ends must leave nothing behind on it, however many streams come and go.
 */
describe('saga event streams and the shutdown signal', () => {
  const node = useTestNode({
    dist: { ...appForTests, participants: { ...appForTests.participants, shipping: silentShipping } },
    config: { shutdownTimeoutMs: 500 },
  });
  let api: RunningApi;
  let closing: AbortController;
  let base: string;
  let ended: string;
  let running: string;
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);

  beforeAll(async () => {
    const { store, bus, log } = node();
    closing = new AbortController();
    const app = createApp({
      store,
      bus,
      registry: appForTests.registry,
      log,
      auth: { mode: 'off' },
      probes: { nats: async () => true, mongo: async () => true },
      ssePollMs: 20,
      signal: closing.signal,
    });
    api = await serveApi(app, { host: '127.0.0.1', port: 0, shutdownGraceMs: 1_000 });
    base = `http://127.0.0.1:${api.port}`;
    const start = async (body: unknown) =>
      (
        (await (await node().post('/v1/saga-types/order-fulfillment/sagas', body)).json()) as {
          sagaId: string;
        }
      ).sagaId;
    ended = await start(order({ payment: { token: 'tok_declined' } }));
    running = await start(order());
    await node().waitForTerminal(ended);
    await node().waitFor(running, (d) => d.state === 'creatingShipment');
    process.on('warning', onWarning);
  });
  afterAll(async () => {
    process.off('warning', onWarning);
    closing?.abort();
    await api?.close();
  });

  const listeners = () => getEventListeners(closing.signal, 'abort').length;

  async function settle(expected: number): Promise<number> {
    await waitUntil(() => listeners() === expected, `${expected} listeners on the shutdown signal`, 5_000);
    return listeners();
  }

  it('30 streams, ended by the saga or aborted by the client, leave no listener and no warning', async () => {
    const baseline = listeners();
    let most = baseline;
    const watch = setInterval(() => (most = Math.max(most, listeners())), 5);
    try {
      await Promise.all(
        Array.from({ length: 15 }, async () => {
          const finished = await readSse(`${base}/v1/sagas/${ended}/events`, {}, (e) => e.event === 'end');
          expect(finished.events.at(-1)?.event).toBe('end');
          // The client goes away after the first summary: the server notices and stops.
          const aborted = await readSse(`${base}/v1/sagas/${running}/events`, {}, (e) => e.event === 'saga');
          expect(aborted.events.at(-1)?.event).toBe('saga');
        }),
      );
      expect(await settle(baseline)).toBe(baseline);
    } finally {
      clearInterval(watch);
    }
    // However many streams are open at once, they share one listener on the shutdown signal.
    expect(most).toBeLessThanOrEqual(baseline + 1);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('shutting the API down still ends every open stream', async () => {
    // The client never ends them (its timeout is past the test's): only the shutdown can, in time.
    const summarized = new Set<number>();
    const open = Array.from({ length: 12 }, (_, i) =>
      readSse(
        `${base}/v1/sagas/${running}/events`,
        {},
        (e) => {
          if (e.event === 'saga') summarized.add(i);
          return false;
        },
        10 * 60_000,
      ),
    );
    await waitUntil(() => summarized.size === open.length, 'every stream to be open, with its first summary');
    closing.abort();
    const results = await Promise.all(open);
    for (const r of results) expect(r.events.map((e) => e.event)).toContain('saga');
    expect(await settle(0)).toBe(0);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});
