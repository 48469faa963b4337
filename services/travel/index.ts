import type { Db } from 'mongodb';
import { z } from 'zod';
import { command, defineParticipant, isDuplicateKey, type ParticipantDefinition, type Reply } from 'jetsaga';

/**
 * Travel participants: flights, hotels and cars. One booking per trip and service, keyed by
 * trip id; a cancel that overtakes its booking leaves a tombstone the booking respects.
 * Deterministic failures: flights to `ZZZ` are sold out, hotels in `Atlantis` have no
 * vacancy, cars cannot be rented in `Venice`.
 */

export interface BookingDoc {
  _id: string;
  status: 'booked' | 'cancelled';
  reference: string | null;
  details: Record<string, unknown>;
  updatedAt: Date;
}

export const bookings = (db: Db, service: string) => db.collection<BookingDoc>(`${service}_bookings`);

const tripId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

interface BookingServiceSpec<S extends z.ZodType> {
  name: string;
  request: S;
  /** Why this request cannot be served, or null. */
  refuse: (data: z.output<S>) => string | null;
  /** Reply type when refused (e.g. `sold-out`). */
  refusal: string;
}

function bookingService<S extends z.ZodObject<{ tripId: typeof tripId }>>(
  spec: BookingServiceSpec<S>,
): ParticipantDefinition {
  const book = async (db: Db, data: z.output<S>, commandId: string): Promise<Reply> => {
    const id = data.tripId as string;
    const refused = spec.refuse(data);
    if (refused) return { type: spec.refusal, data: { tripId: id, reason: refused } };
    const reference = `${spec.name.slice(0, 3).toUpperCase()}-${commandId.slice(-12).replace(/[^A-Za-z0-9]/g, '')}`;
    try {
      await bookings(db, spec.name).insertOne({
        _id: id,
        status: 'booked',
        reference,
        details: data as Record<string, unknown>,
        updatedAt: new Date(),
      });
      return { type: 'booked', data: { tripId: id, reference } };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    // It exists already: booked by an earlier run of this step, or cancelled before it.
    const doc = await bookings(db, spec.name).findOne({ _id: id });
    if (doc?.status === 'booked') return { type: 'booked', data: { tripId: id, reference: doc.reference } };
    return { type: spec.refusal, data: { tripId: id, reason: 'cancelled before it was booked' } };
  };
  const cancel = async (db: Db, id: string): Promise<Reply> => {
    await bookings(db, spec.name).updateOne(
      { _id: id },
      {
        $set: { status: 'cancelled', updatedAt: new Date() },
        $setOnInsert: { reference: null, details: {} },
      },
      { upsert: true },
    );
    return { type: 'cancelled', data: { tripId: id } };
  };
  return defineParticipant({
    name: spec.name,
    commands: {
      book: command(spec.request, (data, ctx) => book(ctx.db, data, ctx.commandId)),
      cancel: command(z.object({ tripId }), (data, ctx) => cancel(ctx.db, data.tripId)),
    },
  });
}

export const flights = bookingService({
  name: 'flights',
  request: z.object({ tripId, from: z.string().length(3), to: z.string().length(3), date: z.string() }),
  refuse: (d) => (d.to === 'ZZZ' ? `no seats left to ${d.to}` : null),
  refusal: 'sold-out',
});

export const hotels = bookingService({
  name: 'hotels',
  request: z.object({ tripId, city: z.string(), nights: z.number().int().positive() }),
  refuse: (d) => (d.city === 'Atlantis' ? `no vacancy in ${d.city}` : null),
  refusal: 'no-vacancy',
});

export const cars = bookingService({
  name: 'cars',
  request: z.object({ tripId, city: z.string(), days: z.number().int().positive() }),
  refuse: (d) => (d.city === 'Venice' ? `no cars in ${d.city}` : null),
  refusal: 'unavailable',
});
