import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode, trip } from '../../test/harness.ts';
import { maxTripPrice, maxTripTotal, TripInput } from './schema.ts';

const fields = (input: unknown) =>
  TripInput.safeParse(input).error?.issues.map((i) => i.path.join('.')) ?? [];

describe('TripInput: money and quantities', () => {
  it('accepts an ordinary trip, cents included', () => {
    expect(TripInput.safeParse(trip()).success).toBe(true);
    expect(TripInput.safeParse(trip({ car: undefined })).success).toBe(true);
  });

  it('refuses prices that are huge, negative, not finite or finer than a cent, naming the field', () => {
    expect(fields(trip({ flight: { ...trip().flight, price: 1e308 } }))).toEqual(['flight.price']);
    expect(
      fields(trip({ hotel: { ...trip().hotel, price: 1e308 }, car: { ...trip().car, price: 1e308 } })),
    ).toEqual(['hotel.price', 'car.price']);
    expect(fields(trip({ hotel: { ...trip().hotel, price: maxTripPrice + 1 } }))).toEqual(['hotel.price']);
    expect(fields(trip({ hotel: { ...trip().hotel, price: -1 } }))).toEqual(['hotel.price']);
    expect(fields(trip({ hotel: { ...trip().hotel, price: Infinity } }))).toEqual(['hotel.price']);
    expect(fields(trip({ hotel: { ...trip().hotel, price: Number.NaN } }))).toEqual(['hotel.price']);
    expect(fields(trip({ car: { ...trip().car, price: 10.001 } }))).toEqual(['car.price']);
  });

  it('bounds the total, which every price may respect on its own', () => {
    const each = maxTripTotal / 2;
    const over = trip({
      flight: { ...trip().flight, price: each },
      hotel: { ...trip().hotel, price: each },
      car: { ...trip().car, price: 1 },
    });
    const issues = TripInput.safeParse(over).error?.issues ?? [];
    // The total is no single field: the issue is on the whole input and its message names the sum.
    expect(issues.map((i) => i.path.join('.'))).toEqual(['']);
    expect(issues[0]!.message).toContain('flight.price + hotel.price + car.price');
    const under = { ...over, car: undefined, hotel: { ...trip().hotel, price: each - 1 } };
    expect(TripInput.safeParse(under).success).toBe(true);
  });

  it('keeps nights and days positive whole numbers', () => {
    expect(fields(trip({ hotel: { ...trip().hotel, nights: 1.5 } }))).toEqual(['hotel.nights']);
    expect(fields(trip({ car: { ...trip().car, days: 0 } }))).toEqual(['car.days']);
  });
});

describe('POST /v1/saga-types/trip-booking/sagas: numbers at the API', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ roles: [{ kind: 'api' }] });
  });
  afterAll(async () => {
    await node?.destroy();
  });

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
    const p = await problem(await node.post('/v1/saga-types/trip-booking/sagas', body));
    expect(p.errors.map((e) => e.field)).toEqual(['flight.price', 'hotel.price', 'car.price']);
  });

  it('answers 400 naming the field for a number JSON cannot hold (1e400), wherever it is', async () => {
    const raw = JSON.stringify(trip({ note: { scores: [1, 'PLACEHOLDER'] } })).replace(
      '"PLACEHOLDER"',
      '1e400',
    );
    const p = await problem(await node.post('/v1/saga-types/trip-booking/sagas', raw));
    expect(p.errors).toEqual([{ field: 'note.scores.1', message: expect.stringContaining('finite') }]);
    const neg = JSON.stringify(trip()).replace('"price":120', '"price":-1e400');
    const q = await problem(await node.post('/v1/saga-types/trip-booking/sagas', neg));
    expect(q.errors.map((e) => e.field)).toEqual(['flight.price']);
  });

  it('still starts an ordinary trip (202)', async () => {
    const res = await node.post('/v1/saga-types/trip-booking/sagas', trip());
    expect(res.status).toBe(202);
  });
});
