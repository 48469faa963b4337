import { EventEmitter } from 'node:events';
import type { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { CommandMetrics, instrumentMongoClient } from './command-metrics.ts';

type Seen = { command: string; collection: string; outcome: string; seconds: number };

function listener() {
  const seen: Seen[] = [];
  let clock = 1000;
  const metrics = new CommandMetrics(
    (labels, seconds) => seen.push({ ...labels, seconds }),
    () => clock,
  );
  return {
    metrics,
    seen,
    tick: (ms: number) => {
      clock += ms;
    },
  };
}

const started = (requestId: number, commandName: string, command: Record<string, unknown>) => ({
  requestId,
  commandName,
  command,
});

describe('CommandMetrics', () => {
  it('times a command from its start to its reply, matched by requestId, with its collection', () => {
    const { metrics, seen, tick } = listener();
    metrics.started(started(1, 'update', { update: 'sagas', updates: [] }));
    tick(2);
    metrics.started(started(2, 'find', { find: 'saga_history', filter: {} }));
    tick(3);
    metrics.succeeded({ requestId: 2 });
    tick(5);
    metrics.succeeded({ requestId: 1 });
    expect(seen).toEqual([
      { command: 'find', collection: 'saga_history', outcome: 'ok', seconds: 0.003 },
      { command: 'update', collection: 'sagas', outcome: 'ok', seconds: 0.01 },
    ]);
    expect(metrics.pending).toBe(0);
  });

  it('counts a failed command as an error', () => {
    const { metrics, seen, tick } = listener();
    metrics.started(started(7, 'insert', { insert: 'sagas', documents: [] }));
    tick(1);
    metrics.failed({ requestId: 7 });
    expect(seen).toEqual([{ command: 'insert', collection: 'sagas', outcome: 'error', seconds: 0.001 }]);
  });

  it('takes getMore’s collection from its `collection` field, not its cursor id', () => {
    const { metrics, seen } = listener();
    metrics.started(started(3, 'getMore', { getMore: 123n, collection: 'sagas' }));
    metrics.succeeded({ requestId: 3 });
    expect(seen[0]).toMatchObject({ command: 'getMore', collection: 'sagas' });
  });

  it('bounds the labels: unknown commands are `other`, database commands have no collection', () => {
    const { metrics, seen } = listener();
    metrics.started(started(1, 'hello', { hello: 1 }));
    metrics.started(started(2, 'aggregate', { aggregate: 1, pipeline: [] }));
    metrics.started(started(3, 'endSessions', { endSessions: [] }));
    for (const requestId of [1, 2, 3]) metrics.succeeded({ requestId });
    expect(seen.map(({ command, collection }) => [command, collection])).toEqual([
      ['other', ''],
      ['aggregate', ''],
      ['other', ''],
    ]);
  });

  it('caps the collection names it labels', () => {
    const { metrics, seen } = listener();
    for (let i = 0; i < 70; i++) {
      metrics.started(started(i, 'find', { find: `c${i}` }));
      metrics.succeeded({ requestId: i });
    }
    expect(new Set(seen.map((s) => s.collection)).size).toBe(65);
    expect(seen.at(-1)!.collection).toBe('other');
  });

  it('ignores an end whose start it did not see, and a second reply of one request', () => {
    const { metrics, seen } = listener();
    metrics.succeeded({ requestId: 99 });
    metrics.started(started(1, 'find', { find: 'sagas' }));
    metrics.succeeded({ requestId: 1 });
    metrics.succeeded({ requestId: 1 });
    expect(seen).toHaveLength(1);
  });
});

describe('instrumentMongoClient', () => {
  it('adds its listeners once per client', () => {
    const emitter = new EventEmitter();
    const client = emitter as unknown as MongoClient;
    const { metrics, seen } = listener();
    expect(instrumentMongoClient(client, metrics)).toBe(true);
    expect(instrumentMongoClient(client, metrics)).toBe(false);
    emitter.emit('commandStarted', started(1, 'delete', { delete: 'sagas' }));
    emitter.emit('commandSucceeded', { requestId: 1 });
    expect(seen).toEqual([{ command: 'delete', collection: 'sagas', outcome: 'ok', seconds: 0 }]);
    expect(emitter.listenerCount('commandStarted')).toBe(1);
  });
});
