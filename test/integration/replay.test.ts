import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { divergenceLine, replayHistories } from '../../runtime/testing/index.ts';
import { sagas } from '../../sagas/index.ts';
import { repoRoot } from '../cluster.ts';
import { editedOrderFulfillment } from '../fixtures/edited-order.ts';
import { order, outboxSettled, trip, useTestNode } from '../harness.ts';

/** `jetsaga <args>` of this repository (the reference app unless --app): exit code, stdout, stderr. */
function jetsaga(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', 'bin/jetsaga.ts', ...args],
      {
        cwd: repoRoot,
        env: {
          PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`,
          HOME: process.env.HOME,
          ...env,
        },
        maxBuffer: 32 * 1024 * 1024,
      },
      (err, out, stderr) => {
        if (err && typeof err.code !== 'number') reject(err);
        else resolve({ code: err ? (err.code as number) : 0, out, err: stderr });
      },
    ),
  );
}

/**
 * Real sagas run by the runtime (NATS, the MongoDB-wire server, every role), exported through the
 * API, then replayed: through the same definitions every one is reproduced; through a copy of the
 * order saga with one transition edited, the compensated order parts where it took that transition.
 */
describe('replay of recorded histories', () => {
  const node = useTestNode();
  let dir: string;
  let exported: string;
  const ids: { completed: string[]; declined: string; trip: string } = {
    completed: [],
    declined: '',
    trip: '',
  };

  async function start(type: string, body: unknown): Promise<string> {
    const res = await node().post(`/v1/saga-types/${type}/sagas`, body);
    expect(res.status).toBe(202);
    return ((await res.json()) as { sagaId: string }).sagaId;
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'jetsaga-replay-'));
    ids.completed = [
      await start('order-fulfillment', order({ orderId: 'rp-ok-1' })),
      await start(
        'order-fulfillment',
        order({ orderId: 'rp-ok-2', items: [{ sku: 'SKU-2', qty: 1, unitPrice: 5 }] }),
      ),
    ];
    ids.declined = await start(
      'order-fulfillment',
      order({ orderId: 'rp-declined', payment: { token: 'tok_declined' } }),
    );
    ids.trip = await start('trip-booking', trip());
    const all = [...ids.completed, ids.declined, ids.trip];
    for (const id of all) {
      await node().waitForTerminal(id);
      // The history is whole once the outbox is: every step's entry is written with the step.
      await node().waitFor(id, outboxSettled);
    }
    const lines: string[] = [];
    for (const id of all) lines.push(JSON.stringify(await (await node().fetch(`/v1/sagas/${id}`)).json()));
    exported = `${lines.join('\n')}\n`;
    await writeFile(path.join(dir, 'export.jsonl'), exported);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reproduces every recorded saga through the definitions that ran it', async () => {
    const declined = (await node().store.load(ids.declined))!;
    expect(declined.status).toBe('compensated');
    const report = replayHistories(sagas, exported);
    expect(report.diverged.map(divergenceLine)).toEqual([]);
    expect(report.reproduced).toBe(4);
    // Each step as the orchestrator made it, the context after it as the history recorded it.
    const history = (await node().store.historyOf(ids.declined)).sort((a, b) => a.rev - b.rev);
    const replayed = report.results.find((r) => r.sagaId === ids.declined)!;
    expect(replayed.steps.map((s) => s.state)).toEqual(history.map((h) => h.to));
    expect(replayed.steps.map((s) => s.context)).toEqual(history.map((h) => h.context));
    expect(replayed.steps.at(-1)).toMatchObject({ status: 'compensated', state: 'compensated' });
  });

  it("GET /v1/sagas/{id}/replay replays one saga through the API's definition, each step with its context", async () => {
    const res = await node().fetch(`/v1/sagas/${ids.declined}/replay`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      reproduced: boolean;
      divergence: unknown;
      steps: Array<{ context: unknown }>;
    };
    const history = (await node().store.historyOf(ids.declined)).sort((a, b) => a.rev - b.rev);
    expect(body).toMatchObject({ reproduced: true, divergence: null, revisions: history.length });
    expect(body.steps.map((s) => s.context)).toEqual(history.map((h) => h.context));
    expect((await node().fetch('/v1/sagas/nope/replay')).status).toBe(404);
  });

  it('reports the saga and the revision where a copy of the order saga with one transition edited parts', async () => {
    const report = replayHistories(
      [editedOrderFulfillment, ...sagas.filter((s) => s.type !== 'order-fulfillment')],
      exported,
    );
    const history = await node().store.historyOf(ids.declined);
    const declinedAt = history.find((h) => h.event.type === 'payment.declined')!;
    expect(report.reproduced).toBe(3);
    expect(report.diverged).toHaveLength(1);
    const [parted] = report.diverged;
    expect(parted!.sagaId).toBe(ids.declined);
    expect(parted!.divergence).toMatchObject({
      rev: declinedAt.rev,
      aspect: 'to',
      expected: 'compensating.releasingInventory',
      actual: 'compensating.voidingPayment',
    });
    expect(divergenceLine(parted!)).toContain(
      `${ids.declined} (order-fulfillment v1) parts at rev ${declinedAt.rev}`,
    );
  });

  it('jetsaga replay passes on the export against this build, and exits 1 naming saga and revision against the edited one', async () => {
    const file = path.join(dir, 'export.jsonl');
    const same = await jetsaga(['replay', '--file', file]);
    expect(same.err).toBe('');
    expect(same.out).toBe('replay: 4 sagas, 4 reproduced, 0 diverged\n');
    expect(same.code).toBe(0);

    const edited = await jetsaga(['replay', '--app', 'test/fixtures/edited-order.ts', '--file', file]);
    expect(edited.code).toBe(1);
    const lines = edited.out.trim().split('\n');
    expect(lines.at(-1)).toBe('replay: 4 sagas, 2 reproduced, 2 diverged');
    const declinedAt = (await node().store.historyOf(ids.declined)).find(
      (h) => h.event.type === 'payment.declined',
    )!;
    expect(lines).toContainEqual(
      expect.stringContaining(
        `replay: ${ids.declined} (order-fulfillment v1) parts at rev ${declinedAt.rev} (to)`,
      ),
    );
    // That app has no trip booking at all: its saga cannot be replayed, and says why.
    expect(lines).toContainEqual(
      expect.stringContaining(
        `replay: ${ids.trip} (trip-booking v1) parts at rev 0 (definition): saga trip-booking v1 is not registered here`,
      ),
    );
  });

  it('jetsaga replay passes on the histories a demo run exported, against the same build', async () => {
    const file = path.join(dir, 'demo.jsonl');
    // The demo on this test run's servers (its own namespace and database); its first 10 orders
    // include every compensation of demo/scenarios.ts.
    const demo = await jetsaga(['demo', '--orders', '10', '--export', file], {
      NATS_URL: inject('natsUrl'),
      MONGO_URL: inject('mongoUrl'),
    });
    expect(demo.err).toContain(`10 sagas written to ${file}`);
    expect(demo.code).toBe(0);
    const statuses = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { status: string }).status);
    expect(statuses).toContain('compensated');
    const res = await jetsaga(['replay', '--file', file]);
    expect(res.err).toBe('');
    expect(res.out).toBe('replay: 10 sagas, 10 reproduced, 0 diverged\n');
    expect(res.code).toBe(0);
  });

  it('jetsaga replay --from-api fetches the sagas, saves them, and replays them', async () => {
    const saved = path.join(dir, 'fetched.jsonl');
    const res = await jetsaga([
      'replay',
      '--from-api',
      node().api!.url,
      '--type',
      'order-fulfillment',
      '--save',
      saved,
    ]);
    expect(res.err).toBe('');
    expect(res.out).toBe('replay: 3 sagas, 3 reproduced, 0 diverged\n');
    expect(res.code).toBe(0);
    const lines = (await readFile(saved, 'utf8')).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { sagaId: string }).sagaId).sort()).toEqual(
      [...ids.completed, ids.declined].sort(),
    );
  });

  it('jetsaga replay names the flag at fault', async () => {
    const missing = await jetsaga(['replay']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('give exactly one of --file FILE');
    const bad = await jetsaga(['replay', '--from-api', 'localhost:3000']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('--from-api localhost:3000');
    const limit = await jetsaga(['replay', '--from-api', 'http://localhost:1', '--limit', 'lots']);
    expect(limit.err).toContain('--limit lots: give a positive whole number');
    const notJson = path.join(dir, 'bad.jsonl');
    await writeFile(
      notJson,
      '{"sagaId":"x","type":"order-fulfillment","version":1,"input":{},"history":[{"rev":1}]}\n',
    );
    const file = await jetsaga(['replay', '--file', notJson]);
    expect(file.code).toBe(1);
    expect(file.err).toContain(`--file ${notJson}: line 1: history.0.at`);
  });
});
