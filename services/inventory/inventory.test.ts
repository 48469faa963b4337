import { randomBytes } from 'node:crypto';
import { BSON, type Db, MongoClient } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger, type Reply, replyPathOf } from 'jetsaga';
import { commandRunner } from '../../test/run-command.ts';
import { giveBackStrayHolds, inventory, reservations, reserve, stock, strayHoldSweepMs } from './index.ts';

/** The inventory's handlers straight against the MongoDB-wire server, without a bus. */
describe('inventory', () => {
  let client: MongoClient;
  let db: Db;
  const log = createLogger('silent');
  beforeAll(async () => {
    client = await new MongoClient(inject('mongoUrl')).connect();
    db = client.db(`jetsaga_inv${randomBytes(4).toString('hex')}`);
    await inventory.setup!(db);
  });
  afterAll(async () => {
    await db?.dropDatabase().catch(() => undefined);
    await client?.close();
  });

  const run: (
    name: 'reserve' | 'commit' | 'release',
    data: Record<string, unknown>,
    commandId?: string,
  ) => Promise<Reply> = commandRunner(inventory, () => db, log);
  const sku = async (id: string) => (await stock(db).findOne({ _id: id }))!;
  /** Per SKU, stock is only ever moved: available + holds + committed is what it started with. */
  const total = async (id: string) => {
    const s = await sku(id);
    return s.available + Object.values(s.holds).reduce((a, b) => a + b, 0) + (s.committed ?? 0);
  };

  it('commit moves the hold to committed: the stock stays taken, the document forgets the order', async () => {
    const items = [
      { sku: 'SKU-1', qty: 2 },
      { sku: 'SKU-2', qty: 1 },
      { sku: 'SKU-1', qty: 1 },
    ];
    expect((await run('reserve', { orderId: 'o-1', items })).type).toBe('reserved');
    expect((await sku('SKU-1')).holds['o-1']).toBe(3);

    const reply = await run('commit', { orderId: 'o-1' });
    expect(reply).toMatchObject({
      stored: true,
      type: 'committed',
      data: {
        orderId: 'o-1',
        items: [
          { sku: 'SKU-1', qty: 3 },
          { sku: 'SKU-2', qty: 1 },
        ],
      },
    });
    expect(await sku('SKU-1')).toMatchObject({ available: 1_000_000 - 3, holds: {}, committed: 3 });
    expect(await sku('SKU-2')).toMatchObject({ available: 1_000_000 - 1, holds: {}, committed: 1 });
    expect((await reservations(db).findOne({ _id: 'o-1' }))?.status).toBe('committed');
    // With the SKUs' stock once the holds are settled, for whoever watches stock (the restock agent).
    expect(reply.data.levels).toEqual([
      { sku: 'SKU-1', available: 1_000_000 - 3 },
      { sku: 'SKU-2', available: 1_000_000 - 1 },
    ]);

    // Again (a new command id, as a retried step sends): nothing moves.
    expect((await run('commit', { orderId: 'o-1' })).type).toBe('committed');
    // A reserve after the commit takes nothing again; a release gives nothing back.
    expect((await run('reserve', { orderId: 'o-1', items })).type).toBe('reserved');
    expect(await run('release', { orderId: 'o-1' })).toEqual({
      type: 'release-refused',
      data: { orderId: 'o-1', reason: 'reservation committed' },
    });
    expect(await sku('SKU-1')).toMatchObject({ available: 1_000_000 - 3, holds: {}, committed: 3 });
    expect((await reservations(db).findOne({ _id: 'o-1' }))?.status).toBe('committed');
    expect(await total('SKU-1')).toBe(1_000_000);
    expect(await total('SKU-2')).toBe(1_000_000);
  });

  it('a commit interrupted after marking the reservation is finished by the next run', async () => {
    await run('reserve', { orderId: 'o-2', items: [{ sku: 'SKU-3', qty: 4 }] });
    // As if a run had marked the reservation, then crashed before moving the hold.
    await reservations(db).updateOne({ _id: 'o-2' }, { $set: { status: 'committed' } });
    expect((await sku('SKU-3')).holds['o-2']).toBe(4);
    expect((await run('commit', { orderId: 'o-2' })).type).toBe('committed');
    expect(await sku('SKU-3')).toMatchObject({ available: 1_000_000 - 4, holds: {}, committed: 4 });
  });

  it('concurrent commits and releases of one order: one of them wins, stock moves once', async () => {
    for (let i = 0; i < 10; i++) {
      const orderId = `race-${i}`;
      await run('reserve', { orderId, items: [{ sku: 'SKU-4', qty: 2 }] });
      const replies = await Promise.all([
        run('commit', { orderId }),
        run('release', { orderId }),
        run('commit', { orderId }),
        run('release', { orderId }),
      ]);
      const status = (await reservations(db).findOne({ _id: orderId }))!.status;
      const types = replies.map((r) => r.type);
      if (status === 'committed') {
        expect(types).toEqual(['committed', 'release-refused', 'committed', 'release-refused']);
      } else {
        expect(status).toBe('released');
        expect(types.filter((t) => t === 'released')).toHaveLength(2);
        expect(types.filter((t) => t === 'commit-refused')).toHaveLength(2);
      }
      expect((await sku('SKU-4')).holds[orderId]).toBeUndefined();
    }
    const s = await sku('SKU-4');
    expect(s.available + (s.committed ?? 0)).toBe(1_000_000);
    expect(await total('SKU-4')).toBe(1_000_000);
  });

  it('commit refuses an order that is not reserved, and moves nothing', async () => {
    expect(await run('commit', { orderId: 'nobody' })).toEqual({
      type: 'commit-refused',
      data: { orderId: 'nobody', reason: 'no reservation' },
    });
    await run('reserve', { orderId: 'o-3', items: [{ sku: 'SKU-5', qty: 1 }] });
    expect((await run('release', { orderId: 'o-3' })).type).toBe('released');
    expect(await run('commit', { orderId: 'o-3' })).toEqual({
      type: 'commit-refused',
      data: { orderId: 'o-3', reason: 'reservation released' },
    });
    expect((await run('reserve', { orderId: 'o-4', items: [{ sku: 'SKU-OUT', qty: 1 }] })).type).toBe(
      'out-of-stock',
    );
    expect((await run('commit', { orderId: 'o-4' })).data).toMatchObject({ reason: 'reservation rejected' });
    expect(await sku('SKU-5')).toMatchObject({ available: 1_000_000, holds: {} });
    expect((await sku('SKU-5')).committed ?? 0).toBe(0);
  });

  it('a reserve with one SKU short gives back the holds it took, and names the SKU', async () => {
    const items = [
      { sku: 'SKU-6', qty: 3 },
      { sku: 'SKU-OUT', qty: 1 },
      { sku: 'SKU-7', qty: 2 },
    ];
    expect(await run('reserve', { orderId: 'o-5', items })).toMatchObject({
      stored: true,
      type: 'out-of-stock',
      data: { orderId: 'o-5', sku: 'SKU-OUT', requested: 1, available: 0 },
    });
    for (const id of ['SKU-6', 'SKU-7']) {
      expect(await sku(id)).toMatchObject({ available: 1_000_000, holds: {} });
    }
    expect((await reservations(db).findOne({ _id: 'o-5' }))!.status).toBe('rejected');
    // The same command again: the reservation answers, nothing is taken.
    expect((await run('reserve', { orderId: 'o-5', items })).type).toBe('out-of-stock');
    expect(await total('SKU-6')).toBe(1_000_000);
    expect((await sku('SKU-6')).holds).toEqual({});
  });

  it('a reserve that crashed after some holds is finished by the next run, each hold taken once', async () => {
    const items = [
      { sku: 'SKU-8', qty: 2 },
      { sku: 'SKU-7', qty: 5 },
    ];
    // As if a run had recorded the reservation and taken the first hold, then crashed.
    const now = new Date();
    await reservations(db).insertOne({
      _id: 'o-6',
      status: 'pending',
      items,
      createdAt: now,
      updatedAt: now,
    });
    await stock(db).updateOne({ _id: 'SKU-8' }, { $inc: { available: -2 }, $set: { 'holds.o-6': 2 } });
    expect(await run('reserve', { orderId: 'o-6', items })).toMatchObject({
      stored: true,
      type: 'reserved',
      data: { orderId: 'o-6', items },
    });
    expect(await sku('SKU-8')).toMatchObject({ available: 1_000_000 - 2, holds: { 'o-6': 2 } });
    expect(await sku('SKU-7')).toMatchObject({ available: 1_000_000 - 5, holds: { 'o-6': 5 } });
    expect((await run('release', { orderId: 'o-6' })).type).toBe('released');
    expect(await sku('SKU-8')).toMatchObject({ available: 1_000_000, holds: {} });
    expect(await sku('SKU-7')).toMatchObject({ available: 1_000_000, holds: {} });
  });

  it('the hot documents stay small: 1,000 orders on one SKU leave it the size it started', async () => {
    const initial = BSON.calculateObjectSize(await sku('SKU-9'));
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, j) => {
          const orderId = `bulk-${i + j}-${'x'.repeat(24)}`;
          await run('reserve', { orderId, items: [{ sku: 'SKU-9', qty: 1 }] });
          await run('commit', { orderId });
        }),
      );
    }
    const after = await sku('SKU-9');
    expect(after).toMatchObject({ available: 1_000_000 - 1000, holds: {}, committed: 1000 });
    const size = BSON.calculateObjectSize(after);
    // Only the `committed` counter was added; a hold kept per order would have added about 40 KB.
    expect(size).toBeLessThanOrEqual(initial + 24);
    expect(size).toBeLessThan(100);
  });

  it('each command keeps its reply in the reservation; a re-run answers it unchanged, also after later commands', async () => {
    const items = [{ sku: 'SKU-1', qty: 2 }];
    const reserved = await run('reserve', { orderId: 'o-7', items }, 'saga-7:1:0');
    expect(reserved).toMatchObject({ stored: true, type: 'reserved', data: { orderId: 'o-7', items } });
    const committed = await run('commit', { orderId: 'o-7' }, 'saga-7:5:0');
    expect(committed).toMatchObject({ stored: true, type: 'committed', data: { orderId: 'o-7', items } });
    const after = await sku('SKU-1');
    const doc = (await reservations(db).findOne({ _id: 'o-7' }))!;
    // Kept without the items: they are the reservation's, added from it on every run.
    expect(doc.replies!['saga-7:5:0']).toEqual({
      type: 'committed',
      data: { orderId: 'o-7' },
      sagaId: 'saga',
      at: committed.at,
    });

    // Re-runs of both, after the commit: the first replies, nothing taken or settled again.
    expect(await run('commit', { orderId: 'o-7' }, 'saga-7:5:0')).toEqual(committed);
    expect(await run('reserve', { orderId: 'o-7', items }, 'saga-7:1:0')).toEqual(reserved);
    // A release (refused, unstored: nothing of its own took effect), then the commit once more.
    expect(await run('release', { orderId: 'o-7' }, 'saga-7:7:0')).toEqual({
      type: 'release-refused',
      data: { orderId: 'o-7', reason: 'reservation committed' },
    });
    expect(await run('commit', { orderId: 'o-7' }, 'saga-7:5:0')).toEqual(committed);
    expect(await sku('SKU-1')).toEqual(after);
    expect(await reservations(db).findOne({ _id: 'o-7' })).toEqual(doc);
  });

  it('a reserve re-run after its release answers its first reply and takes nothing', async () => {
    const items = [{ sku: 'SKU-2', qty: 3 }];
    const reserved = await run('reserve', { orderId: 'o-8', items }, 'saga-8:1:0');
    const released = await run('release', { orderId: 'o-8' }, 'saga-8:3:0');
    expect(released).toMatchObject({ stored: true, type: 'released', data: { orderId: 'o-8' } });
    expect(await run('reserve', { orderId: 'o-8', items }, 'saga-8:1:0')).toEqual(reserved);
    expect(await run('release', { orderId: 'o-8' }, 'saga-8:3:0')).toEqual(released);
    expect((await sku('SKU-2')).holds['o-8']).toBeUndefined();
    expect(await total('SKU-2')).toBe(1_000_000);
    expect((await reservations(db).findOne({ _id: 'o-8' }))!.status).toBe('released');
  });

  it('a commit or release that crashed after storing its reply is finished by its re-run', async () => {
    await run('reserve', { orderId: 'o-9', items: [{ sku: 'SKU-3', qty: 2 }] }, 'saga-9:1:0');
    await run('reserve', { orderId: 'o-10', items: [{ sku: 'SKU-3', qty: 5 }] }, 'saga-10:1:0');
    const before = await sku('SKU-3');
    // As if each run had stored its reply with the state, then crashed before moving the holds.
    const stored = (type: string, orderId: string) => ({
      type,
      data: { orderId, ...(type === 'committed' ? { items: [{ sku: 'SKU-3', qty: 2 }] } : {}) },
      sagaId: 'saga',
      at: '2026-01-01T00:00:00.000Z',
    });
    await reservations(db).updateOne(
      { _id: 'o-9' },
      { $set: { status: 'committed', 'replies.saga-9:3:0': stored('committed', 'o-9') } },
    );
    await reservations(db).updateOne(
      { _id: 'o-10' },
      { $set: { status: 'released', 'replies.saga-10:3:0': stored('released', 'o-10') } },
    );
    const finished = await run('commit', { orderId: 'o-9' }, 'saga-9:3:0');
    expect(finished).toEqual({
      type: 'committed',
      data: {
        orderId: 'o-9',
        items: [{ sku: 'SKU-3', qty: 2 }],
        levels: [{ sku: 'SKU-3', available: expect.any(Number) }],
      },
      stored: true,
      at: '2026-01-01T00:00:00.000Z',
    });
    expect(await run('release', { orderId: 'o-10' }, 'saga-10:3:0')).toMatchObject({
      type: 'released',
      stored: true,
      at: '2026-01-01T00:00:00.000Z',
    });
    expect(await sku('SKU-3')).toMatchObject({
      available: before.available + 5,
      holds: {},
      committed: (before.committed ?? 0) + 2,
    });
  });
  describe('a reserve run frozen between its check and its holds, woken after another run of its command reserved the order', () => {
    /**
     * Starts a run of `reserve` (command `commandId`) that stops where a frozen process would: it
     * has seen the reservation pending and taken no hold yet. `wake` lets it go on.
     */
    async function frozenRun(orderId: string, items: Array<{ sku: string; qty: number }>, commandId: string) {
      let reached!: () => void;
      const atHolds = new Promise<void>((resolve) => (reached = resolve));
      let wake!: () => void;
      const woken = new Promise<void>((resolve) => (wake = resolve));
      const ctx = { commandId, sagaId: 'saga', replyPath: replyPathOf(commandId) };
      const reply = reserve(db, { orderId, items }, ctx, async () => {
        reached();
        await woken;
      });
      await atHolds;
      return {
        wake: () => {
          wake();
          return reply;
        },
      };
    }
    const committedOf = async (id: string) => (await sku(id)).committed ?? 0;

    it('after the commit: it gives back the holds it took, and a commit run again sells nothing more', async () => {
      const items = [
        { sku: 'SKU-5', qty: 2 },
        { sku: 'SKU-6', qty: 1 },
      ];
      const before = { a: await committedOf('SKU-5'), b: await committedOf('SKU-6') };
      const frozen = await frozenRun('fz-1', items, 'fz-1:1:0');
      const reserved = await run('reserve', { orderId: 'fz-1', items }, 'fz-1:1:0');
      expect(reserved).toMatchObject({ stored: true, type: 'reserved' });
      const committed = await run('commit', { orderId: 'fz-1' }, 'fz-1:3:0');
      expect(committed.type).toBe('committed');

      // Woken: its holds are taken after the sale, and are nobody's; it answers the first reply.
      expect(await frozen.wake()).toEqual(reserved);
      expect(await run('commit', { orderId: 'fz-1' }, 'fz-1:3:0')).toEqual(committed);
      for (const [id, was, qty] of [
        ['SKU-5', before.a, 2],
        ['SKU-6', before.b, 1],
      ] as const) {
        expect((await sku(id)).holds['fz-1']).toBeUndefined();
        expect((await sku(id)).holders?.['fz-1']).toBeUndefined();
        expect(await committedOf(id)).toBe(was + qty);
        expect(await total(id)).toBe(1_000_000);
      }
    });

    it('midway through a commit that crashed: the commit run again sells each SKU once, the stray hold goes back', async () => {
      const items = [
        { sku: 'SKU-7', qty: 3 },
        { sku: 'SKU-8', qty: 4 },
      ];
      const before = { a: await committedOf('SKU-7'), b: await committedOf('SKU-8') };
      const frozen = await frozenRun('fz-2', items, 'fz-2:1:0');
      const reserved = await run('reserve', { orderId: 'fz-2', items }, 'fz-2:1:0');
      // As if a commit had marked the reservation and settled SKU-7, then crashed before SKU-8.
      await reservations(db).updateOne({ _id: 'fz-2' }, { $set: { status: 'committed' } });
      await stock(db).updateOne(
        { _id: 'SKU-7', 'holds.fz-2': 3 },
        { $inc: { committed: 3 }, $unset: { 'holds.fz-2': '', 'holders.fz-2': '' } },
      );
      // Woken: it holds SKU-7 again (the hold there was gone) and finds SKU-8 held by the other run.
      expect(await frozen.wake()).toEqual(reserved);
      expect((await run('commit', { orderId: 'fz-2' }, 'fz-2:3:0')).type).toBe('committed');
      for (const [id, was, qty] of [
        ['SKU-7', before.a, 3],
        ['SKU-8', before.b, 4],
      ] as const) {
        expect((await sku(id)).holds['fz-2']).toBeUndefined();
        expect(await committedOf(id)).toBe(was + qty);
        expect(await total(id)).toBe(1_000_000);
      }
    });

    it('woken after the commit and dead before giving its hold back: a starting replica gives it back, and only it', async () => {
      const items = [{ sku: 'SKU-3', qty: 2 }];
      const frozen = await frozenRun('fz-4', items, 'fz-4:1:0');
      await run('reserve', { orderId: 'fz-4', items }, 'fz-4:1:0');
      expect((await run('commit', { orderId: 'fz-4' }, 'fz-4:3:0')).type).toBe('committed');
      // What the woken run's hold looks like if its process dies right after taking it.
      await stock(db).updateOne(
        { _id: 'SKU-3' },
        { $inc: { available: -2 }, $set: { 'holds.fz-4': 2, 'holders.fz-4': 'dead-run' } },
      );
      // Holds that are not stray, beside it: a reservation still in flight, and a commit's counted
      // hold not settled yet.
      expect((await run('reserve', { orderId: 'fz-5', items: [{ sku: 'SKU-3', qty: 1 }] })).type).toBe(
        'reserved',
      );
      expect((await run('reserve', { orderId: 'fz-6', items: [{ sku: 'SKU-4', qty: 1 }] })).type).toBe(
        'reserved',
      );
      await reservations(db).updateOne({ _id: 'fz-6' }, { $set: { status: 'committed' } });

      expect(await giveBackStrayHolds(db)).toBe(1);
      expect((await sku('SKU-3')).holds).toEqual({ 'fz-5': 1 });
      expect((await sku('SKU-4')).holds['fz-6']).toBe(1);
      expect(await total('SKU-3')).toBe(1_000_000);
      expect(await giveBackStrayHolds(db)).toBe(0);
      // The woken run itself, let go now, finds nothing of its order left to give back twice.
      await frozen.wake();
      expect(await total('SKU-3')).toBe(1_000_000);
      expect((await run('commit', { orderId: 'fz-6' }, 'fz-6:3:0')).type).toBe('committed');
      expect((await sku('SKU-4')).holds['fz-6']).toBeUndefined();
    });

    it('a stray hold does not wait for a replica to start: the scheduled sweep gives it back', async () => {
      const items = [{ sku: 'SKU-5', qty: 3 }];
      await run('reserve', { orderId: 'fz-7', items }, 'fz-7:1:0');
      expect((await run('release', { orderId: 'fz-7' }, 'fz-7:3:0')).type).toBe('released');
      // A run of the reserve, frozen and woken after the release, that died holding again.
      await stock(db).updateOne(
        { _id: 'SKU-5' },
        { $inc: { available: -3 }, $set: { 'holds.fz-7': 3, 'holders.fz-7': 'dead-run' } },
      );
      const sweep = inventory.schedules?.find((s) => s.name === 'give-back-stray-holds');
      expect(sweep?.everyMs).toBe(strayHoldSweepMs);
      const said: Array<Record<string, unknown>> = [];
      const sweepLog = pino({ level: 'info' }, { write: (line: string) => said.push(JSON.parse(line)) });
      await sweep!.run({ db, log: sweepLog, dueAt: new Date() });
      expect((await sku('SKU-5')).holds['fz-7']).toBeUndefined();
      expect(await total('SKU-5')).toBe(1_000_000);
      expect(said).toContainEqual(expect.objectContaining({ msg: 'gave back stray holds', holds: 1 }));
      // Nothing stray is left: the next sweep gives nothing back and says nothing.
      await sweep!.run({ db, log: sweepLog, dueAt: new Date() });
      expect(said).toHaveLength(1);
    });

    it('after a release: nothing of the order stays held', async () => {
      const items = [{ sku: 'SKU-9', qty: 5 }];
      const frozen = await frozenRun('fz-3', items, 'fz-3:1:0');
      const reserved = await run('reserve', { orderId: 'fz-3', items }, 'fz-3:1:0');
      expect((await run('release', { orderId: 'fz-3' }, 'fz-3:3:0')).type).toBe('released');
      expect(await frozen.wake()).toEqual(reserved);
      expect((await sku('SKU-9')).holds['fz-3']).toBeUndefined();
      expect(await total('SKU-9')).toBe(1_000_000);
    });
  });
});
