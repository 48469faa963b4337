import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineApp } from '../../runtime/app.ts';
import type { Envelope } from '../../runtime/wire/index.ts';
import { sagaIdForKey } from '../../runtime/orchestrator/index.ts';
import {
  defineReactor,
  EventReactorHost,
  type ReactionRecord,
  type ReactorDefinition,
} from '../../runtime/participants/index.ts';
import { clockService, reminderV1 } from '../fixtures/reminder.ts';
import { testEnvelope, useTestNode, waitUntil, watchEvents } from '../harness.ts';

/**
 * The reactor API as a user meets it: a reactor on two event types that starts a saga once per
 * key, answers one type and ignores the other; and a job on a schedule that runs once per
 * period however many replicas compete for it.
 */
const starter = defineReactor({
  name: 'starter',
  description: 'starts a reminder per requested key',
  source: 'starter',
  on: ['probe.requested', 'probe.noise'],
  async react(event, ctx) {
    if (event.type === 'probe.noise') return null;
    const key = (event.data as { key: string }).key;
    const { sagaId, created } = await ctx.startSaga(
      'reminder',
      { delayMs: 60_000, label: key },
      { idempotencyKey: key },
    );
    return { type: 'started', data: { sagaId, created } };
  },
});

describe('event reactors', () => {
  const node = useTestNode({
    dist: defineApp({ sagas: [reminderV1], participants: [clockService()], reactors: [starter] }),
    roles: [{ kind: 'reactor', name: 'starter' }, { kind: 'orchestrator' }],
  });
  let watched: Awaited<ReturnType<typeof watchEvents>>;

  beforeAll(async () => {
    watched = await watchEvents(node());
  });
  afterAll(async () => {
    watched?.stop();
  });

  const publish = (env: Envelope, msgId = env.id) => node().bus.publish(`evt.${env.type}`, env, msgId);
  const records = () =>
    node().mongo.db(node().config.mongoDb).collection<ReactionRecord>('starter_reactions');

  /** `probe` until it finds something (anything but undefined). */
  async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
    const found = await waitUntil(async () => {
      const value = await probe();
      return value === undefined ? null : { value };
    }, what);
    return found.value;
  }

  it('starts one saga per idempotency key, however often and from however many events it is asked', async () => {
    const first = testEnvelope('probe.requested', 'req-1', 'outside-1', { key: 'k-1' });
    const second = testEnvelope('probe.requested', 'req-2', 'outside-2', { key: 'k-1' });
    await publish(first);
    await publish(first, 'req-1:copy'); // the same event again under another message id
    await publish(second);
    const sagaId = sagaIdForKey('reminder', 'k-1');
    const reactions = await until('two reactions', async () => {
      const r = watched.events.filter((e) => e.type === 'starter.started');
      return new Set(r.map((e) => e.causationId)).size === 2 ? r : undefined;
    });
    expect(reactions.every((r) => r.data.sagaId === sagaId)).toBe(true);
    // Runs that raced (the copy) may both have asked; the one that created the saga may not be the
    // reaction recorded first, so at most one recorded reaction says it created the saga.
    const byCause = new Map(reactions.map((r) => [r.causationId, r.data.created]));
    expect([...byCause.values()].filter((created) => created === true).length).toBeLessThanOrEqual(1);
    const doc = await node().waitFor(sagaId, (d) => d.state !== null);
    expect(doc.type).toBe('reminder');
    // The saga joins the correlation of the event that started it.
    expect(['outside-1', 'outside-2']).toContain(doc.correlationId);
    expect(await node().store.sagas.countDocuments({ type: 'reminder' })).toBe(1);
  });

  it('an event it answers with null is recorded, and nothing is published for it', async () => {
    const noise = testEnvelope('probe.noise', 'noise-1', 'outside-3', {});
    await publish(noise);
    const record = await until(
      'the record',
      async () => (await records().findOne({ _id: 'noise-1' })) ?? undefined,
    );
    expect(record.reaction).toBeNull();
    // Flushed after the record: anything the reactor published for it would be here by now.
    await node().bus.nc.flush();
    expect(watched.events.filter((e) => e.causationId === 'noise-1')).toEqual([]);
  });

  it('a scheduled job runs once per period across competing replicas', async () => {
    const db = node().mongo.db(node().config.mongoDb);
    const runs = db.collection<{ _id: string; replicas: string[] }>('tick_runs');
    const ticker = (replica: string): ReactorDefinition =>
      defineReactor({
        name: 'ticker',
        source: 'ticker',
        on: 'probe.never',
        react: async () => null,
        schedules: [
          {
            name: 'tick',
            everyMs: 1000,
            run: async (ctx) => {
              await runs.updateOne(
                { _id: ctx.dueAt.toISOString() },
                { $push: { replicas: replica } },
                { upsert: true },
              );
            },
          },
        ],
      });
    const hosts = ['a', 'b'].map(
      (replica) =>
        new EventReactorHost(ticker(replica), {
          bus: node().bus,
          db,
          log: node().log,
          config: node().config,
          startSaga: () => Promise.reject(new Error('starts no saga')),
        }),
    );
    await Promise.all(hosts.map((h) => h.start()));
    try {
      await until('three runs', async () => ((await runs.countDocuments()) >= 3 ? true : undefined));
    } finally {
      await Promise.all(hosts.map((h) => h.stop()));
    }
    for (const run of await runs.find().toArray()) expect(run.replicas).toHaveLength(1);
  });

  it('names are checked when the reactor is defined', () => {
    expect(() => defineReactor({ ...starter, name: 'Bad Name' })).toThrow(/name/);
    expect(() => defineReactor({ ...starter, on: ['payment'] })).toThrow(/<source>\.<event>/);
    expect(() => defineApp({ sagas: [], reactors: [starter, starter] })).toThrow(/twice/);
    expect(() => defineApp({ sagas: [], reactors: [{ ...starter, name: 'api' }] })).toThrow(/built-in role/);
    // The CLI's own commands are not reactor names either: `jetsaga <name>` would never reach one.
    for (const name of ['asyncapi', 'contracts', 'provision'])
      expect(() => defineApp({ sagas: [], reactors: [{ ...starter, name }] })).toThrow(/built-in role/);
  });
});
