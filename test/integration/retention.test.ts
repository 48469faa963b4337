import { describe, expect, it } from 'vitest';
import type { App } from '../../runtime/app.ts';
import { DeadLetterSchema, type DeadLetter } from '../../runtime/messaging/index.ts';
import { defineReactor } from '../../runtime/participants/index.ts';
import type { HistoryEntry } from '../../runtime/store/index.ts';
import { approvalApp } from '../fixtures/approval.ts';
import { outboxSettled, testEnvelope, useTestNode, waitUntil } from '../harness.ts';

/** The approval app, and a reactor that records every `desk.prepared` it sees (its inbox is purged too). */
function retentionApp(): App {
  const app = approvalApp();
  return {
    ...app,
    reactors: {
      'desk-watch': defineReactor({
        name: 'desk-watch',
        source: 'desk-watch',
        on: 'desk.prepared',
        inbox: 'desk_watch_records',
        react: async () => null,
      }),
    },
  };
}

// Short periods: the floor is the stream max age plus the dead-letter retention, so those are short too.
const retentionMs = 3_000;

describe('retention', () => {
  const node = useTestNode({
    dist: retentionApp(),
    config: {
      streamMaxAgeMs: 1_500,
      dlqMaxAgeMs: 1_500,
      duplicateWindowMs: 1_000,
      retentionMs,
      inboxRetentionMs: retentionMs,
      purgeIntervalMs: 100,
      // Smaller than what is due at once: the purge takes several bounded rounds.
      purgeBatch: 2,
    },
  });
  const db = () => node().mongo.db(node().config.mongoDb);
  const processed = () => db().collection<{ _id: string; reply: { sagaId: string } }>('desk_processed');
  const watched = () => db().collection<{ _id: string; sagaId: string }>('desk_watch_records');

  async function start(request: string): Promise<string> {
    const res = await node().post('/v1/saga-types/approval/sagas', { request });
    expect(res.status).toBe(202);
    const { sagaId } = (await res.json()) as { sagaId: string };
    await node().waitFor(sagaId, (d) => d.state === 'awaitingApproval');
    return sagaId;
  }
  async function complete(sagaId: string): Promise<void> {
    const res = await node().post(`/v1/sagas/${sagaId}/signals/approve`, { note: 'fine' });
    expect(res.status).toBe(202);
    await node().waitFor(sagaId, (d) => d.status === 'completed' && outboxSettled(d));
    // Its records are written before the replies that end it: there by now.
    await waitUntil(
      async () => (await processed().countDocuments({ 'reply.sagaId': sagaId })) === 2,
      `desk records of ${sagaId}`,
    );
  }
  /** A history entry as a long saga moves it out to saga_history. */
  const movedEntry = (sagaId: string): HistoryEntry => ({
    sagaId,
    rev: 1_000,
    event: { id: `${sagaId}:moved`, type: 'desk.prepared', data: {} },
    from: 'preparing',
    to: 'awaitingApproval',
    status: 'running',
    commands: [],
    timers: { set: [], cancelled: [] },
    at: new Date(),
  });
  async function leftOf(sagaId: string) {
    return {
      saga: await node().store.sagaExists(sagaId),
      history: await node().store.history.countDocuments({ sagaId }),
      processed: await processed().countDocuments({ 'reply.sagaId': sagaId }),
      watched: await watched().countDocuments({ sagaId }),
    };
  }

  it('deletes ended sagas, their history and old inbox records after the period, and leaves running sagas and recent records alone', async () => {
    const running = await start('still deciding');
    const ended: string[] = [];
    for (const request of ['a', 'b', 'c', 'd', 'e']) {
      const sagaId = await start(request);
      await complete(sagaId);
      ended.push(sagaId);
    }
    await node().store.history.insertMany([...ended, running].map(movedEntry));
    expect(await leftOf(ended[0]!)).toEqual({ saga: true, history: 1, processed: 2, watched: 1 });

    // The API says how long an ended saga stays; a running one has no end yet.
    const view = (await (await node().fetch(`/v1/sagas/${ended[0]}`)).json()) as {
      endedAt: string;
      expiresAt: string | null;
    };
    expect(Date.parse(view.expiresAt!)).toBe(Date.parse(view.endedAt) + retentionMs);
    const runningView = (await (await node().fetch(`/v1/sagas/${running}`)).json()) as {
      expiresAt: string | null;
    };
    expect(runningView.expiresAt).toBeNull();

    for (const sagaId of ended) {
      let left = await leftOf(sagaId);
      await waitUntil(
        async () => {
          left = await leftOf(sagaId);
          return !left.saga && left.history + left.processed + left.watched === 0;
        },
        () => `saga ${sagaId} purged; left: ${JSON.stringify(left)}`,
        30_000,
        50,
      );
    }
    const gone = await node().fetch(`/v1/sagas/${ended[0]}`);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { detail: string }).detail).toContain('was purged at');

    // The running saga is older than the period, and so is its record of desk.prepare: both stay.
    const kept = await node().store.load(running);
    expect(kept?.status).toBe('running');
    expect(Date.now() - kept!.createdAt.getTime()).toBeGreaterThan(retentionMs);
    expect(await leftOf(running)).toEqual({ saga: true, history: 1, processed: 1, watched: 1 });

    // A saga that has just ended is kept, with its records, until its period has passed.
    const recent = await start('just now');
    await complete(recent);
    const endedAt = (await node().store.load(recent))!.endedAt!;
    const left = await leftOf(recent);
    if (Date.now() - endedAt.getTime() < retentionMs)
      expect(left).toEqual({ saga: true, history: 0, processed: 2, watched: 1 });

    const metrics = await (await fetch(`${node().ops!.url}/metrics`)).text();
    expect(metrics).toMatch(/jetsaga_purged_total\{collection="sagas"\} [1-9]/);
    expect(metrics).toMatch(/jetsaga_purged_total\{collection="desk_processed"\} [1-9]/);
    expect(metrics).toMatch(/jetsaga_purged_total\{collection="desk_watch_records"\} [1-9]/);
  });

  it('dead-letters an event for a purged saga, or one older than the period for no saga, with reason purged', async () => {
    const sagaId = await start('gone soon');
    await complete(sagaId);
    await waitUntil(
      async () =>
        (await node().store.tombstoneOf(sagaId)) !== null && !(await node().store.sagaExists(sagaId)),
      `saga ${sagaId} purged`,
      30_000,
      50,
    );

    // Read as it is published: dead letters are kept only JETSAGA_DLQ_MAX_AGE_MS here.
    const { bus } = node();
    const sub = bus.nc.subscribe(bus.topo.dlqSubject('orchestrator'));
    const letters: DeadLetter[] = [];
    void (async () => {
      for await (const m of sub) letters.push(DeadLetterSchema.parse(m.json()));
    })();
    await bus.nc.flush();
    const late = { ...testEnvelope('desk.filed', `${sagaId}:late`, sagaId, {}), sagaType: 'approval' };
    // No saga and no tombstone, but older than the period: its saga would have been purged by now.
    const stale = {
      ...testEnvelope('desk.filed', 'long-gone:late', 'long-gone', {}),
      sagaType: 'approval',
      occurredAt: new Date(Date.now() - 10 * retentionMs).toISOString(),
    };
    await bus.publish('evt.desk.filed', late, late.id);
    await bus.publish('evt.desk.filed', stale, stale.id);

    const letterOf = (id: string) =>
      waitUntil(
        () => letters.find((l) => (JSON.parse(l.payload) as { id: string }).id === id),
        `the dead letter of ${id}`,
      );
    const letter = await letterOf(late.id);
    expect(letter.reason).toBe('purged');
    expect(letter.attempts).toBe(1);
    expect(letter.error).toContain(`saga ${sagaId} (approval) ended`);
    expect(letter.error).toContain('was purged at');
    const staleLetter = await letterOf(stale.id);
    sub.unsubscribe();
    expect(staleLetter.reason).toBe('purged');
    expect(staleLetter.error).toContain('longer ago than the retention period');
  });
});
