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

  const run: (
    name: 'authorize' | 'capture' | 'void' | 'refund',
    data: Record<string, unknown>,
    commandId?: string,
  ) => Promise<Reply> = commandRunner(payment, () => db, log);
  const authorize = (orderId: string, amount: number, token = 'tok_visa') =>
    run('authorize', { orderId, customerId: 'c-1', amount, currency: 'EUR', token });

  it('with the authorized amount, a capture is one conditional update and no read', async () => {
    expect((await authorize('o-1', 42.5)).type).toBe('authorized');
    updates.length = 0;
    reads.length = 0;
    expect(await run('capture', { orderId: 'o-1', amount: 42.5 })).toMatchObject({
      stored: true,
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
    expect(await run('capture', { orderId: 'o-2' })).toMatchObject({
      stored: true,
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

  it('each command keeps its reply in the payment, and every re-run answers it unchanged, after later commands too', async () => {
    const auth = { orderId: 'o-5', customerId: 'c-1', amount: 20, currency: 'EUR', token: 'tok_visa' };
    const authorized = await run('authorize', auth, 'saga-5:1:0');
    expect(authorized).toMatchObject({
      stored: true,
      type: 'authorized',
      data: { orderId: 'o-5', amount: 20 },
    });
    const captured = await run('capture', { orderId: 'o-5', amount: 20 }, 'saga-5:3:0');
    expect(captured).toMatchObject({ stored: true, type: 'captured', data: { orderId: 'o-5', amount: 20 } });
    const refunded = await run('refund', { orderId: 'o-5' }, 'saga-5:5:0');
    expect(refunded).toMatchObject({ stored: true, type: 'refunded', data: { outcome: 'refunded' } });
    const doc = (await payments(db).findOne({ _id: 'o-5' }))!;
    expect(doc.status).toBe('refunded');
    expect(Object.keys(doc.replies ?? {}).sort()).toEqual(['saga-5:1:0', 'saga-5:3:0', 'saga-5:5:0']);
    expect(doc.replies!['saga-5:3:0']).toEqual({
      type: 'captured',
      data: { orderId: 'o-5', amount: 20 },
      sagaId: 'saga',
      at: captured.at,
    });

    // The same commands again (a crash, a copy): the first replies, the very same ones; nothing moves.
    updates.length = 0;
    expect(await run('capture', { orderId: 'o-5', amount: 20 }, 'saga-5:3:0')).toEqual(captured);
    expect(await run('authorize', auth, 'saga-5:1:0')).toEqual(authorized);
    expect(await run('refund', { orderId: 'o-5' }, 'saga-5:5:0')).toEqual(refunded);
    expect(await payments(db).findOne({ _id: 'o-5' })).toEqual(doc);
    // Nothing written by those re-runs but the failed conditional updates.
    expect(updates.every((u) => u === 'payments')).toBe(true);

    // Another command (a new id) is answered from the payment as it is now, and not stored where
    // no write of its own took effect.
    expect(await run('capture', { orderId: 'o-5', amount: 20 }, 'saga-5:7:0')).toEqual({
      type: 'capture-failed',
      data: { orderId: 'o-5', reason: 'payment refunded' },
    });
    // An authorization by another command meets the payment: its answer is stored alone, once.
    const late = await run('authorize', auth, 'saga-5:9:0');
    expect(late).toMatchObject({ stored: true, type: 'declined', data: { reason: 'payment refunded' } });
    expect(await run('authorize', auth, 'saga-5:9:0')).toEqual(late);
  });

  it('a void before the authorization leaves a tombstone carrying its reply; the late authorization declines', async () => {
    const voided = await run('void', { orderId: 'o-6' }, 'saga-6:4:0');
    expect(voided).toMatchObject({
      stored: true,
      type: 'voided',
      data: { orderId: 'o-6', outcome: 'nothing' },
    });
    expect(await run('void', { orderId: 'o-6' }, 'saga-6:4:0')).toEqual(voided);
    const auth = await run(
      'authorize',
      { orderId: 'o-6', customerId: 'c-1', amount: 1, currency: 'EUR', token: 'tok_visa' },
      'saga-6:1:0',
    );
    expect(auth).toMatchObject({ stored: true, type: 'declined', data: { orderId: 'o-6' } });
    expect((await payments(db).findOne({ _id: 'o-6' }))!.status).toBe('voided');
  });
});
