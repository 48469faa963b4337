import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  command,
  defineParticipant,
  type ParticipantDefinition,
  ParticipantHost,
} from '../../runtime/participants/index.ts';
import { useTestNode, waitUntil } from '../harness.ts';

/**
 * A participant's `schedules`: upkeep no command comes back for (the inventory's sweep of stray
 * holds). Two replicas of one service compete for each run through its lease, on the real
 * MongoDB-wire server; each run must happen on one of them only.
 */
describe('participant schedules', () => {
  const node = useTestNode({ roles: [] });

  it('a scheduled job runs once per period across competing replicas of the service', async () => {
    const db = node().mongo.db(node().config.mongoDb);
    const runs = db.collection<{ _id: string; replicas: string[] }>('sweeper_runs');
    const sweeper = (replica: string): ParticipantDefinition =>
      defineParticipant({
        name: 'sweeper',
        commands: { noop: command(z.object({}), async () => ({ type: 'done', data: {} })) },
        schedules: [
          {
            name: 'sweep',
            everyMs: 1000,
            run: async (ctx) => {
              await ctx.db
                .collection<{ _id: string; replicas: string[] }>('sweeper_runs')
                .updateOne(
                  { _id: ctx.dueAt.toISOString() },
                  { $push: { replicas: replica } },
                  { upsert: true },
                );
            },
          },
        ],
      });
    const hosts = ['a', 'b'].map(
      (replica) => new ParticipantHost(sweeper(replica), node().bus, db, node().log),
    );
    await Promise.all(hosts.map((h) => h.start()));
    try {
      await waitUntil(async () => (await runs.countDocuments()) >= 3, 'three runs', 20_000);
    } finally {
      await Promise.all(hosts.map((h) => h.stop()));
    }
    for (const run of await runs.find().toArray()) expect(run.replicas).toHaveLength(1);
    // The lease is the service's own: named after its durable, apart from any reactor's.
    const lease = await db
      .collection<{ _id: string }>('reactor_schedules')
      .findOne({ _id: 'svc-sweeper:sweep' });
    expect(lease).not.toBeNull();
  });

  it('checks its schedules when the service is defined, naming the field', () => {
    const base = { name: 'sweeper', commands: {} };
    const job = { name: 'sweep', everyMs: 1000, run: async () => undefined };
    expect(() => defineParticipant({ ...base, schedules: [{ ...job, everyMs: 10 }] })).toThrow(
      /service sweeper: schedules sweep: everyMs must be >= 1000/,
    );
    expect(() => defineParticipant({ ...base, schedules: [job, job] })).toThrow(/"sweep" twice/);
    expect(() => defineParticipant({ ...base, schedules: [{ ...job, name: 'Sweep' }] })).toThrow(
      /lowercase letters, digits and dashes/,
    );
  });
});
