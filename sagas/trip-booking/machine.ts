import { assign, emit, setup } from 'xstate';
import type { TripInput } from './schema.ts';

/**
 * Trip booking: flight -> hotel -> car (optional) -> payment (authorize, capture) ->
 * confirmed, all within a deadline. A failure, the deadline or a cancel undoes in reverse
 * order everything that was asked for (a request whose reply never came may still have
 * taken effect; every undo is idempotent on the participant's side).
 */

type Reply<T extends string, D = Record<string, unknown>> = { type: T; data: D };

export type TripEvent =
  | Reply<'flights.booked', { reference: string }>
  | Reply<'flights.sold-out', { reason?: string }>
  | Reply<'flights.cancelled'>
  | Reply<'hotels.booked', { reference: string }>
  | Reply<'hotels.no-vacancy', { reason?: string }>
  | Reply<'hotels.cancelled'>
  | Reply<'cars.booked', { reference: string }>
  | Reply<'cars.unavailable', { reason?: string }>
  | Reply<'cars.cancelled'>
  | Reply<'payment.authorized'>
  | Reply<'payment.declined', { reason?: string }>
  | Reply<'payment.captured'>
  | Reply<'payment.capture-failed', { reason?: string }>
  | Reply<'payment.refunded'>
  | Reply<'saga.cancel', { reason?: string }>;

export type TripCommand =
  | { type: 'flights.book'; data: { tripId: string; from: string; to: string; date: string } }
  | { type: 'flights.cancel'; data: { tripId: string } }
  | { type: 'hotels.book'; data: { tripId: string; city: string; nights: number } }
  | { type: 'hotels.cancel'; data: { tripId: string } }
  | { type: 'cars.book'; data: { tripId: string; city: string; days: number } }
  | { type: 'cars.cancel'; data: { tripId: string } }
  | {
      type: 'payment.authorize';
      data: { orderId: string; customerId: string; amount: number; currency: string; token: string };
    }
  | { type: 'payment.capture'; data: { orderId: string; amount: number } }
  | { type: 'payment.refund'; data: { orderId: string } };

type Step = 'flight' | 'hotel' | 'car' | 'payment';

export interface TripContext {
  tripId: string;
  trip: TripInput;
  amount: number;
  deadlineMs: number;
  /** Steps whose command was sent: what compensation must undo. */
  requested: Record<Step, boolean>;
  references: Partial<Record<Step, string>>;
  reason: string | null;
  cancelled: boolean;
  outcome: 'completed' | 'compensated' | 'cancelled' | null;
}

