import { describe, expect, it } from 'vitest';
import { payments } from '../../services/payment/index.ts';
import { bookings } from '../../services/travel/index.ts';
import { trip, useTestNode } from '../harness.ts';

/** The second saga runs on the same runtime and API, end to end, with its own participants. */
describe('trip-booking end to end', () => {
  const node = useTestNode();
  const db = () => node().mongo.db(node().config.mongoDb);
  const start = async (body: unknown) => {
    const res = await node().post('/v1/saga-types/trip-booking/sagas', body);
    expect(res.status).toBe(202);
    return ((await res.json()) as { sagaId: string }).sagaId;
  };

  it('completes: one booking per service, the total captured', async () => {
    const id = await start(trip({ tripId: 'trip-ok' }));
    expect((await node().waitForTerminal(id)).status).toBe('completed');
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
    const doc = await node().waitForTerminal(id);
    expect(doc.status).toBe('compensated');
    expect(doc.reason).toBe('car-unavailable: no cars in Venice');
    expect((await bookings(db(), 'hotels').findOne({ _id: 'trip-venice' }))?.status).toBe('cancelled');
    expect((await bookings(db(), 'flights').findOne({ _id: 'trip-venice' }))?.status).toBe('cancelled');
    expect(await payments(db()).countDocuments({ _id: 'trip-venice' })).toBe(0);
    const commands = (await node().store.historyOf(id)).flatMap((h) => h.commands.map((c) => c.type));
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

/** TripInput's limits (sagas/trip-booking/schema.test.ts) as the API answers them. */
describe('POST /v1/saga-types/trip-booking/sagas: numbers at the API', () => {
  // The API alone: nothing runs the sagas it starts.
  const node = useTestNode({ roles: [{ kind: 'api' }] });

  interface Problem {
    status: number;
    errors: Array<{ field: string; message: string }>;
  }
  const problem = async (res: Response) => {
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    return (await res.json()) as Problem;
  };

  it('answers 400 naming the field for prices of 1e308', async () => {
    const body = trip({
      flight: { ...trip().flight, price: 1e308 },
      hotel: { ...trip().hotel, price: 1e308 },
      car: { ...trip().car, price: 1e308 },
    });
    const p = await problem(await node().post('/v1/saga-types/trip-booking/sagas', body));
    expect(p.errors.map((e) => e.field)).toEqual(['flight.price', 'hotel.price', 'car.price']);
  });

  it('answers 400 naming the field for a number JSON cannot hold (1e400), wherever it is', async () => {
    const raw = JSON.stringify(trip({ note: { scores: [1, 'PLACEHOLDER'] } })).replace(
      '"PLACEHOLDER"',
      '1e400',
    );
    const p = await problem(await node().post('/v1/saga-types/trip-booking/sagas', raw));
    expect(p.errors).toEqual([{ field: 'note.scores.1', message: expect.stringContaining('finite') }]);
    const neg = JSON.stringify(trip()).replace('"price":120', '"price":-1e400');
    const q = await problem(await node().post('/v1/saga-types/trip-booking/sagas', neg));
    expect(q.errors.map((e) => e.field)).toEqual(['flight.price']);
  });

  it('still starts an ordinary trip (202)', async () => {
    const res = await node().post('/v1/saga-types/trip-booking/sagas', trip());
    expect(res.status).toBe(202);
  });
});
