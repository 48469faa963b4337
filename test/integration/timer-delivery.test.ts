import { jetstreamManager } from '@nats-io/jetstream';
import { afterEach, describe, expect, it } from 'vitest';
import { TimerScheduler, timerEventType } from '../../runtime/timers/index.ts';
import { reminderApp } from '../fixtures/reminder.ts';
import { startTestNode, type TestNode } from '../harness.ts';

/**
 * Where a due timer's event goes: straight to the polling orchestrator's actor (with the document
 * the poll read), or, when that local step fails, through the stream like any event. Either way
 * the timer fires once. Real NATS and MongoDB-wire server.
 */
const nodes: TestNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.destroy();
});

async function startReminder(node: TestNode, delayMs: number): Promise<string> {
  const res = await node.post('/v1/saga-types/reminder/sagas', { delayMs });
  expect(res.status).toBe(202);
  return ((await res.json()) as { sagaId: string }).sagaId;
}

const timerFirings = async (node: TestNode, sagaId: string) =>
  (await node.store.historyOf(sagaId)).filter(
    (h) =>
      h.event.type === timerEventType &&
      !String((h.event.data as { timerId: string }).timerId).startsWith('jetsaga.resend.'),
  );

/** `saga.timer` messages in the events stream. */
async function timerMessages(node: TestNode): Promise<number> {
  const jsm = await jetstreamManager(node.bus.nc);
  const info = await jsm.streams.info(node.bus.topo.streams.evt, {
    subjects_filter: `${node.config.namespace}.evt.${timerEventType}`,
  });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
}

describe('timer delivery', () => {
  it('a due timer takes its step in the orchestrator that polled it, with no message on the stream', async () => {
    const node = await startTestNode({ dist: reminderApp() });
    nodes.push(node);
    const ids = await Promise.all(Array.from({ length: 5 }, () => startReminder(node, 300)));
    for (const id of ids) expect((await node.waitForTerminal(id, 20_000)).status).toBe('completed');
    for (const id of ids) expect(await timerFirings(node, id)).toHaveLength(1);
    expect(node.orchestrator!.timers.fired).toBeGreaterThanOrEqual(5);
    expect(node.orchestrator!.timers.published).toBe(0);
    expect(await timerMessages(node)).toBe(0);
  });

  it('a timer whose local step fails is published instead, and fires once through the stream', async () => {
    const node = await startTestNode({ dist: reminderApp() });
    nodes.push(node);
    // This orchestrator's scheduler is replaced by one whose local step always fails.
    await node.orchestrator!.timers.stop();
    const failing = new TimerScheduler(node.store, node.bus, node.log, 50, {
      local: async () => {
        throw new Error('local step refused (test)');
      },
    });
    failing.start();
    try {
      const id = await startReminder(node, 200);
      expect((await node.waitForTerminal(id, 20_000)).status).toBe('completed');
      expect(await timerFirings(node, id)).toHaveLength(1);
      expect(failing.published).toBeGreaterThanOrEqual(1);
      expect(await timerMessages(node)).toBeGreaterThanOrEqual(1);
    } finally {
      await failing.stop();
    }
  });

  /** Sagas waiting on their reminder (an hour away), then made due at once, as after a long outage. */
  async function dueSagas(node: TestNode, count: number): Promise<string[]> {
    await node.orchestrator!.timers.stop();
    const ids = await Promise.all(Array.from({ length: count }, () => startReminder(node, 3_600_000)));
    for (const id of ids) await node.waitFor(id, (d) => d.nextWakeAt !== null, 10_000);
    const past = new Date(Date.now() - 1000);
    for (const id of ids) {
      const doc = (await node.store.sagas.findOne({ _id: id }))!;
      const set: Record<string, Date> = { nextWakeAt: past };
      for (const key of Object.keys(doc.timers)) set[`timers.${key}.dueAt`] = past;
      await node.store.sagas.updateOne({ _id: id }, { $set: set });
    }
    return ids;
  }

  it('a poll reads due sagas page by page and steps each of them once', async () => {
    const node = await startTestNode({ dist: reminderApp() });
    nodes.push(node);
    const ids = await dueSagas(node, 12);
    const orchestrator = node.orchestrator!;
    const paged = new TimerScheduler(node.store, node.bus, node.log, 50, {
      local: (env, doc) => orchestrator.stepTimer(env, doc, node.log),
      pageSize: 5,
    });
    expect(await paged.poll()).toBe(12);
    for (const id of ids) expect((await node.waitForTerminal(id, 20_000)).status).toBe('completed');
    for (const id of ids) expect(await timerFirings(node, id)).toHaveLength(1);
    expect(paged.published).toBe(0);
  });

  it('a page of sagas that stay due does not hide the others: they are published', async () => {
    const node = await startTestNode({ dist: reminderApp() });
    nodes.push(node);
    const ids = await dueSagas(node, 12);
    // No orchestrator consumes events while the poll runs, and every local step fails: the sagas of
    // the first page stay due, so the second page is the first again, and the poll reads the rest
    // in one query and publishes them.
    await node.orchestrator!.stop();
    const stuck = new TimerScheduler(node.store, node.bus, node.log, 50, {
      local: async () => {
        throw new Error('local step refused (test)');
      },
      pageSize: 5,
    });
    expect(await stuck.poll()).toBe(12);
    expect(stuck.published).toBe(12);
    expect(await timerMessages(node)).toBe(12);
    // An orchestrator comes back and takes them from the stream.
    const next = await startTestNode({
      dist: reminderApp(),
      roles: [{ kind: 'orchestrator' }],
      config: { namespace: node.config.namespace, mongoDb: node.config.mongoDb },
    });
    nodes.unshift(next); // stopped before the node that owns the namespace
    for (const id of ids) expect((await node.waitForTerminal(id, 20_000)).status).toBe('completed');
    for (const id of ids) expect(await timerFirings(node, id)).toHaveLength(1);
  });
});
