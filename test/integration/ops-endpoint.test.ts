import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Infra } from '../../runtime/dev/index.ts';
import { ProcessCluster } from '../cluster.ts';
import { order, ownLocalInfra, waitUntil } from '../harness.ts';

/**
 * Every role process serves /healthz, /readyz and /metrics on its own ops port, as deployed (one
 * OS process per role, JETSAGA_OPS_PORT=0, the url read from the role's `ops endpoint` log line).
 */
describe('the ops endpoint of every role process', () => {
  let infra: Infra;
  let cluster: ProcessCluster | undefined;
  /** Ops url by role name: `orchestrator`, `service:inventory`, `fraud-agent`, `api`, ... */
  const ops: Record<string, string> = {};

  beforeAll(async () => {
    // Own servers: NATS is stopped and restarted below.
    infra = await ownLocalInfra();
    cluster = new ProcessCluster(infra, { JETSAGA_OPS_PORT: '0' });
    // Listen before starting: the line comes before "jetsaga started", which start() waits for.
    const lines = Object.entries(cluster.roles).map(([name, role]) =>
      role
        .waitFor((l) => l.msg === 'ops endpoint' && typeof l.url === 'string', 120_000)
        .then((l) => {
          ops[name] = l.url as string;
        }),
    );
    await Promise.all([cluster.start(), ...lines]);
  });

  afterAll(async () => {
    await cluster?.stop();
    await infra?.stop();
  });

  const get = async (url: string) => {
    const res = await fetch(url);
    return { status: res.status, text: await res.text() };
  };

  /** The sum of every sample of `metric` in a Prometheus text exposition. */
  const total = (exposition: string, metric: string): number =>
    exposition
      .split('\n')
      .filter((line) => line.startsWith(`${metric}{`) || line.startsWith(`${metric} `))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);

  it('every process serves one, on a port of its own, the api role besides its API', async () => {
    const names = Object.keys(cluster!.roles);
    expect(names).toEqual(
      expect.arrayContaining(['orchestrator', 'service:inventory', 'fraud-agent', 'api']),
    );
    expect(Object.keys(ops).sort()).toEqual([...names].sort());
    expect(new Set(Object.values(ops)).size).toBe(names.length);
    expect(ops.api).not.toBe(cluster!.api);
    for (const name of names) {
      expect((await get(`${ops[name]}/healthz`)).status, name).toBe(200);
      // Ready once its consumers run (right after the start line, or a moment later).
      await waitUntil(async () => (await get(`${ops[name]}/readyz`)).status === 200, `${name} /readyz 200`);
    }
    const ready = JSON.parse((await get(`${ops.orchestrator}/readyz`)).text) as { checks: object };
    expect(ready.checks).toEqual({ nats: 'ok', mongo: 'ok', consumers: 'ok' });
    // The api port answers from the same probes.
    const apiReady = JSON.parse((await get(`${cluster!.api}/readyz`)).text) as { checks: object };
    expect(apiReady.checks).toEqual({ nats: 'ok', mongo: 'ok', consumers: 'ok' });
  });

  it("each process's /metrics counts what that process did", async () => {
    const ids = await Promise.all(
      ['a', 'b', 'c'].map((suffix) => cluster!.order(order({ orderId: `ops-${suffix}` }))),
    );
    await cluster!.waitTerminal(ids);
    for (const name of ['orchestrator', 'service:inventory', 'fraud-agent']) {
      await waitUntil(
        async () => {
          const { status, text } = await get(`${ops[name]}/metrics`);
          return status === 200 && total(text, 'jetsaga_messages_processed_total') > 0;
        },
        () => `${name}'s jetsaga_messages_processed_total to move`,
      );
    }
    const orchestrator = (await get(`${ops.orchestrator}/metrics`)).text;
    expect(total(orchestrator, 'jetsaga_sagas_started_total')).toBeGreaterThanOrEqual(ids.length);
    // A participant's process starts no saga: its registry is its own.
    const inventory = (await get(`${ops['service:inventory']}/metrics`)).text;
    expect(total(inventory, 'jetsaga_sagas_started_total')).toBe(0);
  });

  it('/readyz answers 503 naming nats while NATS is away, /healthz stays 200, and ready again after', async () => {
    const nats = infra.nats;
    if (!nats) throw new Error('ownLocalInfra gave no local nats-server');
    await nats.kill();
    try {
      const down = await waitUntil(async () => {
        const res = await get(`${ops['service:inventory']}/readyz`);
        if (res.status !== 503) return undefined;
        const body = JSON.parse(res.text) as { checks: Record<string, string>; detail: string };
        return body.checks.nats === 'down' ? body : undefined;
      }, "service:inventory's /readyz to answer 503 with nats down");
      expect(down.detail).toContain('nats');
      expect(down.checks.mongo).toBe('ok');
      expect((await get(`${ops['service:inventory']}/healthz`)).status).toBe(200);
      expect((await get(`${ops.orchestrator}/healthz`)).status).toBe(200);
    } finally {
      await nats.restart();
    }
    for (const name of Object.keys(ops))
      await waitUntil(
        async () => (await get(`${ops[name]}/readyz`)).status === 200,
        `${name}'s /readyz to answer 200 again`,
        60_000,
      );
  });
});
