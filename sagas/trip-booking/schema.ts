import { z } from 'zod';

const code = z.string().regex(/^[A-Z]{3}$/, 'an IATA airport code such as LIS');

/** The most one flight, stay or rental may cost, and the most a whole trip may charge. */
export const maxTripPrice = 1_000_000_000;
export const maxTripTotal = 1_000_000_000;

/**
 * An amount in the trip's currency: finite, non-negative, bounded, in whole cents (the saga
 * charges the total rounded to cents, so a finer amount would be charged as another one).
 */
const price = z
  .number()
  .nonnegative({ abort: true })
  .max(maxTripPrice, { abort: true, message: `at most ${maxTripPrice.toLocaleString('en')}` })
  .multipleOf(0.01, 'at most 2 decimal places');

type Priced = { flight: { price: number }; hotel: { price: number }; car?: { price: number } | undefined };
const tripTotal = (t: Priced): number => t.flight.price + t.hotel.price + (t.car?.price ?? 0);

/** What a caller sends to book a trip (POST /v1/saga-types/trip-booking/sagas). */
export const TripInput = z
  .object({
    tripId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ or -, at most 64')
      .optional(),
    travelerId: z.string().min(1).max(64),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/)
      .default('EUR'),
    flight: z.object({ from: code, to: code, date: z.iso.date(), price }),
    hotel: z.object({
      city: z.string().min(1).max(100),
      nights: z.number().int().positive().max(60),
      price,
    }),
    car: z
      .object({
        city: z.string().min(1).max(100),
        days: z.number().int().positive().max(60),
        price,
      })
      .optional(),
    payment: z.object({ token: z.string().min(1).max(128) }),
    /** The whole trip must be booked and paid within this long, or everything is undone. */
    deadlineMs: z
      .number()
      .int()
      .min(100)
      .max(24 * 3600_000)
      .default(120_000),
  })
  // Each price is bounded; so is their sum, which the payment step charges. The total is no
  // single field, so the issue is on the whole input and its message names the sum.
  .refine((trip) => tripTotal(trip) <= maxTripTotal, {
    when: (payload) => payload.issues.length === 0,
    error: (issue) => {
      const trip = issue.input as Priced;
      const sum = trip.car ? 'flight.price + hotel.price + car.price' : 'flight.price + hotel.price';
      return `${sum} is ${tripTotal(trip)}, over the most a trip may charge (${maxTripTotal.toLocaleString('en')})`;
    },
  });
export type TripInput = z.infer<typeof TripInput>;
