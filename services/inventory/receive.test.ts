import { randomBytes } from 'node:crypto';
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger, type Reply, replyPathOf } from 'jetsaga';
import { commandRunner } from '../../test/run-command.ts';
import { inventory, receipts, receive, stock } from './index.ts';

/** `inventory.receive` straight against the MongoDB-wire server: each receipt adds its stock once. */
describe('inventory.receive', () => {
  let client: MongoClient;
  let db: Db;
  const log = createLogger('silent');
  beforeAll(async () => {
    client = await new MongoClient(inject('mongoUrl')).connect();
    db = client.db(`jetsaga_rcv${randomBytes(4).toString('hex')}`);
    await inventory.setup!(db);
  });
  afterAll(async () => {
    await db?.dropDatabase().catch(() => undefined);
    await client?.close();
  });

  const run: (
    name: 'receive' | 'reserve',
    data: Record<string, unknown>,
    commandId?: string,
  ) => Promise<Reply> = commandRunner(inventory, () => db, log);
  /** A SKU of its own per test, so each starts from a known stock. */
  const freshSku = async (available = 10) => {
    const id = `RCV-${randomBytes(3).toString('hex')}`;
    await stock(db).insertOne({ _id: id, available, holds: {}, holders: {} });
    return id;
  };
  const sku = async (id: string) => (await stock(db).findOne({ _id: id }))!;
  const receiptOf = async (id: string) => (await receipts(db).findOne({ _id: id }))!;
  const ctxOf = (commandId: string) => ({ commandId, sagaId: 'saga', replyPath: replyPathOf(commandId) });

  it('adds the quantity to available and to received, and leaves no marker', async () => {
    const id = await freshSku();
    const reply = await run('receive', { receiptId: 'po-1', sku: id, qty: 5 });
    expect(reply).toMatchObject({
      stored: true,
      type: 'received',
      data: { receiptId: 'po-1', sku: id, qty: 5 },
    });
    expect(await sku(id)).toMatchObject({ available: 15, received: 5, receipts: {} });
    expect(await receiptOf('po-1')).toMatchObject({ status: 'applied', sku: id, qty: 5 });
  });

  it('a re-run of the command answers its first reply; another command for the receipt adds nothing', async () => {
    const id = await freshSku();
    const first = await run('receive', { receiptId: 'po-2', sku: id, qty: 3 }, 'rs:1:0');
    expect(await run('receive', { receiptId: 'po-2', sku: id, qty: 3 }, 'rs:1:0')).toEqual(first);
    // A resent step is a new command: it is told the goods are in, and they are counted once.
    expect(await run('receive', { receiptId: 'po-2', sku: id, qty: 3 }, 'rs:2:0')).toMatchObject({
      stored: true,
      type: 'received',
      data: { qty: 3 },
    });
    expect(await sku(id)).toMatchObject({ available: 13, received: 3 });
  });

  it('a run that crashed after the receipt was inserted is finished by the next run, once', async () => {
    const id = await freshSku();
    const now = new Date();
    await receipts(db).insertOne({
      _id: 'po-3',
      status: 'pending',
      sku: id,
      qty: 4,
      createdAt: now,
      updatedAt: now,
    });
    expect((await run('receive', { receiptId: 'po-3', sku: id, qty: 4 })).type).toBe('received');
    expect(await sku(id)).toMatchObject({ available: 14, received: 4 });
  });

  it('a run that crashed between the stock update and marking the receipt: the next run adds nothing again', async () => {
    const id = await freshSku();
    const now = new Date();
    // As if a run had added the stock (with its marker), then crashed before marking the receipt.
    await receipts(db).insertOne({
      _id: 'po-4',
      status: 'pending',
      sku: id,
      qty: 6,
      createdAt: now,
      updatedAt: now,
    });
    await stock(db).updateOne(
      { _id: id },
      { $inc: { available: 6, received: 6 }, $set: { 'receipts.po-4': 6 } },
    );
    expect((await run('receive', { receiptId: 'po-4', sku: id, qty: 6 })).type).toBe('received');
    expect(await sku(id)).toMatchObject({ available: 16, received: 6, receipts: {} });
    expect((await receiptOf('po-4')).status).toBe('applied');
  });

  it('a run that crashed after marking the receipt leaves a marker the next run clears', async () => {
    const id = await freshSku();
    const first = await run('receive', { receiptId: 'po-5', sku: id, qty: 2 }, 'm:1:0');
    await stock(db).updateOne({ _id: id }, { $set: { 'receipts.po-5': 2 } });
    expect(await run('receive', { receiptId: 'po-5', sku: id, qty: 2 }, 'm:1:0')).toEqual(first);
    expect(await sku(id)).toMatchObject({ available: 12, received: 2, receipts: {} });
  });

  it('concurrent runs of one receipt, and other receipts of the same SKU at once: each added once', async () => {
    const id = await freshSku(0);
    const replies = await Promise.all([
      ...Array.from({ length: 6 }, (_, i) =>
        run('receive', { receiptId: 'po-6', sku: id, qty: 7 }, i % 2 === 0 ? 'c:1:0' : `c:${i}:0`),
      ),
      ...Array.from({ length: 4 }, (_, i) => run('receive', { receiptId: `po-6-${i}`, sku: id, qty: 1 })),
    ]);
    expect(replies.every((r) => r.type === 'received')).toBe(true);
    expect(await sku(id)).toMatchObject({ available: 11, received: 11, receipts: {} });
  });

  it('a run frozen after its reads, woken after another run did it all, adds nothing', async () => {
    const id = await freshSku();
    let reached!: () => void;
    const atApply = new Promise<void>((resolve) => (reached = resolve));
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    // The receipt exists and is pending when the frozen run reads it.
    const now = new Date();
    await receipts(db).insertOne({
      _id: 'po-7',
      status: 'pending',
      sku: id,
      qty: 9,
      createdAt: now,
      updatedAt: now,
    });
    const frozen = receive(db, { receiptId: 'po-7', sku: id, qty: 9 }, ctxOf('f:1:0'), async () => {
      reached();
      await woken;
    });
    await atApply;
    const done = await run('receive', { receiptId: 'po-7', sku: id, qty: 9 }, 'f:1:0');
    expect(done.type).toBe('received');
    // Its marker is gone: only `received`, which moved, stops the frozen run's update.
    expect(await sku(id)).toMatchObject({ available: 19, received: 9, receipts: {} });
    wake();
    expect(await frozen).toEqual(done);
    expect(await sku(id)).toMatchObject({ available: 19, received: 9, receipts: {} });
  });

  it('refuses an unknown SKU for good, and a receipt id reused for other goods', async () => {
    const refused = await run('receive', { receiptId: 'po-8', sku: 'NO-SUCH-SKU', qty: 1 }, 'u:1:0');
    expect(refused).toMatchObject({
      stored: true,
      type: 'receive-refused',
      data: { reason: 'unknown SKU NO-SUCH-SKU' },
    });
    expect(await run('receive', { receiptId: 'po-8', sku: 'NO-SUCH-SKU', qty: 1 }, 'u:1:0')).toEqual(refused);

    const id = await freshSku();
    await run('receive', { receiptId: 'po-9', sku: id, qty: 2 });
    expect(await run('receive', { receiptId: 'po-9', sku: id, qty: 5 })).toMatchObject({
      type: 'receive-refused',
      data: { reason: `receipt po-9 is for 2 x ${id}` },
    });
    expect(await sku(id)).toMatchObject({ available: 12, received: 2 });
  });

  it('received stock can be reserved like any other', async () => {
    const id = await freshSku(0);
    await run('receive', { receiptId: 'po-10', sku: id, qty: 3 });
    expect((await run('reserve', { orderId: 'o-rcv', items: [{ sku: id, qty: 3 }] })).type).toBe('reserved');
    expect(await sku(id)).toMatchObject({ available: 0, holds: { 'o-rcv': 3 }, received: 3 });
  });
});
