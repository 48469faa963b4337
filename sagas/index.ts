import type { SagaDefinition } from '../runtime/orchestrator/index.ts';
import { orderFulfillment } from './order-fulfillment/index.ts';
import { tripBooking } from './trip-booking/index.ts';

/** Every saga definition this distribution ships. */
export const sagas: SagaDefinition[] = [orderFulfillment, tripBooking];
