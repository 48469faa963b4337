import { describe, expect, it } from 'vitest';
import { trip } from '../../test/harness.ts';
import { maxTripPrice, maxTripTotal, TripInput } from './schema.ts';

const fields = (input: unknown) =>
  TripInput.safeParse(input).error?.issues.map((i) => i.path.join('.')) ?? [];

// The same limits at the API, over HTTP: test/integration/trip-booking.test.ts.
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
