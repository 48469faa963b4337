import { defineSaga } from 'jetsaga';
import { tripMachine } from './machine.ts';
import { TripInput } from './schema.ts';

export const tripBooking = defineSaga({
  type: 'trip-booking',
  version: 1,
  machine: tripMachine,
  input: TripInput,
  description:
    'Book a flight, a hotel and a car, then charge; undo in reverse on failure, cancel or deadline.',
  // A booking request lost beyond the stream's dedup window is sent again.
  policies: Object.fromEntries(
    [
      'flights.book',
      'hotels.book',
      'cars.book',
      'flights.cancel',
      'hotels.cancel',
      'cars.cancel',
      'payment.refund',
    ].map((type) => [type, { resendAfterMs: 10_000, maxResends: 5 }]),
  ),
});

export { type TripCommand, type TripContext, type TripEvent, tripMachine } from './machine.ts';
export { TripInput } from './schema.ts';
