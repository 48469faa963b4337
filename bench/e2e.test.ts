// The bench's saga watcher against the test run's MongoDB-wire server: it sees a saga terminal from
// its document, and a failed poll (here: its client closed under it) neither ends the watcher nor
// loses the saga it was for, which then ends as a timeout.
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { SagaDoc } from '../runtime/store/index.ts';
import { pollGapMs, TerminalWatcher } from './e2e.ts';

const client = new MongoClient(inject('mongoUrl'));
const db = client.db(`bench_watcher_${Date.now().toString(36)}`);
const sagas = db.collection<SagaDoc>('sagas');

afterAll(async () => {
  const admin = new MongoClient(inject('mongoUrl'));
  await admin.db(db.databaseName).dropDatabase();
  await admin.close();
});

describe('TerminalWatcher', () => {
  it('reports a terminal saga, and outlives failed polls', async () => {
    const watcher = new TerminalWatcher(sagas, 5, 1_000);
    const createdAt = new Date('2026-12-03T10:00:00.000Z');
    const endedAt = new Date(createdAt.getTime() + 42);
    await sagas.insertOne({
      _id: 'done-1',
      status: 'completed',
      createdAt,
      endedAt,
      updatedAt: endedAt,
    } as unknown as SagaDoc);
    const done = await watcher.wait('done-1');
    expect(done).toMatchObject({ sagaId: 'done-1', status: 'completed', serverMs: 42 });
    expect(watcher.failedQueries).toBe(0);

    await client.close();
    const lost = await watcher.wait('never-written');
    expect(lost).toMatchObject({ sagaId: 'never-written', status: 'timeout' });
    expect(watcher.failedQueries).toBeGreaterThan(0);
    expect(watcher.lastFailure).toMatch(/must be connected/);
    await watcher.close();
  });

  it('polls about a thousand sagas a second at any concurrency, and every half second at least', () => {
    expect(pollGapMs(1, 20)).toBe(20);
    expect(pollGapMs(64, 20)).toBe(64);
    expect(pollGapMs(256, 20)).toBe(256);
    expect(pollGapMs(5_000, 20)).toBe(500);
  });
});
