import { describe, expect, it } from 'vitest';
import { SagaTestKit } from 'jetsaga/testing';
import { tripBooking } from './index.ts';
import type { TripInput } from './schema.ts';

const trip = (over: Partial<TripInput> = {}): TripInput => ({
  tripId: 'trip-1',
  travelerId: 'ada',
  currency: 'EUR',
  flight: { from: 'LIS', to: 'CDG', date: '2027-05-01', price: 120 },
  hotel: { city: 'Paris', nights: 3, price: 300 },
  car: { city: 'Paris', days: 2, price: 80 },
  payment: { token: 'tok_visa' },
  deadlineMs: 60_000,
  ...over,
});

const kit = () =>
  new SagaTestKit(tripBooking)
    .on('flights.book', () => ({ type: 'flights.booked', data: { reference: 'FLI-1' } }))
    .on('hotels.book', () => ({ type: 'hotels.booked', data: { reference: 'HOT-1' } }))
    .on('cars.book', () => ({ type: 'cars.booked', data: { reference: 'CAR-1' } }))
    .on('payment.authorize', () => ({ type: 'payment.authorized', data: {} }))
    .on('payment.capture', () => ({ type: 'payment.captured', data: {} }))
    .on('payment.refund', () => ({ type: 'payment.refunded', data: {} }))
    .on('cars.cancel', () => ({ type: 'cars.cancelled', data: {} }))
    .on('hotels.cancel', () => ({ type: 'hotels.cancelled', data: {} }))
    .on('flights.cancel', () => ({ type: 'flights.cancelled', data: {} }));

describe('trip-booking machine', () => {
  it('books flight, hotel, car, then charges the total', () => {
    const k = kit().start(trip());
    expect(k.commandTypes()).toEqual([
      'flights.book',
      'hotels.book',
      'cars.book',
      'payment.authorize',
      'payment.capture',
    ]);
    expect(k.commands[3]!.data).toMatchObject({ orderId: 'trip-1', amount: 500, currency: 'EUR' });
    expect(k.status).toBe('completed');
    expect(k.armedTimers).toEqual([]);
  });

  it('skips the car when none is wanted', () => {
    const k = kit().start(trip({ car: undefined }));
    expect(k.commandTypes()).toEqual(['flights.book', 'hotels.book', 'payment.authorize', 'payment.capture']);
    expect(k.status).toBe('completed');
  });

  it('an unavailable car undoes the hotel, then the flight, and never charges', () => {
    const k = kit()
      .on('cars.book', () => ({ type: 'cars.unavailable', data: { reason: 'no cars in Venice' } }))
      .start(trip());
    expect(k.commandTypes().slice(3)).toEqual(['cars.cancel', 'hotels.cancel', 'flights.cancel']);
    expect(k.status).toBe('compensated');
    expect(k.reason).toBe('car-unavailable: no cars in Venice');
  });

  it('a declined payment refunds (idempotently) and cancels everything in reverse', () => {
    const k = kit()
      .on('payment.authorize', () => ({ type: 'payment.declined', data: { reason: 'card-declined' } }))
      .start(trip());
    expect(k.commandTypes().slice(4)).toEqual([
      'payment.refund',
      'cars.cancel',
      'hotels.cancel',
      'flights.cancel',
    ]);
    expect(k.status).toBe('compensated');
  });

  it('the deadline undoes what was asked for, including the booking still in flight', () => {
    const k = kit()
      .on('hotels.book', () => undefined)
      .start(trip());
    expect(k.state).toBe('booking.hotel');
    k.advance(60_000);
    expect(k.commandTypes().slice(2)).toEqual(['hotels.cancel', 'flights.cancel']);
    expect(k.status).toBe('compensated');
    expect(k.reason).toBe('deadline-passed');
  });

  it('cancel ends cancelled after undoing the steps done', () => {
    const k = kit()
      .on('cars.book', () => undefined)
      .start(trip());
    k.send({ type: 'saga.cancel', data: { reason: 'plans changed' } });
    expect(k.commandTypes().slice(3)).toEqual(['cars.cancel', 'hotels.cancel', 'flights.cancel']);
    expect(k.status).toBe('cancelled');
    expect(k.reason).toBe('cancelled: plans changed');
  });
});
