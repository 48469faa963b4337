import { defineSaga } from 'jetsaga';
import { orderMachine } from './machine.ts';
import { OrderInput, reviewSignals } from './schema.ts';

export const orderFulfillment = defineSaga({
  type: 'order-fulfillment',
  version: 1,
  machine: orderMachine,
  input: OrderInput,
  // A grey-zone score (fraud.review) waits in `reviewing` for one of these, or for its deadline.
  signals: reviewSignals,
  description:
    'Reserve stock, authorize payment, wait for the fraud verdict (or a manual review), capture, ship, commit the stock; until the shipment exists, a failure compensates in reverse.',
});

export {
  defaultReviewTimeoutMs,
  type FraudOutcome,
  type FraudReviewData,
  type FraudVerdictData,
  type OrderCommand,
  type OrderContext,
  type OrderEvent,
  orderMachine,
  type OrderOutput,
  type PaymentRisk,
  type RecentPayment,
  type ReviewCase,
  type ReviewDecision,
  type ReviewTimeoutPolicy,
} from './machine.ts';
export { OrderInput, ReviewNote, reviewSignals } from './schema.ts';
