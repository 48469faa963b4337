import { randomBytes } from 'node:crypto';
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger, type Reply } from 'jetsaga';
import { commandRunner } from '../../test/run-command.ts';
import { purchaseOrders, suppliers } from './index.ts';

/** The suppliers' handlers straight against the MongoDB-wire server, without a bus. */
describe('suppliers', () => {
  let client: MongoClient;
  let db: Db;
  const log = createLogger('silent');
  beforeAll(async () => {
    client = await new MongoClient(inject('mongoUrl')).connect();
    db = client.db(`jetsaga_sup${randomBytes(4).toString('hex')}`);
  });
  afterAll(async () => {
    await db?.dropDatabase().catch(() => undefined);
    await client?.close();
  });

  const run: (
    name: 'place-order' | 'deliver' | 'cancel-order',
    data: Record<string, unknown>,
    commandId?: string,
  ) => Promise<Reply> = commandRunner(suppliers, () => db, log);
  const order = (purchaseOrderId: string, over: Record<string, unknown> = {}) => ({
    purchaseOrderId,
    supplier: 'acme',
    sku: 'SKU-1',
    qty: 10,
    unitCost: 2.5,
    ...over,
  });
  const statusOf = async (id: string) => (await purchaseOrders(db).findOne({ _id: id }))?.status;

  it('confirms, then delivers; re-runs answer their first reply', async () => {
    const placed = await run('place-order', order('po-1'), 's:1:0');
    expect(placed).toMatchObject({ stored: true, type: 'order-confirmed', data: { qty: 10, sku: 'SKU-1' } });
    expect(await run('place-order', order('po-1'), 's:1:0')).toEqual(placed);
    const delivered = await run('deliver', { purchaseOrderId: 'po-1' }, 's:2:0');
    expect(delivered).toMatchObject({
      stored: true,
      type: 'order-delivered',
      data: { sku: 'SKU-1', qty: 10 },
    });
    expect(await run('deliver', { purchaseOrderId: 'po-1' }, 's:2:0')).toEqual(delivered);
    expect(await statusOf('po-1')).toBe('delivered');
    // Another command for the same order is confirmed; the same id for other goods is not.
    expect((await run('place-order', order('po-1'))).type).toBe('order-confirmed');
    expect(await run('place-order', order('po-1', { qty: 11 }))).toEqual({
      type: 'order-refused',
      data: { purchaseOrderId: 'po-1', reason: 'purchase order po-1 is for 10 x SKU-1 from acme' },
    });
  });

  it('refuses SKU-REFUSED and an order over the limit, writing nothing', async () => {
    expect(await run('place-order', order('po-2', { sku: 'SKU-REFUSED' }))).toEqual({
      type: 'order-refused',
      data: { purchaseOrderId: 'po-2', reason: 'acme does not supply SKU-REFUSED' },
    });
    expect((await run('place-order', order('po-3', { qty: 100_001 }))).type).toBe('order-refused');
    expect(await purchaseOrders(db).countDocuments({ _id: { $in: ['po-2', 'po-3'] } })).toBe(0);
  });

  it('a late supplier confirms but only ever answers delivery-delayed', async () => {
    expect((await run('place-order', order('po-4', { supplier: 'late-co' }))).type).toBe('order-confirmed');
    expect((await run('deliver', { purchaseOrderId: 'po-4' })).type).toBe('delivery-delayed');
    expect(await statusOf('po-4')).toBe('confirmed');
    expect((await run('cancel-order', { purchaseOrderId: 'po-4' })).type).toBe('order-cancelled');
    expect(await statusOf('po-4')).toBe('cancelled');
    expect((await run('deliver', { purchaseOrderId: 'po-4' })).type).toBe('delivery-refused');
  });

  it('a cancel that overtakes its place-order leaves a tombstone the place-order respects', async () => {
    expect((await run('cancel-order', { purchaseOrderId: 'po-5' })).type).toBe('order-cancelled');
    expect(await run('place-order', order('po-5'))).toEqual({
      type: 'order-refused',
      data: { purchaseOrderId: 'po-5', reason: 'order cancelled' },
    });
    expect(await statusOf('po-5')).toBe('cancelled');
  });
});
