import { randomBytes } from 'node:crypto';
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger, type Reply } from 'jetsaga';
import { commandRunner } from '../../test/run-command.ts';
import { payment, payments } from './index.ts';

/** The payment's capture straight against the MongoDB-wire server, without a bus. */
describe('payment capture', () => {
  let client: MongoClient;
  let db: Db;
  const log = createLogger('silent');
  const updates: string[] = [];
  const reads: string[] = [];
  beforeAll(async () => {
    client = new MongoClient(inject('mongoUrl'), { monitorCommands: true });
    client.on('commandStarted', (e) => {
      if (e.commandName === 'update') updates.push(String(e.command.update));
      if (e.commandName === 'find') reads.push(String(e.command.find));
    });
    await client.connect();
    db = client.db(`jetsaga_pay${randomBytes(4).toString('hex')}`);
  });
  afterAll(async () => {
    await db?.dropDatabase().catch(() => undefined);
    await client?.close();
  });

  const run: (name: 'authorize' | 'capture', data: Record<string, unknown>) => Promise<Reply> = commandRunner(
    payment,
    () => db,
    log,
  );
  const authorize = (orderId: string, amount: number, token = 'tok_visa') =>
    run('authorize', { orderId, customerId: 'c-1', amount, currency: 'EUR', token });

  it('with the authorized amount, a capture is one conditional update and no read', async () => {
    expect((await authorize('o-1', 42.5)).type).toBe('authorized');
    updates.length = 0;
    reads.length = 0;
    expect(await run('capture', { orderId: 'o-1', amount: 42.5 })).toEqual({
      type: 'captured',
      data: { orderId: 'o-1', amount: 42.5 },
    });
    expect(updates).toEqual(['payments']);
    expect(reads).toEqual([]);
    expect(await payments(db).findOne({ _id: 'o-1' })).toMatchObject({
      status: 'captured',
      capturedAmount: 42.5,
    });
    // Again (a resend): the same answer, read from the payment, captured once.
    expect(await run('capture', { orderId: 'o-1', amount: 42.5 })).toEqual({
      type: 'captured',
      data: { orderId: 'o-1', amount: 42.5 },
    });
  });

  it('without an amount (older callers), the whole authorization is captured', async () => {
    await authorize('o-2', 10);
    expect(await run('capture', { orderId: 'o-2' })).toEqual({
      type: 'captured',
      data: { orderId: 'o-2', amount: 10 },
    });
  });

  it('another amount than the authorized one is refused, and nothing is captured', async () => {
    await authorize('o-3', 99);
    const reply = await run('capture', { orderId: 'o-3', amount: 100 });
    expect(reply).toMatchObject({
      type: 'capture-failed',
      data: { orderId: 'o-3', reason: 'amount-mismatch' },
    });
    expect(await payments(db).findOne({ _id: 'o-3' })).toMatchObject({
      status: 'authorized',
      capturedAmount: 0,
    });
  });

  it('the failing test token and an unknown order still fail with their reasons', async () => {
    await authorize('o-4', 5, 'tok_capture_fails');
    expect(await run('capture', { orderId: 'o-4', amount: 5 })).toEqual({
      type: 'capture-failed',
      data: { orderId: 'o-4', reason: 'insufficient-funds' },
    });
    expect(await run('capture', { orderId: 'nobody', amount: 5 })).toEqual({
      type: 'capture-failed',
      data: { orderId: 'nobody', reason: 'payment missing' },
    });
  });
});
