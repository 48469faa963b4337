import { defineSaga } from '../../runtime/orchestrator/index.ts';
import { orderMachine } from './machine.ts';
import { OrderInput } from './schema.ts';

export const orderFulfillment = defineSaga({
  type: 'order-fulfillment',
  version: 1,
  machine: orderMachine,
  input: OrderInput,
  description: 'Reserve stock, authorize and capture payment, ship; compensate in reverse on failure.',
});

export { type OrderCommand, type OrderContext, type OrderEvent, orderMachine } from './machine.ts';
export { OrderInput } from './schema.ts';
