import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../../runtime/wire/index.ts';
import { reminderApp, reminderV1, reminderV2 } from '../fixtures/reminder.ts';
import { startTestNode, type TestNode } from '../harness.ts';

const nodes: TestNode[] = [];
afterEach(async () => {
  // The first node of a group owns the namespace: stop the others first, then destroy it.
  for (const n of nodes.splice(0).reverse()) await n.destroy();
});

async function start(node: TestNode, input: unknown): Promise<string> {
  const res = await node.post('/v1/saga-types/reminder/sagas', input);
  expect(res.status).toBe(202);
  return ((await res.json()) as { sagaId: string }).sagaId;
}

/** Firings of the machine's own timers (not the runtime's resend timers of step policies). */
/** Sends the reminder saga its `test.go` event, as a participant's reply would arrive. */
async function sendGo(node: TestNode, sagaId: string): Promise<void> {
  const doc = (await node.store.load(sagaId))!;
  const go: Envelope = {
    id: `${sagaId}:go`,
    type: 'test.go',
    schemaVersion: 1,
    occurredAt: new Date().toISOString(),
    sagaId,
    sagaType: 'reminder',
    correlationId: doc.correlationId,
    causationId: null,
    data: {},
  };
  await node.bus.publish('evt.test.go', go, go.id);
}

const timerEvents = async (node: TestNode, sagaId: string) =>
  (await node.store.historyOf(sagaId)).filter(
    (h) =>
      h.event.type === 'saga.timer' &&
      !String((h.event.data as { timerId: string }).timerId).startsWith('jetsaga.resend.'),
  );

describe('durable timers', () => {
  it('two orchestrator replicas fire each timer exactly once', async () => {
    const dist = reminderApp();
    const a = await startTestNode({
      dist,
      roles: [{ kind: 'api' }, { kind: 'service', name: 'clock' }, { kind: 'orchestrator' }],
    });
    nodes.push(a);
    const b = await startTestNode({
      dist,
      roles: [{ kind: 'orchestrator' }],
      config: { namespace: a.config.namespace, mongoDb: a.config.mongoDb },
    });
    nodes.push(b);
    const ids = await Promise.all(Array.from({ length: 20 }, () => start(a, { delayMs: 800 })));
    for (const id of ids) expect((await a.waitForTerminal(id, 20_000)).status).toBe('completed');
    for (const id of ids) expect(await timerEvents(a, id)).toHaveLength(1);
    const rings = a.mongo.db(a.config.mongoDb).collection('clock_rings');
    expect(await rings.countDocuments({})).toBe(20);
    // Both replicas did work (the consumer spreads messages), and neither fired a timer twice.
    expect(a.orchestrator!.timers.fired + b.orchestrator!.timers.fired).toBeGreaterThanOrEqual(20);
  });
});

describe('step policies', () => {
  it('a command lost on the way is resent by its step policy, and takes effect once', async () => {
    const node = await startTestNode({
      dist: reminderApp({ clock: { dropFirst: 1 } }),
      config: { shutdownTimeoutMs: 300 },
    });
    nodes.push(node);
    const id = await start(node, { delayMs: 50 });
    const doc = await node.waitForTerminal(id, 20_000);
    expect(doc.status).toBe('completed');
    const history = await node.store.historyOf(id);
    const sent = history.flatMap((h) => h.commands);
    // The original and at least one resend (more if the machine is slow to answer), all of
    // the same command: same commandId in the envelope, a new msg id each time.
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(new Set(sent.map((c) => c.type))).toEqual(new Set(['clock.ring']));
    expect(sent[1]!.msgId).toMatch(/:resend:1$/);
    expect(await node.mongo.db(node.config.mongoDb).collection('clock_rings').countDocuments({})).toBe(1);
  });

  it('a step that never answers exhausts its resends and the saga takes its failure path', async () => {
    const node = await startTestNode({
      dist: reminderApp({ clock: { silent: true } }),
      config: { shutdownTimeoutMs: 300 },
    });
    nodes.push(node);
    const id = await start(node, { delayMs: 50 });
    const doc = await node.waitForTerminal(id, 20_000);
    expect(doc.status).toBe('compensated');
    expect(doc.reason).toBe('clock never answered');
    const sent = (await node.store.historyOf(id)).flatMap((h) => h.commands);
    expect(sent).toHaveLength(4); // the command and its 3 resends
  });
});

describe('versioning', () => {
  it('v1 instances finish on v1 after v2 is deployed (restart in between); new ones take v2', async () => {
    const v1 = await startTestNode({ dist: reminderApp({ versions: [reminderV1] }) });
    const old = await start(v1, { delayMs: 600_000 });
    await v1.waitFor(old, (d) => d.state === 'waiting');
    await v1.stop();

    const v2 = await startTestNode({
      dist: reminderApp({ versions: [reminderV1, reminderV2] }),
      config: { namespace: v1.config.namespace, mongoDb: v1.config.mongoDb },
    });
    nodes.push(v2);
    const fresh = await start(v2, { delayMs: 10 });
    expect((await v2.waitForTerminal(fresh)).version).toBe(2);

    await sendGo(v2, old);
    const done = await v2.waitForTerminal(old);
    expect(done.version).toBe(1);
    const rings = await v2.mongo
      .db(v2.config.mongoDb)
      .collection<{ _id: string; sagaId: string; version: number }>('clock_rings')
      .find({})
      .toArray();
    expect(rings.find((r) => r.sagaId === old)?.version).toBe(1);
    expect(rings.find((r) => r.sagaId === fresh)?.version).toBe(2);
    const view = (await (await v2.fetch(`/v1/sagas/${old}`)).json()) as { version: number };
    expect(view.version).toBe(1);
  });

  it('an instance whose version is no longer registered is reported on the saga, not crashed on', async () => {
    const v1 = await startTestNode({ dist: reminderApp({ versions: [reminderV1] }) });
    const old = await start(v1, { delayMs: 600_000 });
    await v1.waitFor(old, (d) => d.state === 'waiting');
    await v1.stop();
    const v2only = await startTestNode({
      dist: reminderApp({ versions: [reminderV2] }),
      config: { namespace: v1.config.namespace, mongoDb: v1.config.mongoDb, maxDeliver: 2, retryBaseMs: 10 },
    });
    nodes.push(v2only);
    await sendGo(v2only, old);
    const reported = await v2only.waitFor(old, (d) => Boolean(d.error));
    expect(reported.error!.message).toContain('reminder v1 is not registered');
    expect(reported.status).toBe('running');
    expect((await v2only.fetch('/readyz')).status).toBe(200);
  });
});
