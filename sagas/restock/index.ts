import { defineSaga } from 'jetsaga';
import { restockMachine } from './machine.ts';
import { approvalSignals, RestockInput } from './schema.ts';

export const restock = defineSaga({
  type: 'restock',
  version: 1,
  machine: restockMachine,
  input: RestockInput,
  // A purchase worth more than its approval threshold waits in `awaitingApproval` for one of these, or its deadline.
  signals: approvalSignals,
  description:
    'Place a purchase order with a supplier (after approval, above a value threshold), wait for the delivery within the lead time, receive the goods into inventory; a refused or late order is cancelled.',
  // A purchase order or a delivery request lost beyond the stream's dedup window is sent again.
  policies: Object.fromEntries(
    ['suppliers.place-order', 'suppliers.deliver'].map((type) => [
      type,
      { resendAfterMs: 10_000, maxResends: 5 },
    ]),
  ),
});

export {
  type ApprovalDecision,
  type ApprovalTimeoutPolicy,
  defaultApprovalTimeoutMs,
  type RestockCommand,
  type RestockContext,
  type RestockEvent,
  restockMachine,
  type RestockOutput,
} from './machine.ts';
export { ApprovalNote, approvalSignals, defaultApprovalThreshold, RestockInput } from './schema.ts';
