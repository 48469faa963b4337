import { defineSaga } from 'jetsaga';
import { orderMachine } from './machine.ts';
import { OrderInput } from './schema.ts';

export const orderFulfillment = defineSaga({
  type: 'order-fulfillment',
  version: 1,
  machine: orderMachine,
  input: OrderInput,
  description:
    'Reserve stock, authorize payment, wait for the fraud verdict, capture, ship, commit the stock; until the shipment exists, a failure compensates in reverse.',
});

export {
  type FraudOutcome,
  type FraudVerdictData,
  type OrderCommand,
  type OrderContext,
  type OrderEvent,
  orderMachine,
  type OrderOutput,
  type PaymentRisk,
} from './machine.ts';
export { OrderInput } from './schema.ts';
