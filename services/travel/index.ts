import type { Db } from 'mongodb';
import { z } from 'zod';
import {
  asStored,
  type CommandContext,
  command,
  contract,
  defineParticipant,
  isDuplicateKey,
  type ParticipantDefinition,
  type Reply,
  replyKey,
  replyToStore,
  storedReply,
  upsertWithReply,
  type WithReplies,
} from 'jetsaga';

/**
 * Travel participants: flights, hotels and cars. One booking per trip and service, keyed by
 * trip id; a cancel that overtakes its booking leaves a tombstone the booking respects.
 * Deterministic failures: flights to `ZZZ` are sold out, hotels in `Atlantis` have no
 * vacancy, cars cannot be rented in `Venice`.
 *
 * Replies are kept in the booking (`replies.<commandId>`, see `replyToStore`), written by the
 * insert that books or the upsert that cancels: the host records nothing, and a later run of the
 * command answers that reply. A refusal without a booking (decided by the command's own data) and a
 * booking met that another command made are answered unstored, recorded by the host as before.
 */

export interface BookingDoc extends WithReplies {
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

type Ctx = Pick<CommandContext, 'commandId' | 'sagaId' | 'replyPath'>;

function bookingService<S extends z.ZodObject<{ tripId: typeof tripId }>>(
  spec: BookingServiceSpec<S>,
): ParticipantDefinition {
  const book = async (db: Db, data: z.output<S>, ctx: Ctx): Promise<Reply> => {
    const id = data.tripId as string;
    const refused = spec.refuse(data);
    if (refused) return { type: spec.refusal, data: { tripId: id, reason: refused } };
    const reference = `${spec.name.slice(0, 3).toUpperCase()}-${ctx.commandId.slice(-12).replace(/[^A-Za-z0-9]/g, '')}`;
    const value = replyToStore({ type: 'booked', data: { tripId: id, reference } }, ctx);
    try {
      await bookings(db, spec.name).insertOne({
        _id: id,
        status: 'booked',
        reference,
        details: data as Record<string, unknown>,
        updatedAt: new Date(),
        replies: { [replyKey(ctx.commandId)]: value },
      });
      return asStored(value);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    // It exists already: booked by an earlier run of this command (its reply), by another one, or
    // cancelled before it.
    const doc = await bookings(db, spec.name).findOne({ _id: id });
    const mine = storedReply(doc, ctx);
    if (mine) return mine;
    if (doc?.status === 'booked') return { type: 'booked', data: { tripId: id, reference: doc.reference } };
    return { type: spec.refusal, data: { tripId: id, reason: 'cancelled before it was booked' } };
  };
  // A cancel that overtakes its book leaves a tombstone the book respects.
  const cancel = (db: Db, id: string, ctx: Ctx): Promise<Reply> =>
    upsertWithReply(
      bookings(db, spec.name),
      id,
      { set: { status: 'cancelled', updatedAt: new Date() }, insert: { reference: null, details: {} } },
      { type: 'cancelled', data: { tripId: id } },
      ctx,
    );
  return defineParticipant({
    name: spec.name,
    events: {
      booked: contract(z.object({ tripId: z.string().min(1), reference: z.string().nullable() }), {
        description: `the ${spec.name} booking is made`,
      }),
      [spec.refusal]: contract(z.object({ tripId: z.string().min(1), reason: z.string() }), {
        description: `no ${spec.name} booking: refused, or cancelled before it was booked`,
      }),
      cancelled: contract(z.object({ tripId: z.string().min(1) }), {
        description: `the ${spec.name} booking is cancelled (or a tombstone stops a later booking)`,
      }),
    },
    commands: {
      book: command(spec.request, (data, ctx) => book(ctx.db, data, ctx)),
      cancel: command(z.object({ tripId }), (data, ctx) => cancel(ctx.db, data.tripId, ctx)),
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