export const tripMachine = setup({
  types: {
    context: {} as TripContext,
    events: {} as TripEvent,
    emitted: {} as TripCommand,
    input: {} as TripInput & { sagaId: string },
    output: {} as { status: 'completed' | 'compensated' | 'cancelled' | 'failed'; reason: string | null },
  },
  delays: { deadline: ({ context }) => context.deadlineMs },
  guards: {
    wantsCar: ({ context }) => context.trip.car !== undefined,
    requested: ({ context }, params: { step: Step }) => context.requested[params.step],
  },
  actions: {
    request: assign({
      requested: ({ context }, params: { step: Step }) => ({ ...context.requested, [params.step]: true }),
    }),
    remember: assign({
      references: ({ context, event }, params: { step: Step }) =>
        'reference' in event.data && typeof event.data.reference === 'string'
          ? { ...context.references, [params.step]: event.data.reference }
          : context.references,
    }),
    failWith: assign({
      reason: ({ event }, params: { reason: string }) =>
        'reason' in event.data && typeof event.data.reason === 'string'
          ? `${params.reason}: ${event.data.reason}`
          : params.reason,
    }),
    cancel: assign({
      cancelled: true,
      reason: ({ event }) =>
        event.type === 'saga.cancel' && event.data.reason ? `cancelled: ${event.data.reason}` : 'cancelled',
    }),
  },
}).createMachine({
  id: 'trip-booking',
  context: ({ input }) => ({
    tripId: input.tripId ?? input.sagaId,
    trip: input,
    amount: Math.round((input.flight.price + input.hotel.price + (input.car?.price ?? 0)) * 100) / 100,
    deadlineMs: input.deadlineMs,
    requested: { flight: false, hotel: false, car: false, payment: false },
    references: {},
    reason: null,
    cancelled: false,
    outcome: null,
  }),
  output: ({ context }) => ({ status: context.outcome ?? 'failed', reason: context.reason }),
  initial: 'booking',
  states: {
    booking: {
      // The deadline covers the whole booking, whatever step it is in.
      after: { deadline: { target: 'compensating', actions: assign({ reason: 'deadline-passed' }) } },
      on: { 'saga.cancel': { target: 'compensating', actions: 'cancel' } },
      initial: 'flight',
      states: {
        flight: {
          entry: [
            { type: 'request', params: { step: 'flight' } },
            emit(({ context }) => ({
              type: 'flights.book' as const,
              data: {
                tripId: context.tripId,
                from: context.trip.flight.from,
                to: context.trip.flight.to,
                date: context.trip.flight.date,
              },
            })),
          ],
          on: {
            'flights.booked': { target: 'hotel', actions: { type: 'remember', params: { step: 'flight' } } },
            'flights.sold-out': {
              target: '#trip-booking.compensating',
              actions: { type: 'failWith', params: { reason: 'flight-sold-out' } },
            },
          },
        },
        hotel: {
          entry: [
            { type: 'request', params: { step: 'hotel' } },
            emit(({ context }) => ({
              type: 'hotels.book' as const,
              data: {
                tripId: context.tripId,
                city: context.trip.hotel.city,
                nights: context.trip.hotel.nights,
              },
            })),
          ],
          on: {
            'hotels.booked': [
              { guard: 'wantsCar', target: 'car', actions: { type: 'remember', params: { step: 'hotel' } } },
              { target: 'authorizing', actions: { type: 'remember', params: { step: 'hotel' } } },
            ],
            'hotels.no-vacancy': {
              target: '#trip-booking.compensating',
              actions: { type: 'failWith', params: { reason: 'hotel-no-vacancy' } },
            },
          },
        },
        car: {
          entry: [
            { type: 'request', params: { step: 'car' } },
            emit(({ context }) => ({
              type: 'cars.book' as const,
              data: { tripId: context.tripId, city: context.trip.car!.city, days: context.trip.car!.days },
            })),
          ],
          on: {
            'cars.booked': { target: 'authorizing', actions: { type: 'remember', params: { step: 'car' } } },
            'cars.unavailable': {
              target: '#trip-booking.compensating',
              actions: { type: 'failWith', params: { reason: 'car-unavailable' } },
            },
          },
        },
        authorizing: {
          entry: [
            { type: 'request', params: { step: 'payment' } },
            emit(({ context }) => ({
              type: 'payment.authorize' as const,
              data: {
                orderId: context.tripId,
                customerId: context.trip.travelerId,
                amount: context.amount,
                currency: context.trip.currency,
                token: context.trip.payment.token,
              },
            })),
          ],
          on: {
            'payment.authorized': 'capturing',
            'payment.declined': {
              target: '#trip-booking.compensating',
              actions: { type: 'failWith', params: { reason: 'payment-declined' } },
            },
          },
        },
        capturing: {
          entry: emit(({ context }) => ({
            type: 'payment.capture' as const,
            data: { orderId: context.tripId, amount: context.amount },
          })),
          on: {
            'payment.captured': '#trip-booking.confirmed',
            'payment.capture-failed': {
              target: '#trip-booking.compensating',
              actions: { type: 'failWith', params: { reason: 'capture-failed' } },
            },
          },
        },
      },
    },
    compensating: {
      tags: ['compensating'],
      initial: 'payment',
      states: {
        payment: {
          always: [
            { guard: { type: 'requested', params: { step: 'payment' } }, target: 'refunding' },
            { target: 'car' },
          ],
        },
        refunding: {
          entry: emit(({ context }) => ({
            type: 'payment.refund' as const,
            data: { orderId: context.tripId },
          })),
          on: { 'payment.refunded': 'car' },
        },
        car: {
          always: [
            { guard: { type: 'requested', params: { step: 'car' } }, target: 'cancellingCar' },
            { target: 'hotel' },
          ],
        },
        cancellingCar: {
          entry: emit(({ context }) => ({ type: 'cars.cancel' as const, data: { tripId: context.tripId } })),
          on: { 'cars.cancelled': 'hotel' },
        },
        hotel: {
          always: [
            { guard: { type: 'requested', params: { step: 'hotel' } }, target: 'cancellingHotel' },
            { target: 'flight' },
          ],
        },
        cancellingHotel: {
          entry: emit(({ context }) => ({
            type: 'hotels.cancel' as const,
            data: { tripId: context.tripId },
          })),
          on: { 'hotels.cancelled': 'flight' },
        },
        flight: {
          always: [
            { guard: { type: 'requested', params: { step: 'flight' } }, target: 'cancellingFlight' },
            { target: 'done' },
          ],
        },
        cancellingFlight: {
          entry: emit(({ context }) => ({
            type: 'flights.cancel' as const,
            data: { tripId: context.tripId },
          })),
          on: { 'flights.cancelled': 'done' },
        },
        done: { always: '#trip-booking.compensated' },
      },
    },
    confirmed: { type: 'final', entry: assign({ outcome: 'completed' as const }) },
    compensated: {
      type: 'final',
      entry: assign({
        outcome: ({ context }) => (context.cancelled ? ('cancelled' as const) : ('compensated' as const)),
      }),
    },
  },
});
