import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payments } from '../../services/payment/index.ts';
import { bookings } from '../../services/travel/index.ts';
import { startTestNode, type TestNode, trip } from '../harness.ts';

/** The second saga runs on the same runtime and API, end to end, with its own participants. */
describe('trip-booking end to end', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node?.destroy();
  });
  const db = () => node.mongo.db(node.config.mongoDb);
  const start = async (body: unknown) => {
    const res = await node.post('/v1/saga-types/trip-booking/sagas', body);
    expect(res.status).toBe(202);
    return ((await res.json()) as { sagaId: string }).sagaId;
  };

  it('completes: one booking per service, the total captured', async () => {
    const id = await start(trip({ tripId: 'trip-ok' }));
    expect((await node.waitForTerminal(id)).status).toBe('completed');
    for (const s of ['flights', 'hotels', 'cars']) {
      expect(await bookings(db(), s).countDocuments({ _id: 'trip-ok', status: 'booked' })).toBe(1);
    }
    expect(await payments(db()).findOne({ _id: 'trip-ok' })).toMatchObject({
      status: 'captured',
      capturedAmount: 500.5,
    });
  });

  it('compensates in reverse when the car cannot be rented', async () => {
    const id = await start(trip({ tripId: 'trip-venice', car: { city: 'Venice', days: 2, price: 80 } }));
    const doc = await node.waitForTerminal(id);
    expect(doc.status).toBe('compensated');
    expect(doc.reason).toBe('car-unavailable: no cars in Venice');
    expect((await bookings(db(), 'hotels').findOne({ _id: 'trip-venice' }))?.status).toBe('cancelled');
    expect((await bookings(db(), 'flights').findOne({ _id: 'trip-venice' }))?.status).toBe('cancelled');
    expect(await payments(db()).countDocuments({ _id: 'trip-venice' })).toBe(0);
    const commands = (await node.store.historyOf(id)).flatMap((h) => h.commands.map((c) => c.type));
    expect(commands).toEqual([
      'flights.book',
      'hotels.book',
      'cars.book',
      'cars.cancel',
      'hotels.cancel',
      'flights.cancel',
    ]);
  });
});
