import type { SagaDefinition } from 'jetsaga';
import { orderFulfillment } from './order-fulfillment/index.ts';
import { restock } from './restock/index.ts';
import { tripBooking } from './trip-booking/index.ts';

/** Every saga definition of the reference app. */
export const sagas: SagaDefinition[] = [orderFulfillment, tripBooking, restock];
