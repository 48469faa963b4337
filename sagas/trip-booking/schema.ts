import { z } from 'zod';

const code = z.string().regex(/^[A-Z]{3}$/, 'an IATA airport code such as LIS');

/** What a caller sends to book a trip (POST /v1/sagas/trip-booking). */
export const TripInput = z.object({
  tripId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ or -, at most 64')
    .optional(),
  travelerId: z.string().min(1).max(64),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .default('EUR'),
  flight: z.object({ from: code, to: code, date: z.iso.date(), price: z.number().nonnegative() }),
  hotel: z.object({
    city: z.string().min(1).max(100),
    nights: z.number().int().positive().max(60),
    price: z.number().nonnegative(),
  }),
  car: z
    .object({
      city: z.string().min(1).max(100),
      days: z.number().int().positive().max(60),
      price: z.number().nonnegative(),
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
});
export type TripInput = z.infer<typeof TripInput>;
